"""Referrals, absences and named staff for ``gapmap serve --db`` (SPEC.md, "The register in a
database").

With a register database, the signposting page and the JSON API

* suggest from :meth:`gapmap.store.Store.study`'s providers, whose free hours are net of the
  hours held by pending and confirmed referrals and of the cover reserve
  (:class:`DbRegister`); before every suggestion the database's version counters
  (:meth:`~gapmap.store.Store.mark`, a few tiny rows) are compared with the ones in service, so a
  referral made here, by another process or on the command line is counted by the very next
  suggestion;
* sign staff in by their own token (``gapmap staff add NAME``; :class:`StaffSignIn`), checked
  against the database on every request, so that revoking a token refuses the next request;
* record referrals (``POST /api/referrals``, the "Refer" button on each suggestion), their
  states (``/api/referrals/{id}/confirm|end|release``) and providers' absences
  (``/api/absences``), each with the member of staff who made it as author.

Two staff racing for the last free hours: the store's transaction lets exactly one have them;
the other gets ``409`` with the reason in words and the next suggestion for the person.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import hmac
import math
import os
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from gapmap.errors import InputError, Problem
from gapmap.serve.api import SuggestRequest, _as_text, _problems_json
from gapmap.serve.app import Register
from gapmap.serve.security import SESSION_SECONDS

if TYPE_CHECKING:
    from gapmap.store import Store

__all__ = [
    "AbsenceRequest",
    "DbRegister",
    "ReferralRequest",
    "StaffSignIn",
    "referral_router",
]

#: The scope key under which the guard leaves the signed-in member of staff's name.
STAFF_KEY = "gapmap.staff"
#: The store's names for the fields of a referral, as the API names them.
_FIELD_NAMES = {"provider": "provider_id", "partner": "partner_id", "cover": "cover_id",
                "ID": "referral_id", "PROVIDER": "provider_id", "--as": None}  # fmt: skip


# --- the register in service -----------------------------------------------------------------
@dataclass
class DbRegister(Register):
    """The providers of a register database in service, net of what referrals hold.

    :meth:`in_service` compares the database's version counters with the ones loaded; when only
    referrals changed (the usual case), the providers' ``committed_hours`` are recomputed from
    the hours held and the suggester rebuilt (milliseconds; the spatial index is kept); when the
    providers register itself changed, everything is read again.

    Parameters
    ----------
    store
        The register database.
    """

    store: Store | None = None
    _mark: tuple | None = None
    _refresh_lock: threading.Lock = field(default_factory=threading.Lock)

    def load(self) -> None:
        """Read the providers in service from the database (the whole study)."""
        assert self.store is not None
        with self._refresh_lock:
            self._load()

    def _load(self) -> None:
        assert self.store is not None
        mark = self.store.mark()
        real = self.path
        self.path = self.store.providers_in_service(settings=self.settings)
        try:
            super().load()  # Study.read takes a register already read
        finally:
            self.path = real
        self._mark = mark

    def refresh(self) -> bool:
        """Bring the free hours up to date with the database; True if anything changed."""
        assert self.store is not None
        with self._refresh_lock:
            mark = self.store.mark()
            if mark == self._mark:
                return False
            study = self.study
            if (
                study is None
                or self._mark is None
                or mark[0] != self._mark[0]  # a provider was added, edited or withdrawn
                or "committed_register" not in study.providers
            ):
                self._load()
                return True
            held = self.store.held_now()
            prov = study.providers.copy()
            h = np.array([held.get(p, 0.0) for p in prov["provider_id"].astype(str)], float)
            prov["held_hours"] = h
            prov["committed_hours"] = np.minimum(
                prov["capacity_hours"].to_numpy(float),
                prov["committed_register"].to_numpy(float) + h,
            )
            # the same study with new free hours: the index (places, reach, services) is kept
            fresh = copy.copy(study)
            fresh.providers = prov
            from gapmap.matching.suggest import Suggester

            suggester = Suggester(fresh)
            with self._lock:
                self.study, self.suggester = fresh, suggester
                self.loaded_at = datetime.now().replace(microsecond=0)
            self._mark = mark
            return True

    def in_service(self):
        """The study, suggester and places in service, refreshed if the database changed."""
        if self.suggester is None:
            self.load()
        else:
            self.refresh()
        return super().in_service()

    def status(self) -> dict:
        """The register in service, as :meth:`Register.status`, marked as from the database."""
        s = super().status()
        s["database"] = True
        return s


# --- named staff ---------------------------------------------------------------------------
class StaffSignIn:
    """Staff sign-in against the register database: each member of staff's own token, and
    a signed, expiring cookie bound to the member of staff and to their current token.

    The cookie is ``expiry.name.mac``, the MAC an HMAC (under a secret made when the server
    starts) of the name, the expiry and the stored hash of their token; every request looks the
    member of staff up again, so a revoked (or replaced) token ends the session at once.
    """

    def __init__(self, store: Store, secret: bytes | None = None):
        self.store = store
        self.secret = secret or os.urandom(32)

    def name_for_token(self, token: str) -> str | None:
        """The member of staff whose (unrevoked) token this is."""
        return self.store.staff_for_token(token) if token else None

    def _mac(self, name: str, expiry: int, key: str) -> str:
        message = f"gapmap-staff:{name}:{expiry}:{key}".encode()
        return hmac.new(self.secret, message, hashlib.sha256).hexdigest()

    def cookie(self, name: str, now: float | None = None) -> str:
        """The sign-in cookie's value for a member of staff.

        Parameters
        ----------
        name
            The member of staff (signed in with their token).
        now
            The time (default: now).
        """
        key = self.store.staff_session_key(name) or ""
        expiry = int((now if now is not None else time.time()) + SESSION_SECONDS)
        encoded = base64.urlsafe_b64encode(name.encode()).decode().rstrip("=")
        return f"{expiry}.{encoded}.{self._mac(name, expiry, key)}"

    def name_for_cookie(self, value: str) -> str | None:
        """The member of staff a cookie signs in, if it is good and their token still is."""
        expiry, _, rest = value.partition(".")
        encoded, _, mac = rest.partition(".")
        if not expiry.isdigit() or int(expiry) < time.time() or not encoded or not mac:
            return None
        try:
            name = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode()
        except (ValueError, UnicodeDecodeError):
            return None
        key = self.store.staff_session_key(name)
        if key is None:
            return None
        good = self._mac(name, int(expiry), key)
        return name if hmac.compare_digest(mac.encode(), good.encode()) else None


def staff_of(request: Request) -> str:
    """The member of staff signed in for this request (set by the guard)."""
    return str(request.scope.get(STAFF_KEY) or "")


# --- the API's shapes ----------------------------------------------------------------------
class ReferralRequest(SuggestRequest):
    """Refer one person to a suggestion: the hours are held at once (*pending*).

    The person's needs are given as for a suggestion (postcode or lat and lon, hours, days,
    services, cover, the two required answers), with their pseudonymous id; the arrangement
    names the provider, and the partner and cover where the suggestion has them. A person in
    the people register keeps their own travel limit when the request gives none.
    """

    person_id: str = Field(
        ..., min_length=1, max_length=64, description="the person's pseudonymous id (no names)",
        examples=["P0042"],
    )  # fmt: skip
    provider_id: str = Field(..., min_length=1, max_length=64, examples=["MP0042"])
    partner_id: str | None = Field(None, max_length=64)
    cover_id: str | None = Field(None, max_length=64)


class AbsenceRequest(BaseModel):
    """A provider away (ill, on holiday) from one day to another, inclusive."""

    model_config = {"populate_by_name": True}

    provider_id: str = Field(..., min_length=1, max_length=64)
    start: date = Field(..., alias="from", description="the first day away (YYYY-MM-DD)")
    end: date = Field(..., alias="to", description="the last day away (YYYY-MM-DD)")
    days: str | list[str] | None = Field(
        None, description="the weekdays away, when not every day ('Mon;Wed' or a list)"
    )
    reason: str = Field("", max_length=200)


# --- helpers ---------------------------------------------------------------------------------
def _plain(v: Any) -> Any:
    """A value JSON can carry (NaN and NaT as null, times as ISO text, numpy as Python)."""
    if v is None:
        return None
    if isinstance(v, float | np.floating):
        return None if math.isnan(float(v)) else float(v)
    if isinstance(v, np.integer):
        return int(v)
    if isinstance(v, np.bool_):
        return bool(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if hasattr(v, "isoformat"):  # pandas Timestamp
        try:
            return v.isoformat()
        except ValueError:
            return None
    try:
        import pandas as pd

        if pd.isna(v):
            return None
    except (TypeError, ValueError):
        pass
    return v.item() if hasattr(v, "item") else v


REFERRAL_COLUMNS = (
    "referral_id", "person_id", "state", "provider_id", "provider_hours", "provider_days",
    "partner_id", "partner_hours", "partner_days", "cover_id", "hours", "days", "services",
    "created_at", "created_by", "changed_at", "changed_by",
)  # fmt: skip


def referral_dicts(records: list[dict]) -> list[dict]:
    """Referrals (:meth:`gapmap.store.Store.referrals`) as the API shows them (no location
    beyond the postcode sector: the person's full postcode stays in the database)."""
    from gapmap.vocab import days_text

    out = []
    for rec in records:
        d = {k: _plain(rec.get(k)) for k in REFERRAL_COLUMNS}
        for k in ("provider_days", "partner_days"):
            d[k] = days_text(int(d[k])) if d[k] else ""
        pc = str(rec.get("postcode") or "")
        d["postcode_sector"] = pc[:-2] if len(pc) >= 5 and " " in pc else ""
        out.append(d)
    return out


def _problems(exc: InputError) -> list[Problem]:
    out = []
    for p in exc.problems:
        column = _FIELD_NAMES.get(p.column, p.column) if p.column else None
        out.append(replace(p, column=column))
    return out


class Referrals:
    """What the page and the API do with referrals, once for both.

    Parameters
    ----------
    register
        The register in service (refreshed after every change).
    """

    def __init__(self, register: DbRegister):
        assert register.store is not None
        self.register = register
        self.store: Store = register.store

    def person_of(self, req: SuggestRequest):
        """The person's needs checked as for a suggestion (:func:`request_from_fields`)."""
        from gapmap.matching.person import request_from_fields

        # only the areas and the postcode directory are read here: no refresh needed
        study = self.register.study or self.register.in_service()[0]
        person, _ = request_from_fields(
            study, postcode=req.postcode, lat=req.lat, lon=req.lon, hours=req.hours,
            days=_as_text(req.days), services=_as_text(req.services),
            max_travel_km=req.max_travel_km, needs_cover=req.needs_cover,
            self_directing=req.self_directing, regulated_care=req.regulated_care,
        )  # fmt: skip
        if not req.self_directing:
            raise InputError(Problem(
                "request", "A person who cannot direct their own care, and has no representative "
                "who can, is not referred to a micro-provider", column="self_directing",
            ))  # fmt: skip
        return person

    def refer(self, req: ReferralRequest, author: str) -> tuple[int, dict]:
        """Record a referral; returns (HTTP status, body): 201 and the referral, 409 and the
        reason with the next suggestion, or 422 and the problems by field.

        Parameters
        ----------
        req
            The person's needs, their pseudonymous id and the arrangement.
        author
            The member of staff signed in.
        """
        from gapmap.store import NoRoom

        try:
            person = self.person_of(req)
        except InputError as exc:
            return 422, {"problems": _problem_list(exc.problems)}
        p = person.iloc[0]
        needs = {
            "person_id": req.person_id.strip(), "x": float(p["x"]), "y": float(p["y"]),
            "postcode": (req.postcode or "").strip().upper(),
            "services": int(p["service_mask"]),
            "max_travel_km": None if req.max_travel_km in (None, "") else
            float(p["max_travel_km"]),
            "needs_cover": bool(req.needs_cover), "self_directing": True,
            "regulated_care": bool(req.regulated_care),
        }  # fmt: skip
        try:
            made = self.store.refer_record(
                author=author, person=needs, provider_id=req.provider_id.strip(),
                partner_id=(req.partner_id or "").strip() or None,
                cover_id=(req.cover_id or "").strip() or None,
                hours=float(p["hours"]), days=int(p["day_mask"]),
            )  # fmt: skip
        except NoRoom as exc:
            nxt = self.next_suggestion(self._as_referred(needs, person))
            return 409, {
                "problems": [{"field": "provider_id", "message": exc.message}],
                "message": exc.message,
                "next_suggestion": nxt,
            }
        except InputError as exc:
            return 422, {"problems": _problem_list(_problems(exc))}
        # the next suggestion (here or in any other process) refreshes the free hours first;
        # the answer is the referral as made (not read back: one transaction fewer)
        return 201, referral_dicts([made])[0]

    def _as_referred(self, needs: dict, person):
        """The person as the referral read them: what the request left out (a travel limit)
        taken from the people register when the person is in it, as the store does."""
        from gapmap.matching.person import person_request

        try:
            p = self.store.person(needs)
        except InputError:
            return person
        out = person_request(
            x=p["x"], y=p["y"], hours=p["hours"], days=p["day_mask"],
            services=p["service_mask"], max_travel_km=p["max_travel_km"],
            needs_cover=p["needs_cover"], self_directing=p["self_directing"],
            regulated_care=p["regulated_care"],
        )  # fmt: skip
        out["area_code"] = person["area_code"].to_numpy()
        return out

    def next_suggestion(self, person) -> dict | None:
        """The first suggestion for the person on the refreshed register (None: nothing fits)."""
        from dataclasses import asdict

        _, suggester, _ = self.register.in_service()
        result = suggester.suggest(person, top=1, with_changes=False)
        return asdict(result.suggestions[0]) if result.suggestions else None

    def one(self, referral_id: int) -> dict:
        """One referral as the API shows it (``{}`` when there is none)."""
        found = self.store.referral(referral_id)
        if found is None:
            return {}
        return referral_dicts([found])[0]

    def change(self, referral_id: int, state: str, author: str) -> tuple[int, dict]:
        """Move a referral on; (200, the referral), (404 | 409, problems).

        Parameters
        ----------
        referral_id
            The referral.
        state
            ``confirmed``, ``ended`` or ``released``.
        author
            The member of staff signed in.
        """
        from gapmap.store import StoreError

        try:
            self.store.set_state(referral_id, state, author=author)
        except StoreError as exc:
            missing = any("there is no referral" in p.message for p in exc.problems)
            return (404 if missing else 409), {"problems": _problem_list(_problems(exc))}
        return 200, self.one(referral_id)


def _problem_list(problems: list[Problem]) -> list[dict]:
    return [
        {"field": p.column, "message": p.message + (f" (found {p.value!r})" if p.value else "")}
        for p in problems
    ]


class ReferralOut(BaseModel):
    """A referral as the API shows it."""

    referral_id: int
    person_id: str
    state: str = Field(..., description="pending, confirmed, ended or released")
    provider_id: str
    provider_hours: float
    provider_days: str
    partner_id: str | None
    partner_hours: float | None
    partner_days: str
    cover_id: str | None
    hours: float
    days: str
    services: str
    postcode_sector: str
    created_at: str
    created_by: str
    changed_at: str | None
    changed_by: str | None


def referral_router(referrals: Referrals) -> APIRouter:
    """The JSON API of referrals and absences (``create_app`` includes it with ``--db``)."""
    from starlette.concurrency import run_in_threadpool

    router = APIRouter()
    store = referrals.store

    @router.post(
        "/api/referrals",
        status_code=201,
        response_model=ReferralOut,
        summary="Refer a person to a suggestion: the hours are held at once (pending)",
        responses={
            409: {"description": "the hours no longer fit: the reason and the next suggestion"},
            422: {"description": "what is wrong, by field"},
        },
    )
    async def api_refer(req: ReferralRequest, request: Request):
        status, body = await run_in_threadpool(referrals.refer, req, staff_of(request))
        return JSONResponse(body, status_code=status)

    @router.get("/api/referrals", summary="Referrals, newest first (optionally of one state)")
    def api_referrals(state: Literal["pending", "confirmed", "ended", "released"] | None = None):
        store.release_expired()
        frame = store.referrals(states=[state] if state else None)
        return referral_dicts(frame.iloc[::-1].to_dict("records"))

    for action, state in (("confirm", "confirmed"), ("end", "ended"), ("release", "released")):

        def make(state: str):
            def api_change(referral_id: int, request: Request):
                status, body = referrals.change(referral_id, state, staff_of(request))
                return JSONResponse(body, status_code=status)

            return api_change

        router.add_api_route(
            f"/api/referrals/{{referral_id}}/{action}", make(state), methods=["POST"],
            summary=f"Mark a referral {state}", response_model=ReferralOut,
        )  # fmt: skip

    @router.post("/api/absences", status_code=201, summary="Record a provider's absence")
    def api_absence(req: AbsenceRequest, request: Request):
        from gapmap.store import StoreError
        from gapmap.vocab import parse_days

        days = None
        text = _as_text(req.days)
        if text.strip():
            try:
                days = parse_days(text)
            except ValueError as exc:
                return _problems_json([Problem("request", str(exc), column="days")])
        try:
            aid = store.add_absence(
                author=staff_of(request), provider_id=req.provider_id.strip(), start=req.start,
                end=req.end, days=days, reason=req.reason,
            )  # fmt: skip
        except StoreError as exc:
            fixed = []
            for p in _problems(exc):
                col = {"FROM": "from", "TO": "to", "--from": "from", "--to": "to",
                       "--days": "days", "--provider": "provider_id"}.get(p.column or "",
                                                                            p.column)  # fmt: skip
                fixed.append(replace(p, column=col))
            return _problems_json(fixed)
        rows = _absence_dicts(store.absences())
        return JSONResponse(
            next((r for r in rows if r["absence_id"] == aid), {"absence_id": aid}),
            status_code=201,
        )

    @router.get("/api/absences", summary="Providers' absences")
    def api_absences():
        return _absence_dicts(store.absences())

    return router


def _absence_dicts(frame) -> list[dict]:
    from gapmap.vocab import days_text

    out = []
    for rec in frame.to_dict("records"):
        d = {k: _plain(v) for k, v in rec.items()}
        if "days" in d and d["days"] is not None:
            d["days"] = days_text(int(d["days"]))
        out.append(d)
    return out


def refer_from_page(referrals: Referrals, request: Request):
    """The page's "Refer" button: the referral is recorded and the page shows the search again
    on the refreshed register, with what happened (or, when the hours were taken, why, and the
    next suggestion as the first of the list).

    Parameters
    ----------
    referrals
        What the page and the API do with referrals.
    request
        The page's request (the member of staff signed in).
    """
    from pydantic import ValidationError
    from starlette.concurrency import run_in_threadpool

    from gapmap.serve.forms import _validation_problems

    async def referred(form, values) -> tuple[int, dict | None, list[Problem]]:
        fields = {k: str(form.get(k, "")).strip()[:64] for k in
                  ("person_id", "provider_id", "partner_id", "cover_id")}  # fmt: skip
        values["form"]["person_id"] = fields["person_id"]
        try:
            given: dict[str, Any] = {
                **values["request"],
                **{k: v or None for k, v in fields.items()},
            }
            req = ReferralRequest(**given)
        except ValidationError as exc:
            problems = _validation_problems(exc.errors())
            words = "Enter the person's reference (their pseudonymous id)"
            return 422, None, [replace(p, message=words) if p.column == "person_id" else p
                               for p in problems]  # fmt: skip
        status, body = await run_in_threadpool(referrals.refer, req, staff_of(request))
        if status == 201:
            return 200, body, []
        problems = [Problem("referral", p["message"], column=p["field"]) for p in
                    body["problems"]]  # fmt: skip
        if status == 409:
            nxt = body.get("next_suggestion")
            problems[0] = replace(problems[0], column=None, message=problems[0].message + (
                f" The next suggestion is {nxt['name']} ({nxt['provider_id']}), listed first "
                "below." if nxt else " No other provider in reach has room now."
            ))  # fmt: skip
        return status, None, problems

    return referred
