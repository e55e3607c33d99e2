"""The register database on the command line: ``gapmap db``, ``staff``, ``refer``, ``absence``
(SPEC.md, "The register in a database"). Registered in :func:`gapmap.cli.commands.build_parser`
by :func:`add_parsers`; no SQL here, only :mod:`gapmap.store`. ``--db`` and ``--as-of`` on the
commands that read registers are in :mod:`gapmap.cli.db_options` (re-exported here).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gapmap.cli.db_options import (
    _as_flags,
    _author,
    _date,
    _say,
    _staff_author,
    accept,
    add_accept_options,
    add_compare_options,
    add_db_options,
    compare_from_db,
    db_register_factory,
    open_for,
    study_from_db,
)
from gapmap.errors import InputError, Problem

__all__ = [
    "accept",
    "add_accept_options",
    "add_compare_options",
    "add_db_options",
    "add_parsers",
    "compare_from_db",
    "db_register_factory",
    "open_for",
    "study_from_db",
]


# --- gapmap db ---------------------------------------------------------------------------------
def cmd_db(args) -> int:
    """``gapmap db init|import|export|forget|backup|restore``."""
    from gapmap.store import HEAD

    what = args.db_command
    if what == "init":
        store = open_for(args, create=True)
        _say(f"register database ready at {store._where()} (schema {HEAD})")
    elif what == "import":
        if args.providers is None and args.people is None:
            raise InputError(Problem("command line", "give --providers, --people or both",
                                     column="--providers"))  # fmt: skip
        store = open_for(args, create=True)
        read = {
            "areas": args.areas, "council": args.council, "postcode_file": args.postcode_file,
            "providers_sheet": args.providers_sheet, "people_sheet": args.people_sheet,
            "providers_layer": args.providers_layer, "areas_layer": args.areas_layer,
        }  # fmt: skip
        from gapmap.cli.common import _settings

        counts = store.import_registers(
            args.providers, args.people, author=_author(args), settings=_settings(args),
            **{k: v for k, v in read.items() if v is not None},
        )  # fmt: skip
        for name, c in counts.items():
            _say(f"{name}: {c['added']} added, {c['edited']} edited, {c['withdrawn']} withdrawn, "
                 f"{c['unchanged']} unchanged")  # fmt: skip
            if c.get("referrals_to_withdrawn"):
                _say(f"  note: {c['referrals_to_withdrawn']} pending or confirmed referrals name a "
                     "withdrawn provider: review them (gapmap refer list --db ...)")  # fmt: skip
    elif what == "export":
        store = open_for(args)
        paths = store.export(args.out, args.as_of, fmt=args.format)
        when = f" as they stood at the end of {args.as_of}" if args.as_of else ""
        _say(f"registers{when}: " + ", ".join(str(p) for p in paths))
    elif what == "forget":
        store = open_for(args)
        n = store.forget(args.before, author=_author(args))
        people = store.last_forgotten.get("people", 0)
        covers = store.last_forgotten.get("cover_assignments", 0)
        _say(f"anonymised {n} ended or released referral{'s' * (n != 1)}, {people} "
             f"{'person' if people == 1 else 'people'} who left the register and {covers} "
             f"temporary cover arrangement{'s' * (covers != 1)} over, before "
             f"{args.before}")  # fmt: skip
    elif what == "backup":
        store = open_for(args)
        path = store.backup(args.file)
        _say(f"backup written: {path}")
    elif what == "restore":
        store = open_for(args)
        store.restore(args.file, author=_author(args))
        _say(f"register restored from {args.file}")
    store.close()
    return 0


# --- gapmap staff ------------------------------------------------------------------------------
def cmd_staff(args) -> int:
    """``gapmap staff add|revoke|list``."""
    store = open_for(args, create=args.staff_command == "add")
    try:
        if args.staff_command == "add":
            token = store.add_staff(args.name, author=_author(args))
            _say(f"{args.name} added. Their sign-in token (shown once, keep it secret):")
            _say(token)
        elif args.staff_command == "revoke":
            store.revoke_staff(args.name, author=_author(args))
            _say(f"{args.name}'s access is revoked")
        else:
            table = store.staff()
            for r in table.itertuples():
                state = f"revoked {r.revoked_at:%Y-%m-%d}" if r.revoked_at is not None and str(
                    r.revoked_at) != "NaT" else "active"  # fmt: skip
                _say(f"{r.name}\t{state}\tadded {r.created_at:%Y-%m-%d}")
            if table.empty:
                _say("no staff yet: gapmap staff add NAME --db ...")
    finally:
        store.close()
    return 0


# --- gapmap refer ------------------------------------------------------------------------------
def _person(args) -> dict:
    out: dict[str, Any] = {"person_id": args.person_id}
    for name in ("postcode", "lat", "lon", "services", "max_travel_km", "priority",
                 "needs_cover", "self_directing", "regulated_care"):  # fmt: skip
        v = getattr(args, name, None)
        if v is not None:
            out[name] = v
    return out


def _next_suggestion(store, args, person: dict) -> str:
    """The next suggestion for a person a referral could not take (the hours are gone)."""
    from gapmap.matching.person import person_request
    from gapmap.matching.suggest import Suggester

    try:
        p = store.person(person)
        study = store.study(people=False)
        req = person_request(
            x=p["x"], y=p["y"], hours=p["hours"], days=p["day_mask"], services=p["service_mask"],
            max_travel_km=p["max_travel_km"], needs_cover=p["needs_cover"],
            self_directing=p["self_directing"], regulated_care=p["regulated_care"],
        )  # fmt: skip
        result = Suggester(study).suggest(req, top=1, with_changes=False)
    except InputError:
        return ""
    if not result.suggestions:
        return "No other provider in reach has room now."
    s = result.suggestions[0]
    parts = [f"{s.provider_id} ({s.distance_km:.1f} km)"]
    if s.partner_id:
        parts.append(f"partner {s.partner_id}")
    if s.cover_id:
        parts.append(f"cover {s.cover_id}")
    return (
        "Next suggestion: "
        + ", ".join(parts)
        + f" (gapmap refer ... --provider {s.provider_id}"
        + (f" --partner {s.partner_id}" if s.partner_id else "")
        + (f" --cover {s.cover_id}" if s.cover_id else "")
        + ")"
    )


def cmd_refer(args) -> int:
    """``gapmap refer`` (a new referral) and ``gapmap refer confirm|end|release|list``."""
    try:
        return _refer(args)
    except InputError as exc:
        raise _as_flags(exc) from None


def _refer(args) -> int:
    from gapmap.store import NoRoom
    from gapmap.vocab import days_words, hours_words

    store = open_for(args)
    try:
        action = args.action
        if action in ("confirm", "end", "release"):
            if args.id is None:
                raise InputError(Problem("command line", "give the referral's number",
                                         column="ID"))  # fmt: skip
            state = {"confirm": "confirmed", "end": "ended", "release": "released"}[action]
            store.set_state(args.id, state, author=_staff_author(args))
            _say(f"referral {args.id} {state}")
            return 0
        if action == "list":
            refs = store.referrals(as_of=args.as_of, states=args.state or None)
            cols = [
                "referral_id",
                "person_id",
                "provider_id",
                "partner_id",
                "cover_id",
                "hours",
                "days",
                "state",
                "created_at",
                "created_by",
                "changed_at",
                "changed_by",
            ]
            _say(refs[cols].to_csv(index=False).rstrip())
            return 0
        if action is not None:
            raise InputError(Problem("command line", "expected confirm, end, release or list",
                                     column="ACTION", value=action))  # fmt: skip
        missing = [f for f in ("person_id", "provider") if not getattr(args, f)]
        if missing:
            raise InputError(
                [
                    Problem(
                        "command line",
                        "is required for a new referral",
                        column="--" + m.replace("_", "-"),
                    )
                    for m in missing
                ]
            )
        author = _staff_author(args)
        person = _person(args)
        try:
            rid = store.refer(
                author=author, person=person, provider_id=args.provider,
                partner_id=args.partner, cover_id=args.cover, hours=args.hours, days=args.days,
            )  # fmt: skip
        except NoRoom as exc:
            exc.next_suggestion = _next_suggestion(
                store, args, {**person, "hours": args.hours, "days": args.days}
            )
            if exc.next_suggestion:
                exc.problems.append(Problem("register", exc.next_suggestion))
            raise
        ref = store.referrals().set_index("referral_id").loc[rid]
        who = [f"{ref['provider_id']} gives {hours_words(ref['provider_hours'])} on "
               f"{days_words(int(ref['provider_days']))}"]  # fmt: skip
        if isinstance(ref["partner_id"], str) and ref["partner_id"]:
            who.append(f"partner {ref['partner_id']} {hours_words(ref['partner_hours'])} on "
                       f"{days_words(int(ref['partner_days']))}")  # fmt: skip
        if isinstance(ref["cover_id"], str) and ref["cover_id"]:
            who.append(f"cover {ref['cover_id']}")
        _say(f"referral {rid}: {ref['person_id']}: " + "; ".join(who))
        _say(f"pending: the hours are held for {store.settings.hold_days} days unless it is "
             f"confirmed (gapmap refer confirm {rid} --db ... --as NAME)")  # fmt: skip
    finally:
        store.close()
    return 0


# --- gapmap absence ----------------------------------------------------------------------------
def cmd_absence(args) -> int:
    """``gapmap absence add|list|withdraw``."""
    try:
        return _absence(args)
    except InputError as exc:
        raise _as_flags(exc) from None


def _absence(args) -> int:
    from gapmap.vocab import days_text

    store = open_for(args)
    try:
        if args.absence_command == "add":
            aid = store.add_absence(
                author=_staff_author(args), provider_id=args.provider, start=args.start,
                end=args.end, days=args.days, reason=args.reason or "",
            )  # fmt: skip
            _say(f"absence {aid}: {args.provider} away from {args.start} to {args.end}")
        elif args.absence_command == "withdraw":
            store.withdraw_absence(args.id, author=_staff_author(args))
            _say(f"absence {args.id} withdrawn")
        else:
            table = store.absences(args.as_of)
            table["days"] = [days_text(int(m)) for m in table["days"]]
            _say(table.to_csv(index=False).rstrip())
    finally:
        store.close()
    return 0


# --- the parsers -------------------------------------------------------------------------------
def add_parsers(sub, common) -> None:
    """Add ``db``, ``staff``, ``refer`` and ``absence`` to the ``gapmap`` parser.

    Parameters
    ----------
    sub
        The subparsers of the ``gapmap`` parser.
    common
        The parser of the options every command shares.
    """
    from gapmap.cli.options import add_input, add_options

    def command(name: str, help: str):
        return sub.add_parser(name, help=help, parents=[common])

    def db(p, required: bool = True) -> None:
        p.add_argument("--db", required=required,
                       help="the register database: a file path, sqlite:///PATH or "
                       "postgresql://user@host/name")  # fmt: skip

    def who(p, help: str = "who is acting (a member of staff)") -> None:
        p.add_argument("--as", dest="as_name", metavar="NAME", help=help)

    p = command("db", "the register database: init, import, export, forget, backup, restore")
    dsub = p.add_subparsers(dest="db_command", metavar="ACTION", required=True,
                            parser_class=type(p))  # fmt: skip
    q = dsub.add_parser("init", help="make the database (or upgrade its schema)",
                        parents=[common])  # fmt: skip
    db(q)
    q = dsub.add_parser("import", help="import registers (all or nothing; only the changes "
                        "are recorded)", parents=[common])  # fmt: skip
    db(q)
    add_input(q, "--providers")
    add_input(q, "--people")
    who(q, "who imports (default: your login name)")
    add_options(q, "db import")
    q = dsub.add_parser("export", help="write the registers in the SPEC format",
                        parents=[common])  # fmt: skip
    db(q)
    q.add_argument("--out", type=Path, required=True, help="folder for providers and people")
    q.add_argument("--as-of", type=_date, metavar="DATE",
                   help="as they stood at the end of that day")  # fmt: skip
    q.add_argument("--format", choices=["csv", "xlsx"], default="csv")
    q = dsub.add_parser("forget", help="anonymise ended or released referrals older than a date",
                        parents=[common])  # fmt: skip
    db(q)
    q.add_argument("--before", type=_date, required=True, metavar="DATE")
    who(q, "who asks (default: your login name)")
    q = dsub.add_parser("backup", help="copy the whole register into a new file (safe while "
                        "others use it)", parents=[common])  # fmt: skip
    db(q)
    q.add_argument("file", type=Path, metavar="FILE")
    q = dsub.add_parser("restore", help="replace the register with a backup (one transaction)",
                        parents=[common])  # fmt: skip
    db(q)
    q.add_argument("file", type=Path, metavar="FILE")
    who(q, "who restores (default: your login name)")
    p.set_defaults(func=cmd_db)

    p = command("staff", "members of staff and their sign-in tokens")
    ssub = p.add_subparsers(dest="staff_command", metavar="ACTION", required=True,
                            parser_class=type(p))  # fmt: skip
    for name, help in (("add", "add a member of staff and print their token (once)"),
                       ("revoke", "revoke a member of staff's token at once")):  # fmt: skip
        q = ssub.add_parser(name, help=help, parents=[common])
        q.add_argument("name", metavar="NAME")
        db(q)
        who(q, "who does it (default: your login name)")
    q = ssub.add_parser("list", help="the members of staff", parents=[common])
    db(q)
    p.set_defaults(func=cmd_staff)

    p = command("refer", "refer a person to a provider (the hours are held); or confirm, end, "
                "release or list referrals")  # fmt: skip
    p.add_argument("action", nargs="?", metavar="ACTION",
                   help="confirm, end, release (with the referral's number) or list; "
                   "none: a new referral")  # fmt: skip
    p.add_argument("id", nargs="?", type=int, metavar="ID")
    db(p)
    who(p)
    g = p.add_argument_group("a new referral (a person's needs as in the people register; "
                             "left out: taken from the register)")  # fmt: skip
    g.add_argument("--person-id", help="the person's pseudonymous id")
    g.add_argument("--postcode")
    g.add_argument("--lat", type=float)
    g.add_argument("--lon", type=float)
    g.add_argument("--hours", help="hours a week")
    g.add_argument("--days", help="e.g. Mon;Thu or Mon-Fri")
    g.add_argument("--services", help="e.g. domestic;social")
    g.add_argument("--max-travel-km")
    g.add_argument("--priority", type=int)
    g.add_argument("--needs-cover", choices=["yes", "no"])
    g.add_argument("--self-directing", choices=["yes", "no"])
    g.add_argument("--regulated-care", choices=["yes", "no"])
    g.add_argument("--provider", help="the provider's id")
    g.add_argument("--partner", help="a partner for the days the provider does not work")
    g.add_argument("--cover", help="the cover provider")
    g = p.add_argument_group("listing")
    g.add_argument("--as-of", type=_date, metavar="DATE")
    g.add_argument("--state", action="append", choices=["pending", "confirmed", "ended",
                                                        "released"])  # fmt: skip
    add_options(p, "refer")
    p.set_defaults(func=cmd_refer)

    p = command("absence", "providers' absences: add, list, withdraw")
    asub = p.add_subparsers(dest="absence_command", metavar="ACTION", required=True,
                            parser_class=type(p))  # fmt: skip
    q = asub.add_parser("add", help="record an absence", parents=[common])
    db(q)
    who(q)
    q.add_argument("--provider", required=True)
    q.add_argument("--from", dest="start", type=_date, required=True, metavar="DATE")
    q.add_argument("--to", dest="end", type=_date, required=True, metavar="DATE")
    q.add_argument("--days", help="the weekdays affected (default every day)")
    q.add_argument("--reason")
    q = asub.add_parser("list", help="the absences recorded", parents=[common])
    db(q)
    q.add_argument("--as-of", type=_date, metavar="DATE")
    q = asub.add_parser("withdraw", help="withdraw an absence recorded in error",
                        parents=[common])  # fmt: skip
    db(q)
    who(q)
    q.add_argument("id", type=int, metavar="ID")
    p.set_defaults(func=cmd_absence)
