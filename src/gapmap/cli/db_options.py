"""The register database for every command: ``--db`` and ``--as-of``, and what they read and record.

:func:`open_for` opens the store of ``--db`` with the command's settings;
:func:`study_from_db` builds the study as the registers stood at ``--as-of`` (what
:func:`gapmap.cli.common._study` builds from files); ``gapmap match --accept`` records the
matches as pending referrals (:func:`accept`); ``gapmap compare --db`` compares two dates; and
the helpers the register's own commands (:mod:`gapmap.cli.store`) share: who is acting, dates,
the store's problems named by the flags typed. No SQL here, only :mod:`gapmap.store`.
"""

from __future__ import annotations

import argparse
import getpass
from datetime import date
from pathlib import Path

from gapmap.errors import InputError, Problem

__all__ = [
    "accept",
    "add_accept_options",
    "add_compare_options",
    "add_db_options",
    "compare_from_db",
    "db_register_factory",
    "open_for",
    "study_from_db",
]


def _date(text: str) -> date:
    """argparse type: an ISO date."""
    try:
        return date.fromisoformat(str(text).strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def _say(msg: str = "") -> None:
    print(msg, flush=True)


def _author(args) -> str:
    """``--as NAME``, or the login name for the commands that allow it."""
    name = getattr(args, "as_name", None)
    if name:
        return name
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # pragma: no cover - no login name
        return "unknown"


def _staff_author(args) -> str:
    if not getattr(args, "as_name", None):
        raise InputError(
            Problem("command line", "say who is acting: --as NAME (a member of staff)",
                    column="--as")
        )  # fmt: skip
    return args.as_name


#: The store's names for what a referral or absence gives → the flags that give them.
_FLAGS = {
    "person_id": "--person-id", "postcode": "--postcode", "lat": "--lat", "hours": "--hours",
    "days": "--days", "services": "--services", "max_travel_km": "--max-travel-km",
    "priority": "--priority", "needs_cover": "--needs-cover", "self_directing": "--self-directing",
    "regulated_care": "--regulated-care", "provider": "--provider", "provider_id": "--provider",
    "partner": "--partner", "cover": "--cover", "from": "--from", "to": "--to",
    "reason": "--reason",
}  # fmt: skip


def _as_flags(exc: InputError) -> InputError:
    """The store's problems, naming the flags the user typed."""
    from dataclasses import replace

    return InputError(
        [replace(p, column=_FLAGS.get(p.column or "", p.column)) for p in exc.problems]
    )


def open_for(args, *, create: bool = False):
    """The store of ``--db`` with the settings of the command's options.

    Parameters
    ----------
    args
        The parsed command line (``--db`` and the settings' flags).
    create
        Make the database if there is none (SQLite) and bring its schema up to date.
    """
    from gapmap.cli.common import _settings
    from gapmap.store import open_store

    return open_store(args.db, create=create, settings=_settings(args).validated())


def add_db_options(p, *, as_of: bool = True) -> None:
    """``--db`` (and ``--as-of``) on a command that reads registers.

    Parameters
    ----------
    p
        The command's parser.
    as_of
        Also add ``--as-of``.
    """
    p.add_argument(
        "--db",
        help="read the registers from a register database (a file path, sqlite:///PATH or "
        "postgresql://...) instead of --providers/--people",
    )
    if as_of:
        p.add_argument(
            "--as-of", type=_date, metavar="DATE",
            help="with --db: the registers as they stood at the end of that day (YYYY-MM-DD)",
        )  # fmt: skip


def study_from_db(args, inputs, settings, *, providers=True, people=True):
    """The study of ``--db`` at ``--as-of``: what :func:`gapmap.cli.common._study` builds from
    files.

    ``gapmap match`` takes the people still waiting (no pending or confirmed referral).

    Parameters
    ----------
    args
        The parsed command line.
    inputs
        The :class:`~gapmap.inputs.StudyInputs` the options describe (its registers are the
        database's).
    settings
        The validated settings.
    providers, people
        Which registers the command reads.
    """
    store = open_for(args)
    try:
        study = store.study(
            settings,
            getattr(args, "as_of", None),
            waiting_only=getattr(args, "command", "") == "match",
            people=people,
            **inputs.besides_registers(),
        )
    finally:
        store.close()
    return study


def add_accept_options(p) -> None:
    """``gapmap match --accept --as NAME``."""
    p.add_argument(
        "--accept", action="store_true",
        help="with --db: record the matches as pending referrals (all or none)",
    )  # fmt: skip
    p.add_argument("--as", dest="as_name", metavar="NAME",
                   help="who accepts the matches (a member of staff)")  # fmt: skip


def accept(args, best, study) -> None:
    """Record a matching's matches as pending referrals in one transaction (all or none).

    Parameters
    ----------
    args
        The parsed command line (``--db``, ``--as``).
    best
        The matching (:class:`gapmap.matching.result.MatchResult`).
    study
        The study matched.
    """
    import math

    if args.db is None:
        raise InputError(Problem("command line", "--accept records referrals in a register "
                                 "database: give --db", column="--accept"))  # fmt: skip
    author = _staff_author(args)
    table = best.table(study.people, study.providers, lambda p, v: math.nan)
    store = open_for(args)
    try:
        ids = store.accept_matches(table, study.people, author=author)
    finally:
        store.close()
    _say(
        f"recorded {len(ids)} matches as pending referrals (numbers {min(ids, default=0)} to "
        f"{max(ids, default=0)}); their hours are held for {store.settings.hold_days} days"
    )


def db_register_factory(args):
    """The register class ``gapmap serve --db`` serves: the providers read from the register
    database, net of the hours referrals hold (:class:`gapmap.serve.register.DbRegister`),
    refreshed whenever the database changes."""
    from functools import partial

    from gapmap.serve.register import DbRegister

    return partial(DbRegister, store=open_for(args))


def add_compare_options(p) -> None:
    """``gapmap compare --db D --from DATE --to DATE``."""
    p.add_argument("--db", help="compare the register database at two dates (with --from, --to) "
                   "instead of two output folders")  # fmt: skip
    p.add_argument("--from", dest="from_date", type=_date, metavar="DATE",
                   help="with --db: the earlier day (its end)")  # fmt: skip
    p.add_argument("--to", dest="to_date", type=_date, metavar="DATE",
                   help="with --db: the later day (its end)")  # fmt: skip


def compare_from_db(args, settings, targets) -> int:
    """``compare --db``: the gap analysis of the register at the end of two days, compared by
    :func:`gapmap.compare.compare_runs` exactly as two output folders are.

    Parameters
    ----------
    args
        The parsed command line (``--db``, ``--from``, ``--to``, ``--out``).
    settings
        The validated settings.
    targets
        Numbers of micro-providers to report progress against.
    """
    import tempfile

    from gapmap.cli.common import _output_folder, _print, _study
    from gapmap.compare import compare_runs, write_comparison
    from gapmap.gaps import gap_analysis
    from gapmap.publish.outputs import write_gap_outputs

    problems = [
        Problem("command line", "is needed with --db", column=flag)
        for flag, v in (("--from", args.from_date), ("--to", args.to_date)) if v is None
    ]  # fmt: skip
    if args.before is not None or args.after is not None:
        problems.append(Problem("command line", "give two output folders or --db, not both",
                                column="--db"))  # fmt: skip
    if not problems and args.to_date < args.from_date:
        problems.append(Problem("command line", "must be on or after --from", column="--to"))
    if problems:
        raise InputError(problems)
    with _output_folder(args) as folder, tempfile.TemporaryDirectory() as tmp:
        runs = []
        for when in (args.from_date, args.to_date):
            args.as_of = when
            result = gap_analysis(_study(args))
            run = Path(tmp) / when.isoformat()
            write_gap_outputs(result, run, title=f"gapmap: gaps at the end of {when}")
            runs.append(run)
        comp = compare_runs(
            runs[0], runs[1], targets=tuple(targets), home_care_rate=settings.home_care_rate,
            micro_rate=settings.micro_rate, weeks_per_year=settings.weeks_per_year,
            rule=settings.suppression,
        )  # fmt: skip
        with folder.run() as out:
            paths = write_comparison(comp, runs[1], out)
    _print(comp.words())
    _say(f"Outputs in {args.out}/: {', '.join(paths)}")
    return 0
