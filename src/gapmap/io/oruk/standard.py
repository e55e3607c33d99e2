"""ORUK v3.0 as gapmap uses it: the JSON Schema, the taxonomy of services, the defaults.

:func:`schema` is the JSON Schema written from the published ORUK v3.0 field definitions (its
``$comment`` names the source and licence) and :func:`validate` checks a page or a service
against it, in words; :data:`TAXONOMY` and :data:`TERM_WORDS` map gapmap's services to ORUK
taxonomy terms and back; :data:`DEFAULTS` fill what ORUK has no place for.
"""

from __future__ import annotations

import json
import uuid
from functools import cache
from importlib.resources import files
from typing import Any

from gapmap.io._tables import MAX_COLUMNS
from gapmap.vocab import SERVICES

__all__ = ["DEFAULTS", "EXTRA_COLUMNS", "TAXONOMY", "TERM_WORDS", "VERSION", "schema", "validate"]


#: The ORUK version written and read.
VERSION = "3.0"
#: Most items of one kind (schedules, locations, contacts ...) read from one service: the
#: registers' column limit; a directory entry has a handful.
MAX_ITEMS = MAX_COLUMNS
#: Namespace of the stable UUIDs gapmap gives a provider's service, organisation, schedule ...
NAMESPACE = uuid.UUID("5d2f3c2e-6d0b-4f53-9a57-0f3c1b1e7a01")
#: The gapmap taxonomy of services (its terms are the five services of SPEC.md).
TAXONOMY = {
    "name": "gapmap micro-provider services",
    "uri": "urn:gapmap:taxonomy:services",
    "version": "1",
    "description": "The five kinds of support of gapmap's registers (SPEC.md vocabularies).",
}
_TERM_NAMES = {
    "personal_care": "Personal care",
    "domestic": "Domestic help",
    "social": "Companionship",
    "community": "Community activities",
    "respite": "Respite for carers",
}
#: Words of directory taxonomies read as each service (lower case; README lists them).
TERM_WORDS: dict[str, str] = {
    **{s: s for s in SERVICES},
    **{f"urn:gapmap:service:{s}": s for s in SERVICES},
    **{n.lower(): s for s, n in _TERM_NAMES.items()},
    "personal care": "personal_care",
    "home care": "personal_care",
    "homecare": "personal_care",
    "domiciliary care": "personal_care",
    "domestic help": "domestic",
    "domestic support": "domestic",
    "home help": "domestic",
    "cleaning": "domestic",
    "housework": "domestic",
    "shopping": "domestic",
    "laundry": "domestic",
    "meals": "domestic",
    "companionship": "social",
    "befriending": "social",
    "sitting service": "social",
    "sitting": "social",
    "welfare checks": "social",
    "community activities": "community",
    "day activities": "community",
    "social activities": "community",
    "activities": "community",
    "outings": "community",
    "respite": "respite",
    "respite care": "respite",
    "carers breaks": "respite",
    "carers' breaks": "respite",
    "carer breaks": "respite",
    "short breaks": "respite",
    "breaks for carers": "respite",
}
#: Values used when neither the feed nor the side table gives them (README).
DEFAULTS = {
    "capacity_hours": "27",  # Somerset's average hours a week (Settings.hours_per_provider)
    "committed_hours": "0",
    "cover": "true",
    "cqc_registered": "false",
    "max_travel_km": "10",
}
#: Columns of the side table (``service_id`` required).
EXTRA_COLUMNS = (
    "service_id",
    "provider_id",
    "capacity_hours",
    "committed_hours",
    "max_travel_km",
    "cover",
    "cqc_registered",
    "dbs_checked_on",
    "insurance_until",
)
_BYDAY = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
_PROVIDER_ID_TYPE = "gapmap provider_id"


# --- the schema -----------------------------------------------------------------------------
@cache
def schema() -> dict:
    """The JSON Schema of an ORUK v3.0 ``/services`` page or service (``_data/oruk``)."""
    text = files("gapmap").joinpath("_data/oruk/oruk_v3_service.schema.json").read_text("utf-8")
    return json.loads(text)


def _validator(kind: str, formats: bool):
    import jsonschema

    full = schema()
    sub = {"$schema": full["$schema"], "$ref": f"#/$defs/{kind}", "$defs": full["$defs"]}
    checker = jsonschema.FormatChecker() if formats else None
    return jsonschema.Draft202012Validator(sub, format_checker=checker)


def validate(document: Any, *, kind: str = "page", formats: bool = True) -> list[str]:
    """Every way ``document`` breaks the ORUK v3.0 schema, in words (empty: valid).

    Parameters
    ----------
    document
        A ``/services`` page (``kind="page"``) or one service (``kind="service"``).
    kind
        ``page`` or ``service``.
    formats
        Also check formats (``uuid`` ids, e-mail addresses, dates and times).

    Returns
    -------
    list of str
        ``"contents/0/schedules/0/freq: 'DAILY' is not one of ['WEEKLY', 'MONTHLY']"``...
    """
    errors = sorted(_validator(kind, formats).iter_errors(document), key=lambda e: list(e.path))
    return [f"{'/'.join(map(str, e.path)) or '(top)'}: {e.message}" for e in errors]
