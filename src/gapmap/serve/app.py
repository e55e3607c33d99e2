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
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import date, datetime
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from jinja2 import Environment, select_autoescape
from pydantic import BaseModel, Field, StrictFloat, StrictInt, ValidationError

from gapmap.errors import InputError, Problem
from gapmap.io.registers import PERSON_DEFAULTS, mailto, read_number
from gapmap.matching.suggest import (
    REGULATED_QUESTION,
    SELF_DIRECTING_QUESTION,
    Suggester,
    Suggestion,
    request_from_fields,
)
from gapmap.publish.geo import to_latlon, wgs84_geojson
from gapmap.safety import CQC_REGISTERED, made_on, registration_words, suggestion_safety
from gapmap.settings import Settings
from gapmap.study import AreaColumns, Study, StudyInputs
from gapmap.vocab import (
    DAYS,
    SERVICE_WORDS,
    SERVICES,
    days_words,
    hours_words,
    quarter_hours,
    services_words,
)

__all__ = ["Register", "ServePolicy", "create_app", "serve_policy", "session_cookie"]

log = logging.getLogger("gapmap.serve.app")
_WEB = files("gapmap.serve") / "web"
SERVICE_LABELS = {k: v[0].upper() + v[1:] for k, v in SERVICE_WORDS.items()}
#: What a field's problem says when the request's own shape is wrong (GOV.UK wording).
FIELD_WORDS = {
    "hours": "Enter the hours a week as a number, like 6 or 6.5",
    "max_travel_km": "Enter the distance in km as a number, like 10",
    "lat": "Enter the latitude as a number, like 51.28",
    "lon": "Enter the longitude as a number, like 1.08",
    "postcode": "Enter a full UK postcode, like CT1 2AA",
    "days": "Select the days support is needed",
    "services": "Select the kind of support needed",
    "regulated_care": REGULATED_QUESTION,
    "needs_cover": "Select whether the person needs cover",
    "self_directing": SELF_DIRECTING_QUESTION,
    "top": "Enter how many suggestions to show, from 1 to 50",
    "from": "Enter the first day away as a date, like 2026-12-10",
    "to": "Enter the last day away as a date, like 2026-12-24",
    "person_id": "Enter the person's pseudonymous id, like P0042",
    "provider_id": "Enter the provider's id from the register, like MP0042",
}
TOKEN_COOKIE = "gapmap_token"


@dataclass(frozen=True)
class ServePolicy:
    """Where the page listens and who may use it (checked by :func:`serve_policy`)."""

    host: str = "127.0.0.1"
    port: int = 8000
    token: str | None = None


def serve_policy(
    *,
    host: str,
    port: int,
    token: str | None = None,
    token_file: Path | None = None,
    named_staff: bool = False,
) -> ServePolicy:
    """Check the listening address and the access token; every problem at once.

    A token is read from ``token_file`` if given. Listening on anything but a loopback address
    needs a token: the page shows providers' details and answers questions about people.

    Parameters
    ----------
    host, port
        Where to listen.
    token
        An access token given directly (tests).
    token_file
        A file holding the token.
    named_staff
        Staff sign in with their own tokens (``serve --db``): no shared token is needed.

    Returns
    -------
    ServePolicy

    Raises
    ------
    InputError
        naming the setting (``port``, ``token_file``).
    """
    import ipaddress

    problems: list[Problem] = []
    if not 0 < port < 65536:
        problems.append(
            Problem("settings", "must be from 1 to 65535", column="port", value=str(port))
        )
    if token_file is not None:
        try:
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            problems.append(Problem(str(token_file), f"cannot read the token file: {exc}"))
        else:
            if not token:
                problems.append(Problem(str(token_file), "the token file is empty"))
    if token and len(token) < MIN_TOKEN:
        problems.append(
            Problem(
                "settings",
                f"the access token must have at least {MIN_TOKEN} characters ("
                "gapmap serve --new-token prints a good one)",
                column="token_file",
            )
        )
    try:
        loopback = ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = host == "localhost"
    if not loopback and not token and not named_staff:
        problems.append(
            Problem(
                "settings",
                f"an access token is needed to listen on {host}, where other machines can reach "
                "the page (or keep the default host 127.0.0.1)",
                column="token_file",
            )
        )
    if not problems:
        problems += _port_problems(host, port)
    if problems:
        raise InputError(problems)
    return ServePolicy(host, port, token or None)


def _port_problems(host: str, port: int) -> list[Problem]:
    """Is the address free to listen on? (Found before the register is read.)"""
    import socket

    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except socket.gaierror as exc:
        return [Problem("settings", f"cannot listen on {host}: {exc}", column="host")]
    family, _, _, _, address = infos[0]
    with socket.socket(family, socket.SOCK_STREAM) as s:
        try:
            s.bind(address)
        except OSError as exc:
            return [
                Problem(
                    "settings",
                    f"cannot listen on {host}:{port} ({exc.strerror}); is gapmap serve already "
                    "running? Choose another port",
                    column="port",
                )
            ]
    return []


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


