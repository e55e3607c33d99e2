"""When a provider is off, on ``gapmap serve --db``: the "Provider off" page and its JSON API.

* ``GET /cover`` shows the form (provider, from, to, days, reason) and, with ``?from=&to=``,
  the cover plan for those dates as a printable call list (most urgent first: person id, what
  changes, the cover's name, provider id and contact, hours, days; then the people left
  uncovered with the reason and the nearest change) with an "Accept this plan" button.
* ``POST /cover`` records the absence (the member of staff signed in is its author), then shows
  the plan for its dates; ``POST /cover/accept`` plans the dates again on the register as it
  is at that moment and records the plan's cover as temporary assignments, in the same
  transaction, all or none (:func:`gapmap.cover_register.accept_from_store`); the page says
  when that plan differs from the one shown (another member of staff referred someone or
  accepted a plan meanwhile: the form carries the shown plan's fingerprint).
* ``GET /api/cover?from=&to=`` and ``POST /api/cover/accept`` (``{"from", "to"}``) give the
  same in JSON.

The plan is :func:`gapmap.cover_register.plan_from_store`'s (checked independently); the words
are :func:`gapmap.publish.cover.call_list`'s. Every text shown goes through Jinja's
autoescaping.
"""

from __future__ import annotations

import datetime as dt
import time
from importlib.resources import files
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from jinja2 import Environment, select_autoescape
from pydantic import BaseModel, Field

from gapmap.errors import InputError, Problem
from gapmap.serve.api import _problems_json
from gapmap.vocab import DAYS, days_words, hours_words

if TYPE_CHECKING:
    from gapmap.serve.register import DbRegister

__all__ = ["CoverDesk", "CoverRequest", "cover_router"]

#: Longest a plan made for the page may take (seconds); the plan says when it is not proven.
WEB_TIME_LIMIT_S = 20.0
_FIELDS = {"--from": "from", "--to": "to", "FROM": "from", "TO": "to", "--days": "days",
           "--provider": "provider_id", "PROVIDER": "provider_id"}  # fmt: skip


class CoverRequest(BaseModel):
    """The dates of a cover plan, inclusive."""

    model_config = {"populate_by_name": True}

    start: dt.date = Field(..., alias="from", description="the first day (YYYY-MM-DD)")
    end: dt.date = Field(..., alias="to", description="the last day (YYYY-MM-DD)")
    shown: str | None = Field(
        None, max_length=64,
        description="the `fingerprint` of the plan shown (GET /api/cover): the answer says "
        "whether the plan accepted, made again on the register as it is, differs from it",
    )  # fmt: skip


def _plain(v: Any) -> Any:
    from gapmap.serve.register import _plain as plain

    return plain(v)


