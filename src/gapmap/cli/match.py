"""``gapmap match``, ``gapmap suggest`` and ``gapmap serve``: matching people to providers.

Batch matching of the whole waiting list (Ctrl+C keeps the best matching found so far; a second
Ctrl+C leaves at once), suggestions for one person, and the web app.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from gapmap.cli.common import (
    EXIT_OK,
    _note,
    _output_folder,
    _print,
    _say,
    _settings,
    _store_cli,
    _study,
)
from gapmap.errors import InputError, Problem


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

    from gapmap.matching.person import request_from_fields
    from gapmap.matching.suggest import Suggester
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
    from gapmap.cli.progress import hide_progress

    hide_progress()  # a server's log has times: every message once, through the root logger
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