# --- the JSON API's documented shapes ------------------------------------------------------------
class SuggestRequest(BaseModel):
    """One person's needs. Give a postcode, or lat and lon (WGS84)."""

    postcode: str | None = Field(None, examples=["CT1 2AA"], max_length=16)
    # strict numbers: JSON true is not 1 hour (nor 1 degree)
    lat: StrictFloat | StrictInt | None = Field(None, examples=[51.28])
    lon: StrictFloat | StrictInt | None = Field(None, examples=[1.08])
    hours: StrictFloat | StrictInt | str | None = Field(
        None, description="hours a week needed: 6, 6.5, '6,5', '6½' or '6 hours'", examples=[6]
    )
    days: str | list[str] | None = Field(
        None, description="'Mon;Wed', 'Mon-Fri', 'weekdays', 'weekends', 'all', or a list",
        examples=["Mon;Wed;Sat"],
    )  # fmt: skip
    services: str | list[str] | None = Field(
        None, description="some of " + ", ".join(SERVICES), examples=["domestic;social"]
    )
    max_travel_km: StrictFloat | StrictInt | str | None = Field(
        None, description="the person's own travel limit"
    )
    needs_cover: bool = PERSON_DEFAULTS.needs_cover
    self_directing: bool | None = Field(
        None,
        description="REQUIRED (true or false): the person can direct their own care, or has a "
        "representative who can; false lists no micro-provider and gives advice instead",
    )
    regulated_care: bool | None = Field(
        None,
        description="REQUIRED (true or false): the care must come from a CQC-registered "
        "provider; true lists only CQC-registered providers (partner and cover included)",
    )
    top: StrictInt = Field(5, ge=1, le=50)


class Place(BaseModel):
    """Where the person is, as much as the answer may say."""

    postcode_sector: str = Field(..., description="the most the answer says about where")
    area_code: str
    area_name: str


class ProviderPoint(BaseModel):
    """A provider on the page's map (its postcode centroid)."""

    provider_id: str
    name: str
    role: str
    lat: float
    lon: float
    number: int = Field(..., description="the suggestion it belongs to (1 = first)")
    cqc_registered: bool = Field(..., description="registered with the Care Quality Commission")


class SuggestResponse(BaseModel):
    """The API's answer for one person."""

    status: str = Field(
        ..., description="ok, none, not_self_directing or regulated_care_unavailable"
    )
    advice: str
    reasons: list[str] = Field(default_factory=list, description="why nothing fits, in words")
    changes: list[str] = Field(
        default_factory=list, description="the nearest changes to the request that would fit"
    )
    notices: list[str] = Field(
        default_factory=list, description="providers in reach not suggested: checks lapsed"
    )
    place: Place
    suggestions: list[Suggestion]
    points: list[ProviderPoint]
    register_status: dict


class ProblemOut(BaseModel):
    """One problem of a request, by field."""

    field: str | None
    message: str


class ProblemsResponse(BaseModel):
    """Every problem of a request."""

    problems: list[ProblemOut]


def _problems_json(problems: list[Problem], status: int = 422) -> JSONResponse:
    body = {
        "problems": [
            {"field": p.column, "message": p.message + (f" (found {p.value!r})" if p.value else "")}
            for p in problems
        ]
    }
    return JSONResponse(body, status_code=status)


NOT_A_JSON_OBJECT = "Send the request as a JSON object of the documented fields"


def _validation_problems(errors) -> list[Problem]:
    """pydantic's errors as gapmap problems in plain words, one per field (``loc`` without the
    leading "body")."""
    out: dict[str | None, Problem] = {}
    for e in errors:
        loc = [str(x) for x in e.get("loc", ()) if x != "body"]
        if e.get("type") == "json_invalid":  # its loc is a position in the text, not a field
            loc = []
        name = loc[0] if loc else None
        message = FIELD_WORDS.get(name or "", "Check this value: " + str(e.get("msg", "")))
        if name == "body" or not loc:
            message = NOT_A_JSON_OBJECT
        out.setdefault(name, Problem("request", message, column=name))
    return list(out.values())


def _as_text(value: str | list[str] | None) -> str:
    if value is None:
        return ""
    return ";".join(value) if isinstance(value, list) else value


SECURITY_HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
        b"script-src 'self'; frame-ancestors 'none'; form-action 'self'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
]


#: Largest request body read (bytes): a suggestion request is a few hundred bytes.
MAX_BODY = 64 * 1024
#: Shortest access token accepted (``gapmap serve --new-token`` makes one of 32 characters).
MIN_TOKEN = 16
#: How long a sign-in lasts (seconds).
SESSION_SECONDS = 8 * 3600
#: Failed sign-ins from one address within a minute before it must wait.
MAX_FAILED_SIGNINS = 5
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


