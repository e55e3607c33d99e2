"""The ``gapmap`` command line: options → :class:`Settings` → :class:`Study` → API → publish.

Exit codes: 0 success, 2 bad input (the message names file, row and column, or the option),
1 anything else. No analysis lives here; every rule of the options lives in
:class:`gapmap.settings.Settings`, whose field names this module maps to flags in messages.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from gapmap import __version__
from gapmap.cli.options import add_input, add_options, finite, settings_from
from gapmap.errors import InputError, Problem
from gapmap.publish.folder import OutputError
from gapmap.settings import DEMO_TIME_LIMITS, Settings, flag_of

EXIT_OK, EXIT_ERROR, EXIT_INPUT = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    """argparse that reports option mistakes as input errors (exit 2) with our wording."""

    def error(self, message: str):  # type: ignore[override, unused-ignore]
        """Raise the mistake as an :class:`InputError` (exit 2) instead of exiting."""
        raise InputError(
            f"{self.prog}: {message} ('{self.prog} --help' lists the options)", file="command line"
        )


_finite = finite  # --lat, --lon


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _note(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _as_flags(exc: InputError) -> InputError:
    """The library names settings by field; the command line by flag."""
    problems = [
        replace(p, file="command line", column=flag_of(p.column))
        if p.file == "settings" and p.column
        else replace(p, file="command line")
        if p.file == "settings"
        else p
        for p in exc.problems
    ]
    return InputError(problems)


# --- options: made from Settings (gapmap.cli.options) ---------------------------------------
def _add_council_option(p) -> None:
    add_input(p, "--council")


def _settings(args) -> Settings:
    """The settings of the command line: defaults, ``--settings FILE``, then the flags."""
    return settings_from(args)


#: Kent's targets for micro-enterprises in years 1, 2 and 3 (the market report).
KENT_TARGETS = "60,223,416"


def _ks(text: str) -> list[int]:
    try:
        ks = [int(t) for t in str(text).replace(" ", "").split(",") if t]
    except ValueError:
        ks = []
    if not ks:
        raise InputError(
            Problem(
                "command line",
                "must be whole numbers of 1 or more, separated by commas",
                column="--new-providers",
                value=text,
            )
        )
    return ks


def _study(args, *, providers=True, people=True):
    """Read the study the options describe (every input problem at once)."""
    from gapmap.study import AreaColumns, Study, StudyInputs

    if getattr(args, "db", None) is None and getattr(args, "need_registers", False):
        wanted = ["--providers"] + (["--people"] if people else [])
        missing = [f for f in wanted if getattr(args, f[2:]) is None]
        if missing:
            raise InputError([Problem("command line", "is required (or give --db)", column=m)
                              for m in missing])  # fmt: skip
    inputs = StudyInputs(
        providers=getattr(args, "providers", None) if providers else None,
        people=getattr(args, "people", None) if people else None,
        areas=getattr(args, "areas", None),
        area_columns=AreaColumns(
            code=getattr(args, "area_code_column", None),
            name=getattr(args, "area_name_column", None),
            district=getattr(args, "district_column", None),
            district_name=getattr(args, "district_name_column", None),
            rural=getattr(args, "rural_column", None),
        ),
        postcode_file=getattr(args, "postcode_file", None),
        rural=getattr(args, "rural", None),
        rural_lookup=getattr(args, "rural_lookup", None),
        census=getattr(args, "census", None),
        rates=getattr(args, "rates", None),
        census_lookup=getattr(args, "census_lookup", None),
        census_areas=getattr(args, "census_areas", None),
        disability=getattr(args, "disability", None),
        carers=getattr(args, "carers", None),
        adult_rates=getattr(args, "adult_rates", None),
        imd=getattr(args, "imd", None),
        imd_lookup=getattr(args, "imd_lookup", None),
        council=getattr(args, "council", None),
        providers_sheet=getattr(args, "providers_sheet", None),
        people_sheet=getattr(args, "people_sheet", None),
        providers_layer=getattr(args, "providers_layer", None),
        areas_layer=getattr(args, "areas_layer", None),
        directory_extra=getattr(args, "directory_extra", None),
    )
    if getattr(args, "db", None) is not None:  # the register database instead of files
        from gapmap.cli.store import study_from_db

        study = study_from_db(args, inputs, _settings(args), providers=providers, people=people)
    else:
        study = Study.read(inputs, settings=_settings(args))
    for note in study.notes:
        _say(f"  ({note})")
    return study


_INPUT_ARGS = (
    "providers", "people", "areas", "postcode_file", "rural", "rural_lookup", "census", "rates",
    "census_lookup", "census_areas", "disability", "carers", "adult_rates", "imd", "imd_lookup",
    "directory_extra", "settings",
)  # fmt: skip


def _output_folder(args, *extra_inputs: Path):
    """The ``--out`` folder, to be entered (checked and locked) before any work."""
    from gapmap.publish.folder import OutputFolder
    from gapmap.publish.outputs import ABOUT_FILE, AUDIENCE, INDEX_FILE

    inputs = [getattr(args, name, None) for name in _INPUT_ARGS] + list(extra_inputs)
    _settings(args).validated()  # a bad option stops before anything is made
    return OutputFolder(args.out, inputs=inputs, outputs=[*AUDIENCE, ABOUT_FILE, INDEX_FILE])


def _print(lines: list[str]) -> None:
    for line in lines:
        _say(line)


def _placement(study) -> None:
    from gapmap.io.registers import placement_summary
    from gapmap.publish.summaries import placement_lines

    _print(
        placement_lines(
            placement_summary(study.areas, study.providers, study.people),
            study.settings.suppression,
        )
    )
    for label, reg in (("providers", study.providers), ("people", study.people)):
        snapped = int((reg["snapped_m"] > 0).sum())
        if snapped:
            _say(
                f"  {snapped} {label} just outside every area were placed in the nearest one "
                f"(at most {reg['snapped_m'].max():,.0f} m away)"
            )


# --- the steps every command shares ----------------------------------------------------------
def _gaps(study, args, title: str, out: Path):
    """The gap analysis, published once (the :class:`Published` every writer takes)."""
    from gapmap.gaps import gap_analysis
    from gapmap.publish.outputs import write_gap_outputs
    from gapmap.publish.published import Published
    from gapmap.publish.summaries import gaps_summary

    t0 = time.perf_counter()
    result = gap_analysis(study)
    t1 = time.perf_counter()
    _note(f"  analysed {len(study.reach):,} eligible person-provider pairs in {t1 - t0:.2f} s")
    published = Published.of(result)
    paths = write_gap_outputs(published, out, internal=args.internal, title=title)
    _note(f"  wrote {', '.join(paths)} in {time.perf_counter() - t1:.1f} s")
    _print(gaps_summary(published))
    _say(f"Outputs in {args.out}/: gaps.csv, gaps.gpkg, gap_map.html, gap_map.png")
    return published


class _LeaveNow(KeyboardInterrupt):
    """A second Ctrl+C during matching: leave without writing anything."""


def _match(study, args, out: Path):
    import signal

    from gapmap.cli.progress import bar, published_figures
    from gapmap.io.provider_checks import without_lapsed
    from gapmap.matching import match
    from gapmap.publish.disclosure import published_count
    from gapmap.publish.outputs import write_match_outputs
    from gapmap.publish.summaries import match_lines

    study, lapsed = without_lapsed(study)
    if lapsed:
        _say(f"  ({lapsed})")
    n = published_count(len(study.people), study.settings.suppression)  # a published run
    _note(
        f"Matching {n if isinstance(n, str) else f'{n:,}'} people to "
        f"{len(study.providers):,} providers "
        f"(time limit {study.settings.match_time_limit_s:g} s; Ctrl+C stops early and keeps "
        "the best matching found so far) ..."
    )
    # time to check and write: a second, and about 5 s more per 100,000 people (measured
    # idle), longer on a busy machine (in proportion to the share of a core had so far)
    from gapmap.wallclock import cpu_share

    started = time.perf_counter()
    reserve = (1.0 + len(study.people) / 20_000) / cpu_share()
    deadline = getattr(args, "started", started) + (study.settings.match_time_limit_s - reserve)
    asked = {"stop": False}

    def on_interrupt(signum, frame):  # first Ctrl+C: stop and keep; second: leave
        if asked["stop"]:
            raise _LeaveNow
        asked["stop"] = True
        _note("  stopping: keeping the best matching found so far (Ctrl+C again to leave "
              "without writing anything) ...")  # fmt: skip

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        with (
            published_figures(len(study.people), study.settings.suppression),
            bar("matching", deadline - started),
        ):
            matching = match(study, deadline=deadline, stop=lambda: asked["stop"])
    finally:
        signal.signal(signal.SIGINT, previous)
    best, greedy = matching.best, matching.greedy
    best.details["interrupted"] = asked["stop"]
    best.details["wall_seconds"] = time.perf_counter() - getattr(args, "started", started)
    write_match_outputs(best, greedy, study, out)
    if getattr(args, "mail_merge", False):
        from gapmap.publish.mail_merge import mail_merge_table, write_mail_merge

        write_mail_merge(mail_merge_table(best, study.people, study.providers), out)
    _print(match_lines(best, greedy, study))
    more = ", mail_merge.csv and .xlsx (internal)" if getattr(args, "mail_merge", False) else ""
    _say(f"Outputs in {args.out}/: matches.csv (internal: person ids), summary.json{more}")
    return best, greedy


def _recruit(result, ks, args, title: str, out: Path):
    """The recruitment, published once (the :class:`PublishedRecruitment` every writer takes)."""
    from gapmap.publish.outputs import write_recruit_outputs
    from gapmap.publish.published import PublishedRecruitment
    from gapmap.publish.summaries import recruit_lines
    from gapmap.recruitment.targeting import recruit

    t0 = time.perf_counter()
    rec = PublishedRecruitment.of(recruit(result, ks, other_days=True), result.study)
    paths = write_recruit_outputs(rec, result.providers, out, title=title, study=result.study)
    _note(f"  placed and wrote {', '.join(paths)} in {time.perf_counter() - t0:.1f} s")
    _print(recruit_lines(rec))
    _say(
        f"Outputs in {args.out}/: recruit_areas.csv, recruit_areas.gpkg, recruit_sites.csv, "
        "recruit_scenarios.csv, recruit_scenarios.png, recruit_map.html"
    )
    return rec


def _check_ks(study, ks) -> None:
    from gapmap.recruitment.targeting import check_scenarios

    problems = check_scenarios(study, ks)
    if problems:
        raise InputError(problems)


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
    from gapmap.matching.suggest import Suggester, request_from_fields
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


def _report(result, rec, title: str, out: Path, resilience: list[str] | None = None) -> None:
    from gapmap.publish.outputs import write_about
    from gapmap.publish.report import write_report

    t0 = time.perf_counter()
    summary = out / "summary.json"  # the matching of this run, when it ran
    write_report(result, out / "report.pdf", rec=rec, title=title,
                 match=summary if summary.exists() else None,
                 resilience=resilience)  # fmt: skip
    write_about(out, result.study.settings.suppression)
    _note(f"  wrote report.pdf and report.docx in {time.perf_counter() - t0:.1f} s")


def cmd_gaps(args) -> int:
    """``gapmap gaps``: the gap analysis of the user's files."""
    title = args.title or "gapmap: micro-provider gaps"
    with _output_folder(args) as folder:
        study = _study(args)
        with folder.run() as out:
            published = _gaps(study, args, title, out)
            if args.report:
                _report(published, None, title, out)
    return EXIT_OK