class CoverDesk:
    """What the page and the API do when a provider is off, once for both.

    Parameters
    ----------
    register
        The register in service (its store, settings and area options).
    """

    def __init__(self, register: DbRegister):
        assert register.store is not None
        self.register = register
        self.store = register.store

    def plan(self, start: dt.date, end: dt.date) -> dict:
        """The cover plan for the dates: summary, calls, the uncovered and notes (internal).

        Parameters
        ----------
        start, end
            The dates, inclusive.

        Raises
        ------
        InputError
            The dates are reversed or span more than a year.
        """
        from gapmap.cover_register import plan_from_store

        self._check_dates(start, end)
        plan, inputs = plan_from_store(self.store, start, end, **self._options())
        return self._made(plan, inputs, start, end)

    def _check_dates(self, start: dt.date, end: dt.date) -> None:
        if end < start:
            raise InputError(Problem("cover", f"the plan ends before it starts ({start})",
                                     column="to", value=end.isoformat()))  # fmt: skip

    def _options(self) -> dict:
        reg = self.register
        limit = min(reg.settings.match_time_limit_s, WEB_TIME_LIMIT_S)
        return dict(settings=reg.settings, deadline=time.perf_counter() + limit, areas=reg.areas,
                    area_columns=reg.area_columns, postcode_file=reg.postcode_file,
                    **reg.read_options)  # fmt: skip

    def _made(self, plan, inputs, start: dt.date, end: dt.date) -> dict:
        from gapmap.cover_register import plan_fingerprint
        from gapmap.publish.cover import call_list

        calls = call_list(plan, inputs.study)
        prov = inputs.study.providers.set_index("provider_id")
        covered, left = [], []
        for rec in calls.to_dict("records"):
            d = {k: _plain(v) for k, v in rec.items()}
            d["hours_words"] = hours_words(float(rec["hours"]))
            if rec["cover_provider_id"]:
                d["cover_website"] = str(prov.at[rec["cover_provider_id"], "website"]) if (
                    "website" in prov) else ""  # fmt: skip
                covered.append(d)
            else:
                left.append(d)
        names = dict(zip(prov.index.astype(str), prov["name"].astype(str)))
        absences = [
            {
                "provider_id": str(a["provider_id"]),
                "name": names.get(str(a["provider_id"]), ""),
                "from": a["from"].isoformat(),
                "to": a["to"].isoformat(),
                "days": days_words(int(a["days"])),
                "reason": str(a["reason"]),
            }
            for a in inputs.absences.to_dict("records")
        ]
        return {
            "from": start.isoformat(),
            "to": end.isoformat(),
            "summary": plan.summary(),
            "absences": absences,
            "calls": covered,
            "uncovered": left,
            "notes": inputs.notes,
            "fingerprint": plan_fingerprint(plan.table()),
            "_table": plan.table(),
        }

    def accept(self, start: dt.date, end: dt.date, author: str, shown: str | None = None) -> dict:
        """Plan the dates again on the register as it is now and record the plan's cover as
        temporary assignments, in one transaction (all or none): the plan, with
        ``assignments`` (their numbers) and ``changed_since_shown`` (whether it differs from
        the plan of fingerprint ``shown``; None without one).

        Parameters
        ----------
        start, end
            The dates, inclusive.
        author
            The member of staff signed in.
        shown
            The fingerprint of the plan shown (the page's hidden field, the API's ``shown``).
        """
        from gapmap.cover_register import accept_from_store

        self._check_dates(start, end)
        got = accept_from_store(self.store, start, end, author=author, shown=shown,
                                **self._options())  # fmt: skip
        made = self._made(got.plan, got.inputs, start, end)
        made["assignments"] = got.ids
        made["changed_since_shown"] = got.changed
        return made

    def record_absence(self, form: dict, author: str) -> int:
        """Record an absence from the page's fields; raises InputError with the problems by
        field (``provider_id``, ``from``, ``to``, ``days``, ``reason``).

        Parameters
        ----------
        form
            ``provider_id``, ``from``, ``to`` (ISO dates), ``days`` (a list) and ``reason``.
        author
            The member of staff signed in.
        """
        from gapmap.vocab import parse_days

        problems: list[Problem] = []
        dates: dict[str, dt.date] = {}
        if not form["provider_id"]:
            problems.append(Problem("absence", "Choose the provider who is off",
                                    column="provider_id"))  # fmt: skip
        for key, words in (("from", "the first day off"), ("to", "the last day off")):
            text = form[key]
            if not text:
                problems.append(Problem("absence", f"Enter {words}", column=key))
                continue
            try:
                dates[key] = dt.date.fromisoformat(text)
            except ValueError:
                problems.append(Problem("absence", f"Enter {words} as a date like 2026-12-07",
                                        column=key, value=text))  # fmt: skip
        days = None
        if form["days"]:
            try:
                days = parse_days(";".join(form["days"]))
            except ValueError as exc:
                problems.append(Problem("absence", str(exc), column="days"))
        if problems:
            raise InputError(problems)
        try:
            return self.store.add_absence(
                author=author, provider_id=form["provider_id"], start=dates["from"],
                end=dates["to"], days=days, reason=form["reason"],
            )  # fmt: skip
        except InputError as exc:
            raise InputError(
                [Problem(p.file, p.message, None, _FIELDS.get(p.column or "", p.column), p.value)
                 for p in exc.problems]
            ) from None  # fmt: skip

    def providers(self) -> list[tuple[str, str]]:
        """(id, "name (id)") of the providers in service, by name: the form's choices."""
        study, _, _ = self.register.in_service()
        prov = study.providers.sort_values(["name", "provider_id"])
        return [(str(i), f"{n} ({i})") for i, n in zip(prov["provider_id"], prov["name"])]


def _api_plan(made: dict) -> dict:
    return {k: v for k, v in made.items() if not k.startswith("_")}