def _problem_response(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"problems": [{"field": field, "message": message}]}, status_code=status)


def session_cookie(token: str, now: float | None = None) -> str:
    """A sign-in cookie's value: its expiry time and an HMAC of it under the token (the token
    itself never leaves the server).

    Parameters
    ----------
    token
        The access token.
    now
        The time (default: now).

    Returns
    -------
    str
    """
    expiry = int((now if now is not None else time.time()) + SESSION_SECONDS)
    mac = hmac.new(token.encode(), f"gapmap-session:{expiry}".encode(), "sha256").hexdigest()
    return f"{expiry}.{mac}"


def _valid_session(token: str, value: str) -> bool:
    expiry, _, mac = value.partition(".")
    if not expiry.isdigit() or int(expiry) < time.time():
        return False
    good = hmac.new(token.encode(), f"gapmap-session:{expiry}".encode(), "sha256").hexdigest()
    return hmac.compare_digest(mac.encode(), good.encode())


class _Guard:
    """ASGI middleware, every request: the Host allow-list (DNS rebinding), the Origin check on
    state-changing requests (cross-site forms), the body limit (413), the access token (if
    any), and security headers on every answer."""

    def __init__(self, app, *, token: str | None, signin, allowed_hosts, staff=None):
        self.app, self.token, self.signin, self.staff = app, token, signin, staff
        self.allowed_hosts = {h.lower().strip("[]") for h in allowed_hosts}

    def _authorised(self, request: Request) -> bool | str:
        token = self.token or ""
        header = request.headers.get("x-gapmap-token", "")
        scheme, _, value = request.headers.get("authorization", "").partition(" ")
        bearer = value.strip() if scheme.lower() == "bearer" else ""
        if self.staff is not None:  # named staff (serve --db): the member's name, or refused
            for given in (header, bearer):
                if given:
                    return self.staff.name_for_token(given) or False
            cookie = request.cookies.get(TOKEN_COOKIE, "")
            return (self.staff.name_for_cookie(cookie) or False) if cookie else False
        for given in (header, bearer):
            if given and hmac.compare_digest(given.encode(), token.encode()):
                return True
        cookie = request.cookies.get(TOKEN_COOKIE, "")
        return bool(cookie) and _valid_session(token, cookie)

    def _host_ok(self, request: Request) -> bool:
        host = request.headers.get("host", "")
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
        return name.lower() in self.allowed_hosts

    def _origin_ok(self, request: Request) -> bool:
        site = request.headers.get("sec-fetch-site", "")
        if site in ("cross-site", "same-site"):
            return False
        origin = request.headers.get("origin")
        if origin is None:
            return True  # not a browser's cross-origin request (API clients, curl)
        if origin == "null":  # the page's own forms, under Referrer-Policy: no-referrer
            return site == "same-origin"
        from urllib.parse import urlsplit

        name = (urlsplit(origin).hostname or "").lower()
        return name in self.allowed_hosts

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        request = Request(scope)
        path = scope["path"]
        if not self._host_ok(request):
            return await _problem_response(
                400, "this server answers only to its own host names (see --allowed-host)"
            )(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD", "OPTIONS") and not self._origin_ok(request):
            return await _problem_response(403, "a request from another site was refused")(
                scope, receive, send
            )
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY):
            return await _problem_response(
                413, f"the request is larger than {MAX_BODY // 1024} kB"
            )(scope, receive, send)
        if scope["method"] not in ("GET", "HEAD"):
            body = b""
            more = True
            while more:  # read it all (it is small) so that no slow sender holds a worker
                message = await receive()
                body += message.get("body", b"")
                more = message.get("more_body", False)
                if len(body) > MAX_BODY:
                    return await _problem_response(
                        413, f"the request is larger than {MAX_BODY // 1024} kB"
                    )(scope, receive, send)
            sent = False

            async def receive():  # noqa: F811 - the body read above, replayed once
                nonlocal sent
                if sent:
                    return {"type": "http.disconnect"}
                sent = True
                return {"type": "http.request", "body": body, "more_body": False}

        if (self.token or self.staff) and not path.startswith("/static/") and path != "/signin":
            from starlette.concurrency import run_in_threadpool

            # named staff are looked up in the database: in a worker thread
            who = (
                await run_in_threadpool(self._authorised, request)
                if self.staff is not None
                else self._authorised(request)
            )
            if not who:
                response: Response
                if path.startswith("/api/") or path == "/openapi.json":
                    response = _problem_response(401, "an access token is needed")
                else:
                    response = HTMLResponse(self.signin(), status_code=401)
                return await response(scope, receive, send)
            if isinstance(who, str):
                scope["gapmap.staff"] = who
        static = path.startswith("/static/")

        async def send_with_headers(message):
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", [])) + SECURITY_HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_with_headers)


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
        _Guard, token=token, signin=lambda: _render(page, mode="signin"),
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