def cmd_compare(args) -> int:
    """``gapmap compare``: what changed between two runs, from their published files."""
    from gapmap.compare import compare_runs, write_comparison

    targets = _ks(args.targets)
    settings = _settings(args).validated()
    if args.db is not None:  # the gap analysis at two dates of the register database
        return _store_cli().compare_from_db(args, settings, targets)
    problems = [
        Problem(str(d), "is not a folder (give two gapmap output folders)", column=name)
        for name, d in (("BEFORE", args.before), ("AFTER", args.after))
        if not Path(d).is_dir()
    ]
    if problems:
        raise InputError(problems)
    read = [
        Path(d) / name
        for d in (args.before, args.after)
        for name in ("gaps.csv", "gaps.xlsx", "gapmap.gpkg", "gaps.gpkg")
    ]
    with _output_folder(args, *read) as folder:
        comp = compare_runs(
            args.before, args.after, targets=tuple(targets),
            home_care_rate=settings.home_care_rate, micro_rate=settings.micro_rate,
            weeks_per_year=settings.weeks_per_year, rule=settings.suppression,
        )  # fmt: skip
        with folder.run() as out:
            paths = write_comparison(comp, args.after, out)
    _print(comp.words())
    _say(f"Outputs in {args.out}/: {', '.join(paths)}")
    return EXIT_OK


