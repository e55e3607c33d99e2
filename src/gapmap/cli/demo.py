"""``gapmap demo`` and ``gapmap make-demo``: the whole pipeline on the embedded default.

The demo reads the synthetic registers (Kent, or ``--council``), then runs gaps, matching, a
cover plan and N−1, suggestions, the register database and recruitment, and writes the report.
"""

from __future__ import annotations

import time
from pathlib import Path

from gapmap.cli.common import (
    EXIT_OK,
    KENT_TARGETS,
    _ks,
    _note,
    _output_folder,
    _placement,
    _print,
    _say,
    _settings,
)
from gapmap.cli.gaps import _check_ks, _gaps, _recruit, _report
from gapmap.cli.match import _match
from gapmap.errors import InputError


# --- commands -----------------------------------------------------------------------------------
def cmd_demo(args) -> int:
    """``gapmap demo``: the whole pipeline on the embedded default (Kent, or ``--council``)."""
    from gapmap.councils import resolve_council
    from gapmap.demo import council_scale, demo_paths, write_demo_registers
    from gapmap.io.builtin import builtin_path
    from gapmap.study import Study, StudyInputs

    t0 = time.perf_counter()
    council = resolve_council(args.council)
    if not builtin_path(council).exists():
        _note(
            f"Building the {council.name} postcode-sector geography (once) into "
            f"{builtin_path(council)} ..."
        )
    prov_path, people_path = demo_paths(council)
    if not (prov_path.exists() and people_path.exists()):
        size = council_scale(council)
        _note(
            f"Writing the demo registers (once, {size.providers:,} providers and "
            f"{size.people:,} people: {size.what}) into {prov_path.parent} ..."
        )
        write_demo_registers(providers=size.providers, people=size.people, council=council)
    ks = _ks(args.new_providers) if args.new_providers else _demo_targets(council)
    with _output_folder(args, prov_path, people_path) as folder:
        inputs = StudyInputs(providers=prov_path, people=people_path, council=council.code)
        study = Study.read(inputs, settings=_settings(args))
        _check_ks(study, ks)
        with folder.run() as out:
            _demo(study, args, ks, out, prov_path, people_path)
    _say(f"Done in {time.perf_counter() - t0:.1f} s.")
    return EXIT_OK


def _demo_targets(council) -> list[int]:
    """Kent's targets (60, 223, 416) for Kent; for another council the same shares of its demo
    scale, at most the candidate sites allow (3 per area)."""
    from gapmap.councils import KENT
    from gapmap.demo import council_scale
    from gapmap.io.builtin import load_builtin_areas

    if council.code == KENT:
        return _ks(KENT_TARGETS)
    size = council_scale(council).providers
    most = 3 * len(load_builtin_areas(council))
    ks = sorted({min(most, max(1, round(size * k / 416))) for k in _ks(KENT_TARGETS)})
    _note(f"  scenarios for {council.name}: {', '.join(map(str, ks))} new providers "
          "(Kent's targets in proportion to the demo's scale)")  # fmt: skip
    return ks


def _demo(study, args, ks, out: Path, prov_path: Path, people_path: Path) -> None:
    from gapmap.matching.person import request_from_fields
    from gapmap.matching.suggest import Suggester
    from gapmap.publish.summaries import suggestion_lines

    providers, people = study.providers, study.people
    where = study.council.name if study.council is not None else "Kent"
    _say(f"gapmap demo: the embedded default for {where}")
    _say(
        f"  areas     {len(study.areas):>6}  built-in {where} postcode sectors "
        f"({study.areas['district_code'].nunique()} districts)"
    )
    _say(f"  providers {len(providers):>6}  synthetic, at real {where} postcodes ({prov_path})")
    _say(
        f"            capacity {providers['capacity_hours'].sum():,.0f} h a week, "
        f"{providers['committed_hours'].sum():,.0f} h already booked, mean "
        f"{providers['capacity_hours'].mean():.1f} h per provider"
    )
    from gapmap.publish.disclosure import published_count

    shown = published_count(len(people), study.settings.suppression)
    _say(f"  people    {shown:>6}  synthetic waiting list ({people_path})")
    from gapmap.publish.summaries import register_line

    _say(register_line(people, study.settings.suppression))
    _say("")
    _placement(study)
    _say("")
    _say("Gap analysis (2SFCA: how much of each area's need the providers in reach could meet):")
    published = _gaps(
        study, args, f"gapmap demo: micro-provider gaps in {where} (synthetic registers)", out
    )
    _say("")
    _say("Batch matching of the waiting list (provider, partner and cover for each person):")
    best, _ = _match(study, args, out)
    _say("")
    from gapmap.cli.cover import demo_cover  # one provider's week off, and N-1 resilience

    title = f"gapmap demo: micro-provider gaps in {where} (synthetic registers)"
    n1 = demo_cover(study, best, out, gaps=published, title=title)  # N-1: map, workbook, report
    _say("")
    suggester = Suggester(study)
    examples = ["CT1 2AA", "TN23 1PL"]
    if study.council is not None and study.council.code != "E10000016":
        examples = list(study.providers["postcode"].iloc[[0, len(study.providers) // 2]])
    for postcode, hours, days, services in (
        (examples[0], 6, "Mon;Wed;Sat", "domestic;social"),
        (examples[1], 4, "weekdays", "social"),
    ):
        _say(
            f"Suggestions for someone at {postcode} needing {hours} h a week on {days} "
            f"({services}):"
        )
        person, _ = request_from_fields(
            study, postcode=postcode, hours=hours, days=days, services=services,
            self_directing=True, regulated_care=False,
        )  # fmt: skip
        _print(suggestion_lines(suggester.suggest(person, top=2)))
        _say("")
    _say("Referrals that hold hours (the register in a database):")
    _print(_demo_register(study, best, out, prov_path, people_path, args))
    _say("")
    _say("Recruitment targeting: where new micro-providers would close the most unmet need")
    rec = _recruit(
        published.result, ks, args, "gapmap demo: where to recruit micro-providers (synthetic)",
        out,
    )  # fmt: skip
    _report(
        published,
        rec,
        f"gapmap demo: micro-provider gaps in {where} (synthetic registers)",
        out,
        resilience=n1,
    )
    _say("")


def _demo_register(study, best, out: Path, prov_path: Path, people_path: Path, args) -> list[str]:
    from gapmap.demo_register import demo_register

    return demo_register(study, best, out, prov_path, people_path,
                         shown=Path(args.out) / "register.db")  # fmt: skip


def cmd_make_demo(args) -> int:
    """``gapmap make-demo``: write synthetic demo registers."""
    from gapmap.councils import resolve_council
    from gapmap.demo import SCALES, council_scale, write_demo_registers

    council = resolve_council(args.council)
    size = SCALES[args.scale] if args.scale else council_scale(council)
    providers = args.providers if args.providers is not None else size.providers
    people = args.people if args.people is not None else size.people
    if providers < 1 or people < 1:
        raise InputError("--providers and --people must be at least 1", file="command line")
    p, q = write_demo_registers(
        args.out, providers=providers, people=people, seed=args.seed, council=council
    )
    _say(f"{council.name}: {size.what}")
    _say(f"{providers} providers -> {p}")
    _say(f"{people} people -> {q}")
    return EXIT_OK
