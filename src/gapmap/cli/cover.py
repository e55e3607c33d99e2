"""``gapmap cover`` and ``gapmap resilience``: when a provider is off (registered by one line in
:func:`gapmap.cli.commands.build_parser`).

``gapmap cover --providers F --people F --matches matches.csv --absences F --from DATE --to DATE
--out DIR`` writes the cover plan (SPEC "Absences and the cover plan"); ``gapmap resilience
--providers F --people F --matches matches.csv --out DIR`` writes N−1 resilience (SPEC
"Resilience (N−1)"). Both need the people register (SPEC's ``cover`` lists no ``--people``, but
the plan needs each person's days, place, services and priority): a deviation the README states.
"""

from __future__ import annotations

import argparse
import datetime as dt
import time
from pathlib import Path

from gapmap.errors import InputError, Problem
from gapmap.settings import COVER_TIME_LIMITS

__all__ = ["add_parsers", "cmd_cover", "cmd_resilience", "demo_cover"]


def _iso(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO date like 2026-12-07 (year-month-day), not {text!r}"
        ) from None


def add_parsers(sub, common) -> None:
    """Add ``cover`` and ``resilience`` to the command line's subparsers.

    Parameters
    ----------
    sub
        The subparsers action of :func:`gapmap.cli.commands.build_parser`.
    common
        The parent parser of every command (``--debug``).
    """
    from gapmap.cli.options import add_input, add_options

    for name, help_text in (
        ("cover", "who gives the hours of providers who are off (a cover plan)"),
        ("resilience", "N-1: the hours each provider's week off would leave uncovered, by area"),
    ):
        p = sub.add_parser(name, help=help_text, parents=[common])
        p.add_argument(
            "--db",
            help="the register database: its providers, the pending and "
            "confirmed referrals and the absences recorded (instead of the files)",
        )
        add_input(p, "--providers")
        add_input(p, "--people", help="the people register the matches were made from")
        p.add_argument("--matches", type=Path,
                       help="matches.csv (from gapmap match, or kept by hand)")  # fmt: skip
        p.add_argument("--out", type=Path, required=True, help="folder for the outputs")
        if name == "cover":
            p.add_argument(
                "--absences",
                type=Path,
                help="CSV/XLSX: provider_id, from, to (ISO dates), days, reason",
            )
            p.add_argument("--accept", action="store_true",
                           help="with --db: record the plan's cover as temporary assignments "
                           "(all or none); they end with the absence")  # fmt: skip
            p.add_argument("--as", dest="as_name", metavar="NAME",
                           help="who accepts the plan (a member of staff)")  # fmt: skip
            p.add_argument(
                "--from",
                dest="start",
                type=_iso,
                required=True,
                metavar="DATE",
                help="first date of the plan (ISO, e.g. 2026-12-07)",
            )
            p.add_argument("--to", dest="end", type=_iso, required=True, metavar="DATE",
                           help="last date of the plan, inclusive")  # fmt: skip
        add_options(p, name, **COVER_TIME_LIMITS)
        p.set_defaults(func=cmd_cover if name == "cover" else cmd_resilience)


def _need(args, names: tuple[str, ...]) -> None:
    """Without ``--db`` the files are required; with it they are refused (one source)."""
    given = [n for n in names if getattr(args, n, None) is not None]
    if args.db is not None and given:
        raise InputError([Problem("command line", "give either --db or the files, not both",
                                  column=f"--{n}") for n in given])  # fmt: skip
    if args.db is None:
        missing = [n for n in names if getattr(args, n, None) is None]
        if missing:
            raise InputError([Problem("command line", "is required (or give --db)",
                                      column=f"--{n}") for n in missing])  # fmt: skip
    if getattr(args, "accept", False) and args.db is None:
        raise InputError(Problem("command line", "--accept records temporary cover in a "
                                 "register database: give --db", column="--accept"))  # fmt: skip


def _study_options(args) -> dict:
    """The :meth:`gapmap.Study.read` keywords of the area options (for ``--db``)."""
    from gapmap.study import AreaColumns

    return dict(
        areas=getattr(args, "areas", None),
        area_columns=AreaColumns(
            code=getattr(args, "area_code_column", None),
            name=getattr(args, "area_name_column", None),
            district=getattr(args, "district_column", None),
            district_name=getattr(args, "district_name_column", None),
            rural=getattr(args, "rural_column", None),
        ),
        postcode_file=getattr(args, "postcode_file", None),
        council=getattr(args, "council", None),
    )


