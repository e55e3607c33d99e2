"""The JSON API's documented shapes (pydantic): what ``POST /api/suggest`` takes and answers,
and how every problem of a request is answered (``{"problems": [{"field", "message"}]}``).
"""

from __future__ import annotations

from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field, StrictFloat, StrictInt

from gapmap.errors import Problem
from gapmap.io.registers import PERSON_DEFAULTS
from gapmap.matching.suggestion import Suggestion
from gapmap.vocab import SERVICES

__all__ = [
    "Place", "ProblemOut", "ProblemsResponse", "ProviderPoint", "SuggestRequest",
    "SuggestResponse",
]  # fmt: skip


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


def _problem_response(status: int, message: str, field: str | None = None) -> JSONResponse:
    return JSONResponse({"problems": [{"field": field, "message": message}]}, status_code=status)


def _as_text(value: str | list[str] | None) -> str:
    if value is None:
        return ""
    return ";".join(value) if isinstance(value, list) else value