def cover_router(register: DbRegister) -> APIRouter:
    """The "Provider off" page and the cover plan's JSON API (``create_app`` includes it with
    ``--db``).

    Parameters
    ----------
    register
        The register in service.
    """
    from starlette.concurrency import run_in_threadpool

    from gapmap.serve.register import staff_of

    desk = CoverDesk(register)
    router = APIRouter()
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["tel"] = lambda v: "".join(ch for ch in str(v) if ch.isdigit() or ch == "+")
    env.filters["hours"] = hours_words
    page = env.from_string(
        (files("gapmap.serve") / "web" / "cover.html").read_text(encoding="utf-8")
    )

    def render(status: int = 200, **context) -> HTMLResponse:
        context.setdefault("problems", [])
        context.setdefault("form", {"provider_id": "", "from": "", "to": "", "days": [],
                                    "reason": ""})  # fmt: skip
        context.setdefault("made", None)
        return HTMLResponse(page.render(days=DAYS, **context), status_code=status)

    def _dates(start: str, end: str) -> tuple[dt.date, dt.date] | list[Problem]:
        problems, out = [], []
        for key, text in (("from", start), ("to", end)):
            try:
                out.append(dt.date.fromisoformat(text))
            except ValueError:
                problems.append(Problem("cover", "Enter a date like 2026-12-07", column=key,
                                        value=text))  # fmt: skip
        return problems or (out[0], out[1])

    @router.get("/cover", include_in_schema=False)
    async def cover_page(request: Request):
        q = request.query_params
        staff = staff_of(request)
        providers = await run_in_threadpool(desk.providers)
        common: dict[str, Any] = {"staff": staff, "providers": providers}
        if "from" not in q and "to" not in q:
            return render(**common)
        dates = _dates(q.get("from", ""), q.get("to", ""))
        if isinstance(dates, list):
            return render(422, problems=dates, **common)
        try:
            made = await run_in_threadpool(desk.plan, *dates)
        except InputError as exc:
            return render(422, problems=exc.problems, **common)
        return render(made=made, recorded=q.get("recorded", ""), accepted=q.get("accepted", ""),
                      changed=q.get("changed", "") == "1", **common)  # fmt: skip

    @router.post("/cover", include_in_schema=False)
    async def cover_record(request: Request):
        raw = await request.form()
        form: dict[str, Any] = {
            k: str(raw.get(k, "")).strip()[:200] for k in ("provider_id", "from", "to", "reason")
        }
        form["days"] = [str(d) for d in raw.getlist("days") if str(d) in DAYS]
        staff = staff_of(request)
        try:
            aid = await run_in_threadpool(desk.record_absence, form, staff)
        except InputError as exc:
            providers = await run_in_threadpool(desk.providers)
            return render(422, problems=exc.problems, form=form, staff=staff,
                          providers=providers)  # fmt: skip
        query = urlencode({"from": form["from"], "to": form["to"], "recorded": aid})
        return RedirectResponse(f"/cover?{query}#plan", status_code=303)

    @router.post("/cover/accept", include_in_schema=False)
    async def cover_accept_page(request: Request):
        raw = await request.form()
        staff = staff_of(request)
        dates = _dates(str(raw.get("from", "")), str(raw.get("to", "")))
        if isinstance(dates, list):
            providers = await run_in_threadpool(desk.providers)
            return render(422, problems=dates, staff=staff, providers=providers)
        shown = str(raw.get("shown", ""))[:64] or None
        try:
            made = await run_in_threadpool(desk.accept, *dates, staff, shown)
        except InputError as exc:
            providers = await run_in_threadpool(desk.providers)
            return render(409, problems=exc.problems, staff=staff, providers=providers)
        query = urlencode({"from": dates[0].isoformat(), "to": dates[1].isoformat(),
                           "accepted": len(made["assignments"]),
                           "changed": int(bool(made["changed_since_shown"]))})  # fmt: skip
        return RedirectResponse(f"/cover?{query}#plan", status_code=303)

    @router.get("/api/cover", summary="The cover plan for the absences between two dates")
    def api_cover(
        start: dt.date = Query(..., alias="from", description="the first day (YYYY-MM-DD)"),
        end: dt.date = Query(..., alias="to", description="the last day (YYYY-MM-DD)"),
    ):
        try:
            return _api_plan(desk.plan(start, end))
        except InputError as exc:
            return _problems_json(exc.problems)

    @router.post(
        "/api/cover/accept",
        status_code=201,
        summary="Plan the dates again on the register as it is and record the plan's cover as "
        "temporary assignments, in one transaction (all or none); they hold the cover's hours "
        "until the absence ends. `changed_since_shown` says whether the plan differs from the "
        "one of fingerprint `shown`",
        responses={409: {"description": "an absence changed: make the plan again"}},
    )
    def api_cover_accept(req: CoverRequest, request: Request):
        try:
            made = desk.accept(req.start, req.end, staff_of(request), req.shown)
        except InputError as exc:
            status = 409 if any("make the plan again" in p.message for p in exc.problems) else 422
            return _problems_json(exc.problems, status)
        return JSONResponse(_api_plan(made), status_code=201)

    return router