def _read(args):
    from gapmap.cli import common as cli
    from gapmap.io.absences import read_matches

    problems: list[Problem] = []
    study = matches = None
    try:
        study = cli._study(args)
    except InputError as exc:
        problems += exc.problems
    try:
        matches = read_matches(args.matches)
    except InputError as exc:
        problems += exc.problems
    if problems:
        raise InputError(problems)
    return study, matches


def cmd_cover(args) -> int:
    """``gapmap cover``: the cover plan for the absences between two dates."""
    from gapmap.cli import common as cli
    from gapmap.cover import check_cover_plan, cover_plan
    from gapmap.cover.plan import arrangements
    from gapmap.io.absences import read_absences
    from gapmap.publish.cover import cover_lines, write_cover_outputs

    t0 = time.perf_counter()
    if args.end < args.start:
        raise InputError(
            Problem(
                "command line",
                f"the plan ends before it starts (--from {args.start})",
                column="--to",
                value=str(args.end),
            )
        )
    _need(args, ("providers", "people", "matches", "absences"))
    if args.accept:
        from gapmap.cli.db_options import _staff_author

        _staff_author(args)
    if args.db is not None:
        return _cover_db(args, t0)
    with cli._output_folder(args, args.matches, args.absences) as folder:
        cli._note("Reading the registers, the matches and the absences ...")
        study, matches = _read(args)
        absences = read_absences(args.absences, study.providers)
        arrangements(study, matches, file=str(args.matches))  # names the file in any problem
        plan = cover_plan(study, matches, absences, args.start, args.end,
                          deadline=t0 + study.settings.match_time_limit_s - 1.0)  # fmt: skip
        problems = check_cover_plan(
            study.people, study.providers, matches, absences, plan.table(), plan.start,
            plan.end, circuity=study.settings.circuity, objective=plan.objective,
        )  # fmt: skip
        if problems:
            raise RuntimeError(f"the cover plan broke {len(problems)} rule(s) (a bug): "
                               + "; ".join(problems[:5]))  # fmt: skip
        with folder.run() as out:
            write_cover_outputs(plan, study, out)
        cli._print(cover_lines(plan, study))
        cli._say(f"Outputs in {args.out}/: cover_plan.csv, cover_plan.xlsx, cover_calls.csv, "
                 "cover_calls.txt, cover_summary.json (internal: person ids)")  # fmt: skip
    return cli.EXIT_OK


def _cover_db(args, t0: float) -> int:
    """``gapmap cover --db``: the plan from the register database (and ``--accept``).

    With ``--accept`` the plan is made inside the transaction that records it, on the register
    as it is at that moment (:func:`gapmap.cover_register.accept_from_store`); the plan shown
    before is the ``cover_plan.csv`` of an earlier run in the ``--out`` folder, if any, and the
    command says whether the plan accepted differs from it.
    """
    from pathlib import Path

    from gapmap.cli import common as cli
    from gapmap.cli.db_options import open_for
    from gapmap.cover_register import accept_from_store, plan_changes, plan_from_store
    from gapmap.publish.cover import cover_lines, write_cover_outputs

    store = open_for(args)
    try:
        with cli._output_folder(args) as folder:
            cli._note("Reading the register database: providers, referrals and absences ...")
            options = dict(settings=cli._settings(args),
                           deadline=t0 + cli._settings(args).match_time_limit_s - 1.0,
                           **_study_options(args))  # fmt: skip
            shown = (_shown_plan(Path(args.out) / "cover_plan.csv", args.start, args.end)
                     if args.accept else None)  # fmt: skip
            accepted = None
            if args.accept:
                accepted = accept_from_store(store, args.start, args.end, author=args.as_name,
                                             **options)  # fmt: skip
                plan, inputs = accepted.plan, accepted.inputs
            else:
                plan, inputs = plan_from_store(store, args.start, args.end, **options)
            for note in inputs.notes:
                cli._say(f"  ({note})")
            with folder.run() as out:
                write_cover_outputs(plan, inputs.study, out)
            cli._print(cover_lines(plan, inputs.study))
            cli._say(f"Outputs in {args.out}/: cover_plan.csv, cover_plan.xlsx, cover_calls.csv, "
                     "cover_calls.txt, cover_summary.json (internal: person ids)")  # fmt: skip
        if accepted is not None:
            cli._say(f"recorded {len(accepted.ids)} temporary cover arrangement(s), planned on "
                     "the register as it stood when accepting; each holds its cover's hours "
                     "until the absence ends")  # fmt: skip
            if shown is not None:
                changes = plan_changes(shown, plan.table())
                if changes:
                    cli._say(f"  NOTE: the register changed since the plan in {args.out}/ was "
                             f"made: {changes} day(s) of care are planned differently; the "
                             "plan recorded is the one above (the files now hold it)")  # fmt: skip
                else:
                    cli._say(f"  (the same plan as the one in {args.out}/ before)")
    finally:
        store.close()
    return cli.EXIT_OK


