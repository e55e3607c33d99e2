"""``gapmap cover`` and ``gapmap resilience``: when a provider is off (registered by one line in
:func:`gapmap.cli.build_parser`).

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

from .errors import InputError, Problem

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
        The subparsers action of :func:`gapmap.cli.build_parser`.
    common
        The parent parser of every command (``--debug``).
    """
    from . import cli

    for name, help_text in (
        ("cover", "who gives the hours of providers who are off (a cover plan, CP-SAT)"),
        ("resilience", "N-1: the hours each provider's week off would leave uncovered, by area"),
    ):
        p = sub.add_parser(name, help=help_text, parents=[common])
        p.add_argument("--providers", type=Path, required=True)
        p.add_argument("--people", type=Path, required=True,
                       help="the people register the matches were made from")  # fmt: skip
        p.add_argument("--matches", type=Path, required=True,
                       help="matches.csv (from gapmap match, or kept by hand)")  # fmt: skip
        p.add_argument("--out", type=Path, required=True, help="folder for the outputs")
        if name == "cover":
            p.add_argument(
                "--absences",
                type=Path,
                required=True,
                help="CSV/XLSX: provider_id, from, to (ISO dates), days, reason",
            )
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
                       match_time_limit_s=30.0)  # fmt: skip


def _read(args):
    from . import cli
    from .absences import read_matches

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
    from . import cli
    from .absences import read_absences
    from .cover import check_cover_plan, cover_plan
    from .cover.plan import arrangements
    from .publish.cover import cover_lines, write_cover_outputs

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


def cmd_resilience(args) -> int:
    """``gapmap resilience``: N−1 over every provider."""
    from . import cli
    from .cover import n_minus_one
    from .publish.cover import resilience_lines, write_resilience_outputs

    t0 = time.perf_counter()
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


def demo_cover(study, best, out: Path) -> None:
    """The demo's week off: the busiest provider is off next week; the cover plan in words,
    its files, and N−1 resilience (with its layer in ``gapmap.gpkg``).

    Parameters
    ----------
    study
        The demo study.
    best
        Its batch matching (:func:`gapmap.matching.match`).
    out
        The run's staging folder.
    """
    import numpy as np
    import pandas as pd

    from . import cli
    from .cover import check_cover_plan, cover_plan, n_minus_one
    from .publish.cover import (
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
        return
    busiest = str(matched["provider_id"].value_counts().index[0])
    today = dt.date.today()
    start = today + dt.timedelta(days=7 - today.weekday())  # next Monday
    end = start + dt.timedelta(days=6)
    absences = pd.DataFrame({"provider_id": [busiest], "from": [start], "to": [end],
                             "days": [127], "reason": ["demo: off sick"]}).astype(
        {"days": np.int64})  # fmt: skip
    name = study.providers.set_index("provider_id").at[busiest, "name"]
    from .publish.summaries import clean_text

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
    cli._print(resilience_lines(res, study.settings.suppression))