def cmd_report(args) -> int:
    """``gapmap report``: the gap analysis, recruitment scenarios and the committee PDF."""
    ks = _ks(args.new_providers or KENT_TARGETS)
    title = args.title or "Micro-provider gaps and where to recruit"
    with _output_folder(args) as folder:
        study = _study(args)
        _check_ks(study, ks)
        with folder.run() as out:
            published = _gaps(study, args, title, out)
            rec = _recruit(published.result, ks, args, title, out)
            _report(published, rec, title, out)
            _say(f"The committee report: {args.out}/report.pdf")
    return EXIT_OK


def cmd_recruit(args) -> int:
    """``gapmap recruit``: ranked areas, sites and scenarios for recruitment."""
    from gapmap.gaps import gap_analysis

    ks = _ks(args.new_providers or KENT_TARGETS)
    title = args.title or "gapmap: where to recruit micro-providers"
    with _output_folder(args) as folder:
        study = _study(args)
        _check_ks(study, ks)  # before the long work
        with folder.run() as out:
            _recruit(gap_analysis(study), ks, args, title, out)
    return EXIT_OK


def cmd_match(args) -> int:
    """``gapmap match``: batch matching of a waiting list."""
    # the time limit is the whole command's (main() says from when; else from here)
    args.started = getattr(args, "command_started", time.perf_counter())
    with _output_folder(args) as folder:
        _note("Reading and placing the registers ...")
        study = _study(args)
        with folder.run() as out:
            best, _ = _match(study, args, out)
    if getattr(args, "accept", False):  # record the matches as pending referrals
        _store_cli().accept(args, best, study)
    else:
        args.leave_at_once = True  # nothing left open: no need to tear down (see main)
    return EXIT_OK


