"""``gapmap directory``: the providers register for the council's directory team.

``gapmap directory export --providers F --out DIR``
    writes the register as an Open Referral UK v3.0 feed (``services.json``: one ``/services``
    page with every service's details; ``taxonomy.json``: the gapmap taxonomy of services),
    checked against the schema before it is written, and ``directory_extra.csv``, the side
    table of what ORUK has no place for (internal: capacity, booked hours, cover, CQC, checks).
``gapmap directory checks --providers F --out DIR``
    writes ``internal_checks_due.xlsx`` and ``.csv``: providers whose insurance or DBS check
    falls due in the next 30 days, or is overdue, for the team that keeps the register.

Both read only the providers register (never people).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

__all__ = ["add_parsers"]


def _say(text: str) -> None:
    print(text, flush=True)


def _read(args):
    from gapmap.io.registers import read_providers

    return read_providers(
        args.providers,
        sheet=args.providers_sheet,
        layer=args.providers_layer,
        extra=args.directory_extra,
    )


def _folder(args, names: list[str]):
    from gapmap.publish.folder import OutputFolder
    from gapmap.publish.outputs import ABOUT_FILE

    inputs = [args.providers, args.directory_extra]
    return OutputFolder(args.out, inputs=inputs, outputs=[*names, ABOUT_FILE])


def cmd_export(args) -> int:
    """``gapmap directory export``: the register as an ORUK v3.0 feed."""
    from gapmap.io.oruk import export_feed, extra_table, taxonomy, validate
    from gapmap.publish.export import write_csv, write_text
    from gapmap.publish.outputs import write_about

    names = ["services.json", "taxonomy.json", "directory_extra.csv"]
    with _folder(args, names) as folder:
        providers = _read(args)
        feed = export_feed(providers)
        wrong = validate(feed)
        if wrong:  # our bug, never the user's: say so plainly
            raise RuntimeError("the feed does not follow the ORUK v3 schema: " + wrong[0])
        with folder.run() as out:
            write_text(json.dumps(feed, indent=1, ensure_ascii=False) + "\n", out / names[0])
            write_text(json.dumps(taxonomy(), indent=1, ensure_ascii=False) + "\n", out / names[1])
            write_csv(extra_table(providers), out / names[2])
            write_about(out)
    _say(
        f"{len(providers)} providers -> {args.out}/services.json (Open Referral UK v3.0, checked "
        f"against the schema); taxonomy.json; directory_extra.csv (internal side table)"
    )
    return 0


def cmd_checks(args) -> int:
    """``gapmap directory checks``: insurance and DBS checks due soon or overdue."""
    from gapmap.cli.options import settings_from
    from gapmap.io.provider_checks import DUE_WITHIN_DAYS, checks_due
    from gapmap.publish.export import write_csv
    from gapmap.publish.outputs import write_about
    from gapmap.publish.workbook import write_checks_workbook

    years = settings_from(args).validated().dbs_valid_years
    names = ["internal_checks_due.csv", "internal_checks_due.xlsx"]
    with _folder(args, names) as folder:
        providers = _read(args)
        due = checks_due(providers, dbs_valid_years=years, within_days=args.within_days)
        with folder.run() as out:
            write_csv(due, out / names[0])
            write_checks_workbook(due, out / names[1], within_days=args.within_days, years=years)
            write_about(out)
    overdue = int((due["days_left"] < 0).sum())
    _say(
        f"{len(due)} checks due within {args.within_days or DUE_WITHIN_DAYS} days "
        f"({overdue} overdue) among {len(providers)} providers -> {args.out}/{names[1]}"
    )
    return 0


def add_parsers(sub: Any, common: argparse.ArgumentParser) -> None:
    """Add ``gapmap directory export|checks`` to the command line's subcommands.

    Parameters
    ----------
    sub
        The subparsers of :func:`gapmap.cli.commands.build_parser`.
    common
        Its common options (``--debug``).
    """
    from gapmap.cli.options import add_input, add_options
    from gapmap.io.provider_checks import DUE_WITHIN_DAYS

    p = sub.add_parser(
        "directory",
        help="the providers register for the council's directory (Open Referral UK)",
        parents=[common],
    )
    steps = p.add_subparsers(dest="step", metavar="STEP", required=True, parser_class=type(p))

    def inputs(q):
        add_input(q, "--providers", required=True)
        for flag in ("--providers-sheet", "--providers-layer", "--directory-extra"):
            add_input(q, flag)
        q.add_argument("--out", type=Path, required=True, help="folder for the files")

    q = steps.add_parser(
        "export", help="write the providers as an Open Referral UK v3.0 feed", parents=[common]
    )
    inputs(q)
    q.set_defaults(func=cmd_export)
    q = steps.add_parser(
        "checks", help="insurance and DBS checks due soon (internal workbook)", parents=[common]
    )
    inputs(q)
    add_options(q, "directory checks")
    q.add_argument("--within-days", type=int, default=DUE_WITHIN_DAYS,
                   help=f"list checks due within this many days ({DUE_WITHIN_DAYS})")  # fmt: skip
    q.set_defaults(func=cmd_checks)
