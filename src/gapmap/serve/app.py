"""The signposting web page and JSON API behind ``gapmap serve``.

Staff type a postcode and what the person needs; the page lists who could help, with partner
and cover, and shows them on a small map beside the person's area (never the address). Council
systems call the same thing as JSON (``POST /api/suggest``, documented at ``/docs`` and
``/openapi.json``). Suggestions come from :class:`gapmap.matching.suggest.Suggester` and
requests are checked by :func:`gapmap.matching.suggest.request_from_fields`, exactly as for
``gapmap suggest``: there is no second implementation of the ranking.

Safe by default: the command listens on 127.0.0.1; an optional access token guards every page
and endpoint; no request is logged with anything a person typed; every text from the register
is escaped by Jinja2; assets (Leaflet included) are served locally, so it works offline.

The page's other rooms: who may use it (:mod:`gapmap.serve.security`), its questions and their
errors (:mod:`gapmap.serve.forms`), the API's shapes (:mod:`gapmap.serve.api`); here the
register in service and the routes.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, select_autoescape
from pydantic import ValidationError

from gapmap.errors import InputError, Problem
from gapmap.io.cells import mailto
from gapmap.matching.person import request_from_fields
from gapmap.matching.suggest import Suggester
from gapmap.publish.geo import to_latlon, wgs84_geojson
from gapmap.safety import registration_words, suggestion_safety
from gapmap.serve.api import (
    ProblemsResponse,
    SuggestRequest,
    SuggestResponse,
    _as_text,
    _problem_response,
    _problems_json,
)
from gapmap.serve.forms import (
    NOT_A_JSON_OBJECT,
    _blank_form,
    _form_values,
    _render,
    _validation_problems,
    summary_text,
)
from gapmap.serve.security import (
    LOOPBACK_HOSTS,
    MAX_FAILED_SIGNINS,
    SESSION_SECONDS,
    TOKEN_COOKIE,
    Guard,
    session_cookie,
)
from gapmap.settings import Settings
from gapmap.study import AreaColumns, Study, StudyInputs
from gapmap.vocab import (
    days_words,
    hours_words,
    quarter_hours,
)

__all__ = ["Register", "area_geojson", "create_app"]

log = logging.getLogger("gapmap.serve.app")
_WEB = files("gapmap.serve") / "web"


@dataclass
class Register:
    """The providers register in service; :meth:`reload` swaps in a new file only if it is good.

    Parameters
    ----------
    path
        The providers register file.
    settings
        The study's settings (circuity, absence rate, snap distance...).
    areas
        An area file (default: the built-in geography).
    area_columns, postcode_file
        As for :meth:`gapmap.Study.read`.
    """

    path: Path
    settings: Settings = field(default_factory=Settings)
    areas: Path | None = None
    area_columns: AreaColumns | None = None
    postcode_file: Path | None = None
    #: other keywords of :meth:`Study.read` (which sheet or layer to read)
    read_options: dict = field(default_factory=dict)
    study: Study | None = None
    suggester: Suggester | None = None
    loaded_at: datetime | None = None
    failed: tuple[datetime, list[Problem]] | None = None
    #: provider id -> (name, lat, lon): what the map shows of a provider
    places: dict[str, tuple[str, float, float]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        """Read the file; raises :class:`InputError` and keeps what was in service."""
        inputs = StudyInputs(
            providers=self.path,
            areas=self.areas,
            area_columns=self.area_columns,
            postcode_file=self.postcode_file,
            **self.read_options,
        )
        study = Study.read(inputs, settings=self.settings)
        providers = study.providers
        suggester = Suggester(study)
        lat, lon = to_latlon(providers["x"].to_numpy(), providers["y"].to_numpy())
        places = dict(
            zip(
                providers["provider_id"].astype(str),
                zip(providers["name"].astype(str), lat.tolist(), lon.tolist()),
            )
        )
        with self._lock:
            self.study = study
            self.suggester = suggester
            self.places = places
            self.loaded_at = datetime.now().replace(microsecond=0)
            self.failed = None

    def in_service(self) -> tuple[Study, Suggester, dict]:
        """The study, suggester and provider places in service (loading them if needed)."""
        if self.suggester is None:
            self.load()
        with self._lock:
            assert self.study is not None and self.suggester is not None
            return self.study, self.suggester, self.places

    def reload(self) -> list[Problem]:
        """Reload the file; returns its problems (empty when the new register is in service)."""
        try:
            self.load()
        except InputError as exc:
            self.failed = (datetime.now().replace(microsecond=0), exc.problems)
            log.warning("register reload refused: %d problem(s)", len(exc.problems))
            return exc.problems
        log.info("register reloaded: %d providers", len(self.in_service()[0].providers))
        return []

    def status(self) -> dict:
        """The register in service and the last failed reload, as the API shows them."""
        study, _, _ = self.in_service()
        s: dict[str, Any] = {
            "file": self.path.name,
            "providers": len(study.providers),
            "loaded_at": self.loaded_at.isoformat() if self.loaded_at else None,
            "reload_failed_at": None,
            "reload_problems": [],
        }
        if self.failed:
            s["reload_failed_at"] = self.failed[0].isoformat()
            s["reload_problems"] = [str(p) for p in self.failed[1][:20]]
        return s


# --- the application ------------------------------------------------------------------------------
def create_app(
    register: Register,
    *,
    token: str | None = None,
    allowed_hosts: tuple[str, ...] = LOOPBACK_HOSTS,
    staff=None,
) -> FastAPI:
    """The web application for one providers register.

    Parameters
    ----------
    register
        A :class:`Register` (loaded here if it is not yet); its study's areas are the areas
        served: a person's area is drawn on the map and people outside every area are refused,
        as by ``gapmap suggest``.
    token
        If given, every page and endpoint asks for it (``Authorization: Bearer``, the
        ``X-Gapmap-Token`` header, or the signed, expiring cookie the sign-in form sets).
    allowed_hosts
        The host names the server answers to (the ``Host`` header): loopback names by
        default, so that a hostile web page cannot reach it by DNS rebinding.
    staff
        With a register database (:class:`gapmap.serve.register.DbRegister`): the
        :class:`gapmap.serve.register.StaffSignIn` that signs staff in by their own tokens
        (default: one made for the register's store). Referrals and absences are served then.

    Returns
    -------
    FastAPI
    """
    study, _, _ = register.in_service()
    areas = study.areas
    outline = _district_outline(areas)
    area_names = dict(zip(areas["area_code"], areas["area_name"].astype(str)))
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["hours"] = hours_words
    env.filters["quarter"] = quarter_hours
    env.filters["days"] = days_words
    env.filters["registration"] = registration_words
    env.filters["badge"] = lambda v: (
        registration_words(bool(v))[:1].upper() + (registration_words(bool(v))[1:])
    )
    env.filters["mailto"] = mailto
    env.filters["tel"] = lambda v: "".join(ch for ch in str(v) if ch.isdigit() or ch == "+")
    env.filters["web"] = lambda v: (
        str(v) if str(v).lower().startswith(("https://", "http://")) else "https://" + str(v)
    )
    page = env.from_string((_WEB / "page.html").read_text(encoding="utf-8"))
    assets = {
        "leaflet.js": ((files("xstatic.pkg.leaflet") / "data" / "leaflet.js"), "text/javascript"),
        "leaflet.css": ((files("xstatic.pkg.leaflet") / "data" / "leaflet.css"), "text/css"),
        "serve.js": (_WEB / "serve.js", "text/javascript"),
        "serve.css": (_WEB / "serve.css", "text/css"),
    }
    cache = {name: (p.read_bytes(), kind) for name, (p, kind) in assets.items()}

    app = FastAPI(
        docs_url=None,  # the interactive docs load assets from a CDN: offline, use the schema
        redoc_url=None,
        title="gapmap signposting",
        version=_version(),
        description="Match suggestions for one person: micro-providers in reach who work the "
        "days needed and have free hours, each with a partner for the other days and a named "
        "cover provider. The same rules as `gapmap suggest` (README: Suggestions).",
    )

    referrals = None
    if getattr(register, "store", None) is not None:  # the register database (serve --db)
        from gapmap.serve.register import Referrals, StaffSignIn, referral_router

        staff = staff or StaffSignIn(register.store)  # type: ignore[attr-defined]
        referrals = Referrals(register)  # type: ignore[arg-type]
        app.include_router(referral_router(referrals))
        from gapmap.serve.cover import cover_router

        app.include_router(cover_router(register))  # type: ignore[arg-type]
    app.add_middleware(
        Guard, token=token, signin=lambda: _render(page, mode="signin"),
        allowed_hosts=allowed_hosts, staff=staff,
    )  # fmt: skip
    failed: dict[str, list[float]] = {}

    from starlette.exceptions import HTTPException as StarletteHTTPException

    @app.exception_handler(StarletteHTTPException)
    async def http_problem(request: Request, exc: StarletteHTTPException):
        if exc.status_code == 400 and request.url.path.startswith("/api/"):
            # a body FastAPI cannot even decode (bytes that are not UTF-8): the same answer as
            # any other body that is not a JSON object of the documented fields
            return _problems_json([Problem("request", NOT_A_JSON_OBJECT)])
        return _problem_response(exc.status_code, str(exc.detail))

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError):
        return _problems_json(_validation_problems(exc.errors()))

    def suggest(req: SuggestRequest) -> tuple[dict, list[Problem]]:
        study, suggester, places = register.in_service()
        try:
            person, sector = request_from_fields(
                study, postcode=req.postcode, lat=req.lat, lon=req.lon, hours=req.hours,
                days=_as_text(req.days), services=_as_text(req.services),
                max_travel_km=req.max_travel_km, needs_cover=req.needs_cover,
                self_directing=req.self_directing, regulated_care=req.regulated_care,
            )  # fmt: skip
        except InputError as exc:
            return {}, exc.problems
        t0 = time.perf_counter()
        result = suggester.suggest(person, top=req.top)
        points: dict[str, dict] = {}
        rank = {"provider": 0, "partner": 1, "cover": 2}
        for number, s in enumerate(result.suggestions, 1):
            for role, pid in (("provider", s.provider_id), ("partner", s.partner_id),
                              ("cover", s.cover_id)):  # fmt: skip
                if pid is None:
                    continue
                if pid not in points or rank[role] < rank[points[pid]["role"]]:
                    name, lat, lon = places[pid]
                    cqc = {"provider": s.cqc_registered, "partner": s.partner_cqc_registered,
                           "cover": s.cover_cqc_registered}[role]  # fmt: skip
                    points[pid] = {"provider_id": pid, "name": name, "role": role, "lat": lat,
                                   "lon": lon, "number": number,
                                   "cqc_registered": bool(cqc)}  # fmt: skip
        code = person["area_code"].iloc[0]
        place = {"postcode_sector": sector, "area_code": code, "area_name": area_names[code]}
        log.info(
            "suggestion: status %s, %d suggestions, %.1f ms",
            result.status,
            len(result.suggestions),
            (time.perf_counter() - t0) * 1000,
        )
        body = result.as_dict()
        body.pop("left_out", None)
        body.update(place=place, points=list(points.values()), register_status=register.status())
        return body, []

    @app.post(
        "/api/suggest",
        response_model=SuggestResponse,
        responses={422: {"model": ProblemsResponse, "description": "what is wrong, by field"}},
        summary="Suggestions for one person",
    )
    async def api_suggest(req: SuggestRequest):
        from starlette.concurrency import run_in_threadpool

        # CPU-bound: in a worker thread, so one request cannot hold up the others
        body, problems = await run_in_threadpool(suggest, req)
        return _problems_json(problems) if problems else body

    @app.get("/api/register", summary="The register in service, and the last failed reload")
    def api_register():
        return register.status()

    @app.post(
        "/api/reload",
        summary="Reload the register file; a malformed file leaves the old register in service",
        responses={422: {"model": ProblemsResponse}},
    )
    def api_reload():
        problems = register.reload()
        return _problems_json(problems) if problems else register.status()

    @app.get("/api/districts.geojson", include_in_schema=False)
    def districts():
        return Response(outline, media_type="application/geo+json")

    @app.get("/static/{name}", include_in_schema=False)
    def static(name: str):
        if name not in cache:
            return Response("not found", status_code=404, media_type="text/plain")
        data, kind = cache[name]
        return Response(data, media_type=kind, headers={"Cache-Control": "max-age=3600"})

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request):
        return _render(page, register=register.status(), form=_blank_form(),
                       staff=request.scope.get("gapmap.staff"),
                       referring=referrals is not None)  # fmt: skip

    @app.post("/", response_class=HTMLResponse, include_in_schema=False)
    async def home_post(request: Request):
        return await _search_page(request)

    async def _search_page(request: Request, referred=None):
        """The page after a search (or a referral: ``referred`` says what happened)."""
        form = await request.form()
        values = _form_values(form)
        body: dict = {}
        from starlette.concurrency import run_in_threadpool

        status = 200
        problems: list[Problem] = []
        referral = None
        if referred is not None:
            status, referral, problems = await referred(form, values)
        try:
            body, more = await run_in_threadpool(suggest, SuggestRequest(**values["request"]))
            problems += more
        except ValidationError as exc:  # a number that is not one
            problems += _validation_problems(exc.errors())
        map_data = None
        summary = ""
        if body:
            map_data = {
                "area": json.loads(area_geojson(areas, body["place"]["area_code"])),
                "area_label": body["place"]["postcode_sector"] or body["place"]["area_name"],
                "points": [
                    {
                        **p,
                        "label": f"{p['number']}. {p['role'].capitalize()}: {p['name']} ("
                        f"{registration_words(p['cqc_registered'])})",
                        "popup": f"{p['number']}. {p['role'].capitalize()}: "
                        + suggestion_safety([(p["name"], p["cqc_registered"])]),
                    }
                    for p in body["points"]
                ],
            }
            summary = summary_text(body, values["request"])
        if problems and status < 400:
            status = 422
        return HTMLResponse(
            _render(
                page,
                register=register.status(),
                form=values["form"],
                problems=problems,
                result=body or None,
                map_data=map_data,
                summary=summary,
                staff=request.scope.get("gapmap.staff"),
                referring=referrals is not None,
                referral=referral,
            ),
            status_code=status,
        )

    if referrals is not None:
        from gapmap.serve.register import refer_from_page

        @app.post("/refer", response_class=HTMLResponse, include_in_schema=False)
        async def refer_page(request: Request):
            return await _search_page(request, referred=refer_from_page(referrals, request))

    @app.post("/reload", response_class=HTMLResponse, include_in_schema=False)
    def reload_page():
        problems = register.reload()
        return HTMLResponse(
            _render(page, register=register.status(), form=_blank_form(), reloaded=not problems),
            status_code=422 if problems else 200,
        )

    @app.post("/signin", include_in_schema=False)
    async def signin(request: Request):
        from starlette.concurrency import run_in_threadpool

        who = request.client.host if request.client else "?"
        now = time.time()
        recent = [t for t in failed.get(who, []) if now - t < 60]
        if len(recent) >= MAX_FAILED_SIGNINS:
            return _problem_response(429, "too many failed sign-ins: wait a minute")
        form = await request.form()
        given = str(form.get("token", ""))
        value = None
        if staff is not None:  # named staff: their own token, a cookie bound to them
            name = await run_in_threadpool(staff.name_for_token, given)
            value = await run_in_threadpool(staff.cookie, name) if name else None
        elif token and hmac.compare_digest(given.encode(), token.encode()):
            value = session_cookie(token)
        if value:
            failed.pop(who, None)
            response = RedirectResponse("/", status_code=303)
            response.set_cookie(
                TOKEN_COOKIE, value, max_age=SESSION_SECONDS, httponly=True,
                samesite="strict", secure=request.url.scheme == "https",
            )  # fmt: skip
            return response
        failed[who] = recent + [now]
        return HTMLResponse(_render(page, mode="signin", signin_failed=True), status_code=401)

    return app


def _version() -> str:
    from gapmap import __version__

    return __version__


def _district_outline(areas) -> str:
    """Districts (or the areas, where there are none), simplified, as WGS84 GeoJSON text."""
    import geopandas as gpd

    key = "district_name" if areas["district_name"].astype(bool).any() else "area_code"
    g = areas[[key, "geometry"]].dissolve(by=key).reset_index()
    out = gpd.GeoDataFrame({"name": g[key].astype(str)}, geometry=g.geometry, crs=areas.crs)
    return wgs84_geojson(out, simplify_m=150)


def area_geojson(areas, code: str) -> str:
    """One area's outline (WGS84 GeoJSON), simplified: what the page draws for a person.

    Parameters
    ----------
    areas
        The area layer.
    code
        The area's code.

    Returns
    -------
    str
    """
    g = areas.loc[areas["area_code"] == code, ["area_code", "area_name", "geometry"]].copy()
    # one outline, not fragments: join the pieces and close hairline gaps between them
    g["geometry"] = g.geometry.make_valid().buffer(15).buffer(-15)
    return wgs84_geojson(g, simplify_m=25)
