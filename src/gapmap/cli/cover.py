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
    from gapmap.cli import commands as cli

    for name, help_text in (
        ("cover", "who gives the hours of providers who are off (a cover plan, CP-SAT)"),
        ("resilience", "N-1: the hours each provider's week off would leave uncovered, by area"),
    ):
        p = sub.add_parser(name, help=help_text, parents=[common])
        p.add_argument(
            "--db",
            help="the register database: its providers, the pending and "
            "confirmed referrals and the absences recorded (instead of the files)",
        )
        p.add_argument("--providers", type=Path)
        p.add_argument("--people", type=Path,
                       help="the people register the matches were made from")  # fmt: skip
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
        cli._add_match_options(p, batch=True)
        cli._add_area_options(p)
        cli._add_reach_options(p)
        p.set_defaults(func=cmd_cover if name == "cover" else cmd_resilience,
                       **COVER_TIME_LIMITS)  # fmt: skip


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
    from gapmap.cli import commands as cli
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
    from gapmap.cli import commands as cli
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
        from gapmap.cli.store import _staff_author

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
    """``gapmap cover --db``: the plan from the register database (and ``--accept``)."""
    from gapmap.cli import commands as cli
    from gapmap.cli.store import open_for
    from gapmap.cover_register import plan_from_store
    from gapmap.publish.cover import cover_lines, write_cover_outputs

    store = open_for(args)
    try:
        with cli._output_folder(args) as folder:
            cli._note("Reading the register database: providers, referrals and absences ...")
            plan, inputs = plan_from_store(
                store, args.start, args.end, settings=cli._settings(args),
                deadline=t0 + cli._settings(args).match_time_limit_s - 1.0,
                **_study_options(args),
            )  # fmt: skip
            for note in inputs.notes:
                cli._say(f"  ({note})")
            with folder.run() as out:
                write_cover_outputs(plan, inputs.study, out)
            cli._print(cover_lines(plan, inputs.study))
            cli._say(f"Outputs in {args.out}/: cover_plan.csv, cover_plan.xlsx, cover_calls.csv, "
                     "cover_calls.txt, cover_summary.json (internal: person ids)")  # fmt: skip
        if args.accept:
            ids = store.accept_cover(plan.table(), author=args.as_name)
            cli._say(f"recorded {len(ids)} temporary cover arrangement(s); each holds its "
                     "cover's hours until the absence ends")  # fmt: skip
    finally:
        store.close()
    return cli.EXIT_OK


def cmd_resilience(args) -> int:
    """``gapmap resilience``: N−1 over every provider."""
    from gapmap.cli import commands as cli
    from gapmap.cover import n_minus_one
    from gapmap.publish.cover import resilience_lines, write_resilience_outputs

    t0 = time.perf_counter()
    _need(args, ("providers", "people", "matches"))
    if args.db is not None:
        from gapmap.cli.store import open_for
        from gapmap.cover_register import resilience_from_store

        store = open_for(args)
        try:
            with cli._output_folder(args) as folder:
                cli._note("Reading the register database: providers and referrals ...")
                res, inputs = resilience_from_store(
                    store, settings=cli._settings(args), say=cli._note,
                    deadline=t0 + cli._settings(args).match_time_limit_s - 1.0,
                    **_study_options(args),
                )  # fmt: skip
                for note in inputs.notes:
                    cli._say(f"  ({note})")
                rule = inputs.study.settings.suppression
                with folder.run() as out:
                    write_resilience_outputs(res, out, rule, areas=inputs.study.areas)
                cli._print(resilience_lines(res, rule))
        finally:
            store.close()
        return cli.EXIT_OK
    with cli._output_folder(args, args.matches) as folder:
        cli._note("Reading the registers and the matches ...")
        study, matches = _read(args)
        res = n_minus_one(study, matches, say=cli._note,
                          deadline=t0 + study.settings.match_time_limit_s - 1.0)  # fmt: skip
        with folder.run() as out:
            write_resilience_outputs(res, out, study.settings.suppression, areas=study.areas)
        cli._print(resilience_lines(res, study.settings.suppression))
        cli._say(f"Outputs in {args.out}/: resilience.csv, resilience.xlsx, gapmap.gpkg (layer "
                 "resilience; published), internal_providers_n1.csv (internal: exact)")  # fmt: skip
    return cli.EXIT_OK


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

    from gapmap.cli import commands as cli
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
    res = n_minus_one(study, matches, say=cli._note)
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
