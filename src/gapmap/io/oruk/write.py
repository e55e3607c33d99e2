"""A providers register written as an ORUK v3.0 feed (:func:`export_feed`).

Each provider becomes one service (:func:`provider_service`) with stable UUIDs, its location
at the postcode's centroid, its schedule, its service area as a circle and its contacts; what
ORUK has no place for goes to a side table (:func:`extra_table`). No person's data is ever in
a feed.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

import numpy as np
import pandas as pd

from gapmap.io.oruk.standard import (
    _BYDAY,
    _PROVIDER_ID_TYPE,
    _TERM_NAMES,
    NAMESPACE,
    TAXONOMY,
)
from gapmap.vocab import SERVICE_WORDS, SERVICES, days_words, parse_days

__all__ = ["export_feed", "extra_table", "provider_service", "taxonomy"]


# --- export ---------------------------------------------------------------------------------
def _id(kind: str, key: str) -> str:
    return str(uuid.uuid5(NAMESPACE, f"{kind}:{key}"))


def _term(code: str) -> dict:
    tid = _id("term", code)
    return {
        "id": tid,
        "name": _TERM_NAMES[code],
        "description": SERVICE_WORDS[code],
        "taxonomy": f"{TAXONOMY['name']} ({TAXONOMY['uri']})",
        "taxonomy_id": _id("taxonomy", TAXONOMY["uri"]),
        "term_uri": f"urn:gapmap:service:{code}",
        "term": code,
    }


def taxonomy() -> dict:
    """The gapmap taxonomy of services as an ORUK v3.0 taxonomy with its terms."""
    return {
        "id": _id("taxonomy", TAXONOMY["uri"]),
        "name": TAXONOMY["name"],
        "description": TAXONOMY["description"],
        "uri": TAXONOMY["uri"],
        "version": TAXONOMY["version"],
        "taxonomy_terms": [_term(s) for s in SERVICES],
    }


def _text(value: Any) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return str(value).strip()


def _website(text: str) -> str:
    return text if re.match(r"^https?://", text, re.I) else f"https://{text}"


def _circle(x: float, y: float, km: float) -> str:
    """A GeoJSON polygon (WGS84) of a circle of ``km`` around a grid point."""
    import shapely

    from gapmap.publish.geo import to_latlon

    ring = np.asarray(shapely.Point(x, y).buffer(km * 1000.0, quad_segs=8).exterior.coords)
    lat, lon = to_latlon(ring[:, 0], ring[:, 1])
    coords = [[round(float(a), 5), round(float(b), 5)] for a, b in zip(lon, lat)]
    return json.dumps({"type": "Polygon", "coordinates": [coords]}, separators=(",", ":"))


def provider_service(rec: pd.Series | dict) -> dict:
    """One provider of a register as an ORUK v3.0 service with its details.

    Parameters
    ----------
    rec
        A row of :func:`gapmap.io.registers.read_providers`.

    Returns
    -------
    dict
        The service (valid against :func:`schema`).
    """
    from gapmap.publish.geo import to_latlon

    get: Any = rec.get
    pid = _text(get("provider_id"))
    name = _text(get("name"))
    sid, oid, lid = _id("service", pid), _id("organization", pid), _id("location", pid)
    phone, email, web = _text(get("phone")), _text(get("email")), _text(get("website"))
    postcode = _text(get("postcode"))
    services = [s for s in _text(get("services")).split(";") if s]
    day_mask = int(get("day_mask")) if get("day_mask") is not None else parse_days(get("days"))
    km = float(get("max_travel_km"))
    x, y = float(get("x")), float(get("y"))
    lat, lon = to_latlon([x], [y])
    where = postcode or "its base"
    service: dict[str, Any] = {
        "id": sid,
        "organization_id": oid,
        "name": name,
        "description": f"{name}: a micro-provider of "
        + ", ".join(_TERM_NAMES[s].lower() for s in services)
        + f", visiting people at home within {km:g} km of {where}, {days_words(day_mask)}.",
        "status": "active",
    }
    if web:
        service["url"] = _website(web)
    if email:
        service["email"] = email
    if _text(get("verified_on")):
        service["assured_date"] = _text(get("verified_on"))
    if _text(get("last_updated")):
        service["last_modified"] = _text(get("last_updated")) + "T00:00:00Z"
    service["schedules"] = [
        {
            "id": _id("schedule", pid),
            "service_id": sid,
            "freq": "WEEKLY",
            "interval": 1,
            "byday": ",".join(_BYDAY[i] for i in range(7) if day_mask >> i & 1),
            "description": f"Works {days_words(day_mask)}.",
        }
    ]
    area = f"Homes within {km:g} km of {where}"
    service["service_areas"] = [
        {
            "id": _id("service_area", pid),
            "service_id": sid,
            "name": area,
            "service_area": area,
            "extent": _circle(x, y, km),
            "extent_type": "geojson",
        }
    ]
    location: dict[str, Any] = {
        "id": lid,
        "location_type": "physical",
        "name": f"{name} (base)",
        "description": "Where the provider is based (its postcode's centroid when located by "
        "postcode); it visits people at home.",
        "latitude": float(lat[0]),
        "longitude": float(lon[0]),
    }
    if postcode:
        location["addresses"] = [
            {
                "id": _id("address", pid),
                "location_id": lid,
                "address_1": "Not published: a home-visiting service (postcode only)",
                "city": "",
                "state_province": "",
                "postal_code": postcode,
                "country": "GB",
                "address_type": "physical",
            }
        ]
    service["service_at_locations"] = [
        {"id": _id("service_at_location", pid), "service_id": sid, "location_id": lid,
         "location": location}
    ]  # fmt: skip
    langs = [t for t in _text(get("languages")).split(";") if t]
    if langs:
        service["languages"] = [
            {"id": _id("language", f"{pid}:{t.lower()}"), "service_id": sid, "name": t}
            for t in langs
        ]
    organization: dict[str, Any] = {
        "id": oid,
        "name": name,
        "description": f"{name}, a micro-provider of care and support.",
        "organization_identifiers": [
            {
                "id": _id("organization_identifier", pid),
                "organization_id": oid,
                "identifier_scheme": "gapmap",
                "identifier_type": _PROVIDER_ID_TYPE,
                "identifier": pid,
            }
        ],
    }
    if email:
        organization["email"] = email
    if web:
        organization["website"] = _website(web)
    service["organization"] = organization
    price = get("price_per_hour")
    if price is not None and not (isinstance(price, float) and math.isnan(price)):
        service["cost_options"] = [
            {
                "id": _id("cost_option", pid),
                "service_id": sid,
                "option": "Standard rate",
                "amount": float(price),
                "amount_description": "£ an hour",
            }
        ]
    if phone or email:
        contact: dict[str, Any] = {"id": _id("contact", pid), "service_id": sid, "name": name}
        if email:
            contact["email"] = email
        if phone:
            contact["phones"] = [{"id": _id("phone", pid), "number": phone}]
        service["contacts"] = [contact]
    service["attributes"] = [
        {
            "id": _id("attribute", f"{pid}:{s}"),
            "link_id": sid,
            "link_type": "service_type",
            "link_entity": "service",
            "taxonomy_term_id": _term(s)["id"],
            "taxonomy_term": _term(s),
        }
        for s in services
    ]
    return service


def extra_table(providers: pd.DataFrame) -> pd.DataFrame:
    """The side table: what ORUK has no place for, by service id (internal to the council)."""
    out = pd.DataFrame(
        {
            "service_id": [_id("service", str(p)) for p in providers["provider_id"]],
            "provider_id": providers["provider_id"].astype(str).to_numpy(),
            "capacity_hours": providers["capacity_hours"].to_numpy(float),
            "committed_hours": providers["committed_hours"].to_numpy(float),
            "max_travel_km": providers["max_travel_km"].to_numpy(float),
            "cover": providers["cover"].to_numpy(bool),
            "cqc_registered": providers["cqc_registered"].to_numpy(bool),
        }
    )
    for c in ("dbs_checked_on", "insurance_until"):
        out[c] = providers[c].astype(str).to_numpy() if c in providers else ""
    return out


def export_feed(providers: pd.DataFrame) -> dict:
    """The providers register as one ORUK v3.0 ``/services`` page with every service's details.

    Parameters
    ----------
    providers
        A register from :func:`gapmap.io.registers.read_providers`.

    Returns
    -------
    dict
        ``{"total_items", "total_pages", "page_number", "size", "first_page", "last_page",
        "empty", "contents"}``.
    """
    contents = [provider_service(rec) for rec in providers.to_dict("records")]
    n = len(contents)
    return {
        "total_items": n,
        "total_pages": 1,
        "page_number": 1,
        "size": n,
        "first_page": True,
        "last_page": True,
        "empty": n == 0,
        "contents": contents,
    }
