"""The ``gapmap`` command line: options → :class:`Settings` → :class:`Study` → API → publish.

Exit codes: 0 success, 2 bad input (the message names file, row and column, or the option),
1 anything else. No analysis lives here; every rule of the options lives in
:class:`gapmap.settings.Settings`, whose field names this module maps to flags in messages.

This module holds the parser (:func:`build_parser`) and :func:`main`; each group of commands
lives in its own module: :mod:`.gaps` (gaps, report, recruit), :mod:`.match` (match, suggest,
serve), :mod:`.demo` (demo, make-demo), :mod:`.check` (compare, check, build-geography),
:mod:`.store`, :mod:`.cover` and :mod:`.directory`; what they share is in :mod:`.common`.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from gapmap import __version__
from gapmap.cli.check import cmd_build_geography, cmd_check, cmd_compare
from gapmap.cli.common import (
    EXIT_ERROR,
    EXIT_INPUT,
    EXIT_OK,
    KENT_TARGETS,
    _add_council_option,
    _as_flags,
    _note,
    _store_cli,
)
from gapmap.cli.demo import cmd_demo, cmd_make_demo
from gapmap.cli.gaps import cmd_gaps, cmd_recruit, cmd_report
from gapmap.cli.match import _LeaveNow, cmd_match, cmd_serve, cmd_suggest
from gapmap.cli.options import add_input, add_options, finite
from gapmap.errors import InputError
from gapmap.publish.folder import OutputError
from gapmap.settings import DEMO_TIME_LIMITS


class _Parser(argparse.ArgumentParser):
    """argparse that reports option mistakes as input errors (exit 2) with our wording."""

    def error(self, message: str):  # type: ignore[override, unused-ignore]
        """Raise the mistake as an :class:`InputError` (exit 2) instead of exiting."""
        raise InputError(
            f"{self.prog}: {message} ('{self.prog} --help' lists the options)", file="command line"
        )


_finite = finite  # --lat, --lon


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