def _render(page, **context) -> str:
    context.setdefault("mode", "search")
    context.setdefault("problems", [])
    context.setdefault("result", None)
    return page.render(
        days=DAYS, services=[(s, SERVICE_LABELS.get(s, s)) for s in SERVICES], **context
    )


def _blank_form() -> dict:
    return {
        "postcode": "",
        "hours": "",
        "days": [],
        "services": [],
        "max_travel_km": "",
        "needs_cover": PERSON_DEFAULTS.needs_cover,
        "regulated_care": None,  # required answers: no default
        "self_directing": None,
    }


def summary_text(body: dict, request: dict, *, made: date | None = None) -> str:
    """A short plain-text summary of the suggestions, to copy or print for the person.

    Parameters
    ----------
    body
        The API's answer (:class:`SuggestResponse` as a dict).
    request
        What was asked (hours, days, services, regulated_care).
    made
        The date it was made (default today).

    Returns
    -------
    str
        Lines of text: what was asked and the date, then each provider with contact, days,
        hours and the safety words (:mod:`gapmap.safety`: CQC-registered or not, and for those
        not, what to check and that the council does not vouch for them); when nothing is
        suggested, the advice (refer to a CQC-registered provider), why, and what would fit.
    """
    place = body["place"]["postcode_sector"] or body["place"]["area_name"]
    lines = [
        f"Support asked for near {place}: {hours_words(float(read_number(request['hours'])))} "
        f"a week on {days_words(request['days'])} ({services_words(request['services'])}).",
        made_on(made),
        "",
    ]
    if not body["suggestions"]:
        if body.get("status") != "none":
            lines.append("No micro-provider is suggested.")
        if body.get("advice"):
            lines.append(body["advice"])
        if body.get("reasons"):
            lines += ["", "Why nothing fits:"] + [f"- {r}" for r in body["reasons"]]
        if body.get("changes"):
            lines += ["", "What would give an answer:"] + [f"- {c}" for c in body["changes"]]
    for i, s in enumerate(body["suggestions"], 1):
        given = quarter_hours(s["hours_given"]) if s["partner_id"] else s["hours_given"]
        lines.append(
            f"{i}. {s['name']} ({registration_words(s['cqc_registered'])}): "
            f"{hours_words(given)} a week on {days_words(s['days_given'])}, "
            f"{s['distance_km']:.1f} km away"
        )
        contact = ", ".join(v for v in (s["phone"], s["email"], s["website"]) if v)
        if contact:
            lines.append(f"   Contact: {contact}")
        if s["partner_id"]:
            rest = s["hours_given"] + s["partner_hours"] - given
            lines.append(
                f"   With {s['partner_name']} ({registration_words(s['partner_cqc_registered'])})"
                f" for {hours_words(rest)} on {days_words(s['partner_days'])}"
                + (f" ({s['partner_phone']})" if s["partner_phone"] else "")
            )
        if s["cover_id"]:
            lines.append(
                f"   Cover when away: {s['cover_name']} "
                f"({registration_words(s['cover_cqc_registered'])})"
                + (f", {s['cover_phone']}" if s["cover_phone"] else "")
            )
        lines.append(f"   {s['safety']}")
    if body["suggestions"] and request.get("regulated_care"):
        lines += ["", "The care must be regulated: every provider above is " + CQC_REGISTERED + "."]
    return "\n".join(lines)


def _form_values(form) -> dict:
    """The page's form as typed (to show again) and as an API request."""
    days = [d for d in form.getlist("days") if d in DAYS]
    services = [s for s in form.getlist("services") if s in SERVICES]
    shown = {
        "postcode": str(form.get("postcode", ""))[:16],
        "hours": str(form.get("hours", ""))[:10],
        "days": days,
        "services": services,
        "max_travel_km": str(form.get("max_travel_km", ""))[:10],
        "needs_cover": form.get("needs_cover") == "yes",
        # required answers: a question left unanswered stays None and is refused, never "yes"
        "regulated_care": {"yes": True, "no": False}.get(str(form.get("regulated_care", ""))),
        "self_directing": {"yes": True, "no": False}.get(str(form.get("self_directing", ""))),
    }
    request = {
        "postcode": shown["postcode"],
        "hours": shown["hours"] or None,
        "days": ";".join(days),
        "services": ";".join(services),
        "max_travel_km": shown["max_travel_km"] or None,
        "needs_cover": shown["needs_cover"],
        "regulated_care": shown["regulated_care"],
        "self_directing": shown["self_directing"],
    }
    return {"form": shown, "request": request}


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