def cmd_suggest(args) -> int:
    """``gapmap suggest``: ranked providers for one person."""
    import json

    from gapmap.matching.suggest import Suggester, request_from_fields
    from gapmap.publish.summaries import suggestion_lines

    if args.top < 1:
        raise InputError(Problem("command line", "must be at least 1", column="--top"))
    study = _study(args, people=False)
    try:
        person, _ = request_from_fields(
            study,
            postcode=args.postcode,
            lat=args.lat,
            lon=args.lon,
            hours=args.hours,
            days=args.days,
            services=args.services,
            max_travel_km=args.max_travel_km,
            needs_cover=args.needs_cover == "yes",
            self_directing=args.self_directing == "yes",
            regulated_care=args.regulated_care == "yes",
            source="command line",
        )
    except InputError as exc:  # name the options as typed
        raise InputError(
            [
                replace(p, column="--" + p.column.replace("_", "-")) if p.column else p
                for p in exc.problems
            ]
        ) from None
    result = Suggester(study).suggest(person, top=args.top, explain=args.explain)
    if args.json:
        _say(json.dumps(result.as_dict(), indent=2))
    else:
        _print(suggestion_lines(result))
    return EXIT_OK


def cmd_serve(args) -> int:
    """``gapmap serve``: the signposting page and API."""
    import logging

    import uvicorn

    from gapmap.serve.app import Register, create_app
    from gapmap.serve.security import LOOPBACK_HOSTS, serve_policy
    from gapmap.study import AreaColumns

    if args.new_token:
        import secrets

        _say(secrets.token_urlsafe(24))
        return EXIT_OK
    if args.providers is None and args.db is None:
        raise InputError(Problem("command line", "is required (or --db)", column="--providers"))
    policy = serve_policy(
        host=args.host, port=args.port, token=args.token, token_file=args.token_file,
        named_staff=args.db is not None,
    )  # fmt: skip
    make = _store_cli().db_register_factory(args) if args.db else Register
    register = make(
        args.providers or Path(args.db),
        settings=_settings(args),
        areas=args.areas,
        area_columns=AreaColumns(
            args.area_code_column, args.area_name_column, args.district_column,
            args.district_name_column, args.rural_column,
        ),
        postcode_file=args.postcode_file,
        read_options={"providers_sheet": args.providers_sheet,
                      "providers_layer": args.providers_layer, "areas_layer": args.areas_layer,
                      "council": args.council, "directory_extra": args.directory_extra},
    )  # fmt: skip
    register.load()  # a bad register stops here with exit 2
    allowed = (*LOOPBACK_HOSTS, *args.allowed_host)
    if policy.host not in ("0.0.0.0", "::"):
        allowed += (policy.host,)
    app = create_app(register, token=policy.token, allowed_hosts=allowed)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s: %(message)s")
    _say(f"gapmap signposting: {len(register.in_service()[0].providers)} providers from "
         f"{args.providers or args.db}")  # fmt: skip
    _say(f"  open http://{policy.host}:{policy.port}/ in a browser (Ctrl+C stops it)")
    if args.db is not None:
        _say("  staff sign in with their own tokens (gapmap staff add NAME --db ...)")
    elif policy.token:
        _say("  an access token is needed")
    # access_log off: request lines are not logged (nothing a person typed reaches a log)
    uvicorn.run(
        app, host=policy.host, port=policy.port, access_log=False, log_level="warning",
        timeout_keep_alive=5, limit_concurrency=200,
    )  # fmt: skip
    return EXIT_OK