def _shown_plan(path, start, end):
    """The ``cover_plan.csv`` of an earlier run for the same dates (the plan shown), or None
    (none there, unreadable, or a plan of other dates: nothing to compare with)."""
    import json

    import pandas as pd

    if not path.is_file():
        return None
    try:
        plan = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return None
    need = {"person_id", "date", "role", "absent_provider_id", "hours", "cover_provider_id"}
    if not need <= set(plan.columns):
        return None
    try:  # its dates, from the summary written beside it
        summary = json.loads((path.parent / "cover_summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if summary.get("from") != start.isoformat() or summary.get("to") != end.isoformat():
        return None
    return plan


def cmd_resilience(args) -> int:
    """``gapmap resilience``: N−1 over every provider."""
    from gapmap.cli import common as cli
    from gapmap.cover import n_minus_one
    from gapmap.publish.cover import resilience_lines, write_resilience_outputs

    t0 = time.perf_counter()
    _need(args, ("providers", "people", "matches"))
    if args.db is not None:
        from gapmap.cli.db_options import open_for
        from gapmap.cover_register import resilience_from_store

        store = open_for(args)
        try:
            with cli._output_folder(args) as folder:
                cli._note("Reading the register database: providers and referrals ...")
                res, inputs = resilience_from_store(
                    store, settings=cli._settings(args),
                    deadline=t0 + cli._settings(args).match_time_limit_s - 1.0,
                    **_study_options(args),
                )  # fmt: skip
                for note in inputs.notes:
                    cli._say(f"  ({note})")
                rule = inputs.study.settings.suppression
                cli._note("The gap analysis of the register, for the gap map's N-1 layers ...")
                gaps_study = cli._study(args)
                with folder.run() as out:
                    _keep_earlier(args.out, out)
                    write_resilience_outputs(res, out, rule, areas=inputs.study.areas)
                    extra = _n1_on_gap_map(args, gaps_study, res, out)
                cli._print(resilience_lines(res, rule))
                _say_outputs(args, extra)
        finally:
            store.close()
        return cli.EXIT_OK
    with cli._output_folder(args, args.matches) as folder:
        cli._note("Reading the registers and the matches ...")
        study, matches = _read(args)
        res = n_minus_one(study, matches,
                          deadline=t0 + study.settings.match_time_limit_s - 1.0)  # fmt: skip
        with folder.run() as out:
            _keep_earlier(args.out, out)
            write_resilience_outputs(res, out, study.settings.suppression, areas=study.areas)
            extra = _n1_on_gap_map(args, study, res, out)
        cli._print(resilience_lines(res, study.settings.suppression))
        _say_outputs(args, extra)
    return cli.EXIT_OK


#: Files of an earlier run in ``--out`` that ``gapmap resilience`` adds to rather than replaces.
_ADDED_TO = ("gapmap.gpkg", "gaps.xlsx")


def _keep_earlier(folder, stage: Path) -> None:
    """Copy the earlier run's GeoPackage and workbook into the staging folder, so the N−1
    layer and sheet are added beside what they hold (as the demo adds them to its own)."""
    import shutil

    for name in _ADDED_TO:
        if (Path(folder) / name).is_file():
            shutil.copy2(Path(folder) / name, stage / name)


def _n1_on_gap_map(args, study, res, out: Path) -> list[str]:
    """The gap map with the N−1 layers, as ``gapmap demo`` writes it: the gap analysis of the
    gaps inputs (the registers and areas given, or the register database), its map written
    again with the published N−1 by area; and the N−1 sheet in ``gaps.xlsx`` if the folder
    holds one. The names of the files written."""
    from gapmap.cli import common as cli
    from gapmap.gaps import gap_analysis
    from gapmap.publish.cover import add_resilience_sheet, publish_resilience
    from gapmap.publish.outputs import write_gap_map

    rule = study.settings.suppression
    t = time.perf_counter()
    gaps = gap_analysis(study)
    write_gap_map(gaps, out, title="gapmap: micro-provider gaps, and one provider off (N-1)",
                  resilience=publish_resilience(res.areas, rule))  # fmt: skip
    written = ["gap_map.html (the gap map with the N-1 layers)"]
    if (out / "gaps.xlsx").exists():
        add_resilience_sheet(out / "gaps.xlsx", res, rule)
        written.append("gaps.xlsx (an N-1 sheet added)")
    cli._note(f"  the gap map with its N-1 layers in {time.perf_counter() - t:.1f} s")
    return written


def _say_outputs(args, extra: list[str]) -> None:
    from gapmap.cli import common as cli

    cli._say(f"Outputs in {args.out}/: resilience.csv, resilience.xlsx, gapmap.gpkg (layer "
             f"resilience; published), {', '.join(extra)}, internal_providers_n1.csv "
             "(internal: exact)")  # fmt: skip


def demo_cover(study, best, out: Path, *, gaps=None, title: str = "") -> list[str] | None:
    """The demo's week off: the busiest provider is off next week; the cover plan in words,
    its files, and N−1 resilience (with its layer in ``gapmap.gpkg`` and, given the gap
    analysis, in ``gap_map.html``).

    Parameters
    ----------
    study
        The demo study.
    best
        Its batch matching (:func:`gapmap.matching.match`).
    out
        The run's staging folder.
    gaps
        The demo's gap analysis as published (:class:`~gapmap.publish.published.Published`):
        its map is written again with the N−1 layers.
    title
        The gap map's title.

    Returns
    -------
    list of str or None
        N−1 in words (published figures: for the report), None when nothing was matched.
    """
    import numpy as np
    import pandas as pd

    from gapmap.cli import common as cli
    from gapmap.cover import check_cover_plan, cover_plan, n_minus_one
    from gapmap.publish.cover import (
        cover_lines,
        resilience_lines,
        write_cover_outputs,
        write_resilience_outputs,
    )

    dist = best.details.get("distance_of", {})
    matches = best.table(study.people, study.providers,
                         lambda p, v: dist.get(p, {}).get(v, np.nan))  # fmt: skip
    matched = matches[matches["status"] == "matched"]
    if matched.empty:
        return None
    busiest = str(matched["provider_id"].value_counts().index[0])
    today = dt.date.today()
    start = today + dt.timedelta(days=7 - today.weekday())  # next Monday
    end = start + dt.timedelta(days=6)
    absences = pd.DataFrame({"provider_id": [busiest], "from": [start], "to": [end],
                             "days": [127], "reason": ["demo: off sick"]}).astype(
        {"days": np.int64})  # fmt: skip
    name = study.providers.set_index("provider_id").at[busiest, "name"]
    from gapmap.publish.summaries import clean_text

    cli._say(f"When a provider is off: {clean_text(name, 40)} ({busiest}), the provider with "
             f"the most people, is off sick next week ({start} to {end}):")  # fmt: skip
    plan = cover_plan(study, matches, absences, start, end)
    problems = check_cover_plan(
        study.people, study.providers, matches, absences, plan.table(), start, end,
        circuity=study.settings.circuity, objective=plan.objective,
    )  # fmt: skip
    if problems:
        raise RuntimeError("the cover plan broke a rule (a bug): " + "; ".join(problems[:5]))
    write_cover_outputs(plan, study, out)
    cli._print(cover_lines(plan, study, top=8))
    cli._say("")
    res = n_minus_one(study, matches)
    write_resilience_outputs(res, out, study.settings.suppression, areas=study.areas)
    words = resilience_lines(res, study.settings.suppression)
    cli._print(words)
    if gaps is not None:
        from gapmap.publish.cover import add_resilience_sheet, publish_resilience
        from gapmap.publish.outputs import write_gap_map

        rule = study.settings.suppression
        write_gap_map(gaps, out, title=title or "gapmap: micro-provider gaps",
                      resilience=publish_resilience(res.areas, rule))  # fmt: skip
        if (out / "gaps.xlsx").exists():
            add_resilience_sheet(out / "gaps.xlsx", res, rule)
        cli._say("  (N-1 is also a layer of gap_map.html, a sheet of gaps.xlsx and a paragraph "
                 "of the report)")  # fmt: skip
    return words