def cmd_check(args) -> int:
    """``gapmap check``: validate any of the inputs and show where they fall."""
    study = _study(args)
    if args.providers is not None:
        _say(f"{args.providers}: {len(study.providers)} providers, all rules met")
    if args.people is not None:
        _say(f"{args.people}: {len(study.people)} people, all rules met")
    if args.db is not None:
        _say(f"{args.db}: {len(study.providers)} providers and {len(study.people)} people, "
             "all rules met")  # fmt: skip
    _say(f"areas: {len(study.areas)} from {study.sources.get('areas', '')}")
    _say("")
    _placement(study)
    return EXIT_OK


def cmd_build_geography(args) -> int:
    """``gapmap build-geography``: (re)build a council's built-in postcode sectors."""
    from gapmap.councils import resolve_council
    from gapmap.io.builtin import builtin_path, write_builtin

    council = resolve_council(args.council)
    path = args.out or builtin_path(council)
    _note(
        f"Building {council.name} postcode sectors from the ONS Postcode Directory into {path} ..."
    )
    t0 = time.perf_counter()
    areas = write_builtin(path, council)
    _say(
        f"{len(areas)} sectors in {areas['district_code'].nunique()} districts, "
        f"{int(areas['postcodes'].sum()):,} postcodes, {areas.geometry.area.sum() / 1e6:,.0f} "
        f"km², in {time.perf_counter() - t0:.1f} s: {path}"
    )
    return EXIT_OK


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


def build_parser() -> argparse.ArgumentParser:
    """The ``gapmap`` argument parser (every command, every option)."""
    from gapmap.demo import DEFAULT_SCALE, DEFAULT_SEED, SCALES

    common: Any = argparse.ArgumentParser(add_help=False)
    common.add_argument("--debug", action="store_true", help="show tracebacks for errors")
    parser: argparse.ArgumentParser = _Parser(
        prog="gapmap",
        description="Gap analysis and matching for adult social care micro-providers in Kent.",
        parents=[common],
    )
    parser.add_argument("--version", action="version", version=f"gapmap {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=_Parser)

    def command(name: str, help: str):
        return sub.add_parser(name, help=help, parents=[common])

    def registers(p, *, required: bool):
        from gapmap.cli.store import add_db_options

        add_input(p, "--providers")
        add_input(p, "--people")
        add_db_options(p)  # or the register database
        p.set_defaults(need_registers=required)

    def out(p, what="folder for the outputs"):
        p.add_argument("--out", type=Path, required=True, help=what)

    def title(p):
        p.add_argument("--title", help="title of the maps and charts")

    p = command("demo", "run the whole pipeline on the embedded default (Kent, or --council)")
    p.add_argument(
        "--out", type=Path, default=Path("gapmap-demo"),
        help="folder for the outputs (default ./gapmap-demo)",
    )  # fmt: skip
    _add_council_option(p)
    add_options(p, "demo", **DEMO_TIME_LIMITS)
    p.set_defaults(func=cmd_demo)

    p = command("gaps", "gap analysis: need against provider coverage, by area")
    registers(p, required=True)
    out(p)
    title(p)
    p.add_argument("--report", action="store_true", help="also write report.pdf")
    add_options(p, "gaps")
    p.set_defaults(func=cmd_gaps)

    p = command("report", "gaps, recruitment scenarios and a PDF report for a committee")
    registers(p, required=True)
    out(p)
    title(p)
    add_options(p, "report")
    p.set_defaults(func=cmd_report)

    p = command("recruit", "where new micro-providers would close the most unmet need")
    registers(p, required=True)
    out(p)
    title(p)
    add_options(p, "recruit")
    p.set_defaults(func=cmd_recruit)

    p = command("compare", "what changed between two runs (e.g. last quarter and now)")
    p.add_argument("before", type=Path, nargs="?", help="the earlier output folder")
    p.add_argument("after", type=Path, nargs="?", help="the later output folder")
    _store_cli().add_compare_options(p)
    out(p, "folder for compare_areas.csv, compare_districts.csv, compare.txt, compare_map.html")
    p.add_argument(
        "--targets", default=KENT_TARGETS, metavar="N[,N...]",
        help="numbers of micro-providers to report progress against (default Kent's 60,223,416)",
    )  # fmt: skip
    add_options(p, "compare")
    p.set_defaults(func=cmd_compare)

    p = command("match", "batch matching of a waiting list with OR-Tools CP-SAT")
    registers(p, required=True)
    _store_cli().add_accept_options(p)
    out(p, "folder for matches.csv, summary.json")
    p.add_argument("--mail-merge", action="store_true", help="also write mail_merge.csv and "
                   ".xlsx (internal: person ids, providers' names and contacts)")  # fmt: skip
    add_options(p, "match")
    p.set_defaults(func=cmd_match)

    p = command("suggest", "ranked providers, with partner and cover, for one person")
    add_input(p, "--providers")
    _store_cli().add_db_options(p)
    p.set_defaults(need_registers=True)
    p.add_argument("--postcode", help="the person's postcode (its centroid is used)")
    p.add_argument("--lat", type=_finite)
    p.add_argument("--lon", type=_finite)
    p.add_argument(
        "--hours", required=True, help="hours a week needed, e.g. 6, 6.5, '6,5' or '6 hours'"
    )
    p.add_argument("--days", required=True, help="e.g. Mon;Thu, Mon-Fri, weekends, all")
    p.add_argument("--services", required=True, help="e.g. domestic;social")
    p.add_argument("--max-travel-km", help="the person's own travel limit, km")
    p.add_argument("--needs-cover", choices=["yes", "no"], default="yes")
    p.add_argument(
        "--self-directing", choices=["yes", "no"], required=True,
        help="required: can the person direct their own care, or has a representative who can? "
        "(no: no micro-provider is suggested, only advice)",
    )  # fmt: skip
    p.add_argument(
        "--regulated-care", choices=["yes", "no"], required=True,
        help="required: must the care come from a CQC-registered provider? (yes: only "
        "CQC-registered providers, partner and cover included)",
    )  # fmt: skip
    p.add_argument("--top", type=int, default=5)
    p.add_argument("--json", action="store_true", help="print JSON instead of a table")
    p.add_argument(
        "--explain", action="store_true", help="also say why nearer providers were left out"
    )
    add_options(p, "suggest")
    p.set_defaults(func=cmd_suggest)

    p = command("serve", "the signposting web page and JSON API (local)")
    add_input(p, "--providers")
    _store_cli().add_db_options(p, as_of=False)
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback)")
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--token", help=argparse.SUPPRESS)  # for tests; prefer --token-file
    p.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        help="a host name the page may be reached by (repeatable; loopback names always)",
    )
    p.add_argument(
        "--new-token", action="store_true", help="print a new random access token and stop"
    )
    p.add_argument(
        "--token-file",
        type=Path,
        help="a file holding an access token that every page and call must give",
    )
    add_options(p, "serve")
    p.set_defaults(func=cmd_serve)

    from gapmap.cli.directory import add_parsers as add_directory_parsers

    add_directory_parsers(sub, common)

    p = command("check", "validate registers and areas (any of them) and show where they fall")
    registers(p, required=False)
    add_options(p, "check")
    p.set_defaults(func=cmd_check)

    p = command("build-geography", "(re)build a council's built-in postcode-sector geography")
    p.add_argument("--out", type=Path, help="where to write it (default: boundaries/)")
    _add_council_option(p)
    p.set_defaults(func=cmd_build_geography)

    p = command("make-demo", "write synthetic demo registers at real postcodes of a council")
    p.add_argument(
        "--scale",
        choices=sorted(SCALES),
        default=None,
        help="; ".join(f"{k}: {v.what}" for k, v in SCALES.items())
        + f" (default: the council's own scale; {DEFAULT_SCALE} for Kent)",
    )
    _add_council_option(p)
    p.add_argument("--providers", type=int, help="number of providers (overrides --scale)")
    p.add_argument("--people", type=int, help="number of people (overrides --scale)")
    p.add_argument("--seed", type=int, default=DEFAULT_SEED)
    p.add_argument("--out", type=Path, help="folder (default: data/demo/)")
    p.set_defaults(func=cmd_make_demo)
    _store_cli().add_parsers(sub, common)  # db, staff, refer, absence
    from gapmap.cli.cover import add_parsers as add_cover_parsers  # gapmap cover, gapmap resilience

    add_cover_parsers(sub, common)
    return parser


def _store_cli():
    from gapmap.cli import store as cli_store

    return cli_store


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code (0, 1 or 2)."""
    argv_given = argv
    argv = list(argv if argv is not None else sys.argv[1:])
    debug = "--debug" in argv
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        if not getattr(args, "command", None):
            parser.print_help()
            return EXIT_INPUT
        from gapmap.cli.progress import show_progress

        show_progress()  # the library's progress messages (logging) on standard error
        # a time limit is the wall clock of the whole command: from the process's start when
        # run as a command, from this call when main() is called inside a longer-lived process
        # (a notebook, a test, a script running several commands)
        if argv_given is None:
            from gapmap.wallclock import process_started

            args.command_started = process_started()
        else:
            args.command_started = time.perf_counter()
        try:
            code = int(args.func(args))
            if argv_given is None and getattr(args, "leave_at_once", False):
                # the whole command is timed: everything is written and closed, so skip the
                # interpreter's teardown of the solver's millions of objects (2-3 s when busy)
                sys.stdout.flush()
                sys.stderr.flush()
                os._exit(code)
            return code
        except InputError as exc:
            raise _as_flags(exc) from None
    except InputError as exc:
        _note(f"gapmap: {exc.describe()}")
        return EXIT_INPUT
    except OutputError as exc:
        _note(f"gapmap: {exc}")
        return EXIT_ERROR
    except BrokenPipeError:  # output piped into `head` and closed early: not an error
        sys.stderr.close()
        return EXIT_OK
    except KeyboardInterrupt as exc:
        _note(
            "gapmap: interrupted; outputs already written are complete, the rest were not written"
        )
        if isinstance(exc, _LeaveNow):
            # leave at once: the solvers' own threads (HiGHS, CP-SAT) may still be winding
            # down, and a normal exit could meet one still joinable and abort (exit -6)
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(EXIT_ERROR)
        return EXIT_ERROR
    except Exception as exc:  # anything else is our bug or the machine's problem, not the user's
        if debug:
            raise
        _note(
            f"gapmap: unexpected error: {type(exc).__name__}: {exc} (run with --debug for details)"
        )
        return EXIT_ERROR


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
