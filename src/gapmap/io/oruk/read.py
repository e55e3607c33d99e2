"""An ORUK v3.0 feed read as a providers register (:func:`read_feed`), with every problem at once.

A feed saved as JSON (a page, one service, or a folder of pages) is read within the registers'
limits (size, items, depth), each service mapped to the register's columns, and joined by
service id to the side table of what ORUK has no place for (``--directory-extra``).
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pandas as pd

from gapmap.errors import InputError, Problem
from gapmap.io._tables import MAX_ROWS, MAX_TABLE_BYTES, ROW, read_table
from gapmap.io.oruk.standard import (
    _BYDAY,
    _PROVIDER_ID_TYPE,
    DEFAULTS,
    MAX_ITEMS,
    TERM_WORDS,
    _validator,
    validate,
)
from gapmap.io.provider_checks import parse_date
from gapmap.vocab import DAYS, SERVICES

__all__ = ["is_feed", "read_feed"]


# --- import ---------------------------------------------------------------------------------
def is_feed(path: str | Path) -> bool:
    """Whether ``path`` is an ORUK feed: a folder, or a ``.json`` file that is not GeoJSON."""
    path = Path(path)
    if path.is_dir():
        return True
    if path.suffix.lower() != ".json" or not path.is_file():
        return False
    with path.open("rb") as f:
        head = f.read(65536)
    return not re.search(rb'"type"\s*:\s*"(FeatureCollection|Feature)"', head)


def _pages(path: Path) -> list[Path]:
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file, "providers file not found"))
    if path.is_dir():
        pages = sorted(p for p in path.iterdir() if p.suffix.lower() == ".json" and p.is_file())
        if not pages:
            raise InputError(
                Problem(file, "the folder has no .json pages of an Open Referral UK feed")
            )
    else:
        pages = [path]
    total = 0
    for p in pages:
        size = p.stat().st_size
        total += size
        if size > MAX_TABLE_BYTES or total > MAX_TABLE_BYTES:
            raise InputError(
                Problem(
                    str(p),
                    f"the feed is {total / 2**20:,.0f} MB so far; gapmap reads feeds of up to "
                    f"{MAX_TABLE_BYTES / 2**20:,.0f} MB. Is it the right file?",
                )
            )
    return pages


def _load(page: Path) -> Any:
    file = str(page)
    raw = page.read_bytes()
    if not raw.strip():
        raise InputError(Problem(file, "the feed file is empty"))
    try:
        return json.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise InputError(Problem(file, "is not text in UTF-8, so not a JSON feed")) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            Problem(
                file,
                f"is not JSON ({exc.msg} at line {exc.lineno}, column {exc.colno}); an Open "
                "Referral UK feed is saved as JSON from the directory's /services",
            )
        ) from None
    except RecursionError:
        raise InputError(Problem(file, "the JSON is nested too deeply to be a feed")) from None


def _services_of(doc: Any, file: str) -> list:
    if isinstance(doc, dict) and "contents" in doc:
        envelope = {k: v for k, v in doc.items() if k != "contents"}
        wrong = validate({**envelope, "contents": []}, kind="page", formats=False)
        if not isinstance(doc["contents"], list):
            wrong.insert(0, "contents: expected a list of services")
        if wrong:
            raise InputError(
                [Problem(file, f"not an Open Referral UK v3 /services page: {w}") for w in wrong]
            )
        return doc["contents"]
    if isinstance(doc, dict) and "id" in doc and "name" in doc:
        return [doc]
    if isinstance(doc, list):
        return doc
    if isinstance(doc, dict) and doc.get("type") in ("FeatureCollection", "Feature"):
        raise InputError(Problem(file, "is GeoJSON, not an Open Referral UK feed"))
    keys = ", ".join(list(doc)[:8]) if isinstance(doc, dict) else type(doc).__name__
    raise InputError(
        Problem(
            file,
            "is JSON but not an Open Referral UK v3 feed: expected a /services page "
            '({"contents": [...], "total_items": ...}) or one service (with id, name and '
            f"status); found {keys}",
        )
    )


def _too_big(node: Any, where: str, depth: int = 0) -> str | None:
    """The first list longer than :data:`MAX_ITEMS` within a service, named by its path."""
    if depth > 12:
        return None
    if isinstance(node, list):
        if len(node) > MAX_ITEMS:
            return f"{len(node):,} {where.rsplit('/', 1)[-1] or 'items'}"
        for i, v in enumerate(node):
            found = _too_big(v, f"{where}/{i}", depth + 1)
            if found:
                return found
    elif isinstance(node, dict):
        for k, v in node.items():
            if isinstance(v, (list, dict)):
                found = _too_big(v, f"{where}/{k}" if where else str(k), depth + 1)
                if found:
                    return found
    return None


def _items(node: Any, key: str) -> list:
    value = node.get(key) if isinstance(node, dict) else None
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _locations(service: dict) -> list[dict]:
    out = []
    for sal in _items(service, "service_at_locations"):
        loc = sal.get("location")
        if isinstance(loc, dict):
            out.append(loc)
    return out


def _terms(service: dict) -> list[str]:
    """Every taxonomy word of a service: term, name, term_uri and code of each term."""
    found: list[str] = []
    nodes = [a.get("taxonomy_term") for a in _items(service, "attributes")]
    nodes += [t.get("taxonomy") for t in _items(service, "service_taxonomys")]  # ORUK v1
    nodes += _items(service, "taxonomy_terms")
    for t in nodes:
        if isinstance(t, dict):
            for k in ("term", "code", "name", "term_uri"):
                v = t.get(k)
                if isinstance(v, str) and v.strip() and v.strip() not in found:
                    found.append(v.strip())
    return found


def _day_mask(service: dict) -> tuple[int, list[str]]:
    schedules = _items(service, "schedules")
    for sal in _items(service, "service_at_locations"):
        schedules += _items(sal, "schedules")
    mask, unknown = 0, []
    for s in schedules:
        freq = str(s.get("freq") or "").upper()
        byday = s.get("byday")
        if isinstance(byday, str) and byday.strip():
            for tok in byday.split(","):
                code = re.sub(r"^[+-]?\d+", "", tok.strip().upper())
                if code in _BYDAY:
                    mask |= 1 << _BYDAY.index(code)
                else:
                    unknown.append(tok.strip())
        elif freq == "DAILY":
            mask |= (1 << 7) - 1
    return mask, unknown


def _first_text(*values: Any) -> str:
    for v in values:
        if isinstance(v, (str, int, float)) and not isinstance(v, bool) and str(v).strip():
            return str(v).strip()
    return ""


def _contacts(service: dict) -> tuple[str, str, str]:
    org: dict = service["organization"] if isinstance(service.get("organization"), dict) else {}
    phones: list[dict] = []
    emails: list[Any] = []
    for c in _items(service, "contacts"):
        phones += _items(c, "phones")
        emails.append(c.get("email"))
    phones += _items(service, "phones")
    for loc in _locations(service):
        phones += _items(loc, "phones")
    phones += _items(org, "phones")
    phone = _first_text(*(p.get("number") for p in phones))
    email = _first_text(service.get("email"), *emails, org.get("email"))
    website = _first_text(service.get("url"), org.get("website"))
    return phone, email, website


def _price(service: dict) -> str:
    for c in _items(service, "cost_options"):
        words = " ".join(str(c.get(k) or "") for k in ("amount_description", "option")).lower()
        amount = c.get("amount")
        if isinstance(amount, (int, float)) and not isinstance(amount, bool) and "hour" in words:
            return f"{float(amount):g}"
    return ""


def _gapmap_id(service: dict) -> str:
    org = service.get("organization")
    for ident in _items(org, "organization_identifiers"):
        if ident.get("identifier_type") == _PROVIDER_ID_TYPE:
            return _first_text(ident.get("identifier"))
    return ""


def _travel_km(service: dict) -> str:
    for area in _items(service, "service_areas"):
        words = " ".join(str(area.get(k) or "") for k in ("name", "service_area"))
        m = re.search(r"within\s+(\d+(?:\.\d+)?)\s*km", words, re.I)
        if m:
            return m.group(1)
    return ""


def _date_part(value: Any) -> str:
    text = _first_text(value)
    return text[:10] if re.match(r"^\d{4}-\d\d-\d\d", text) else text


def _read_extra(path: str | Path, feed_ids: dict[str, str]) -> tuple[dict[str, dict], list]:
    """The side table by service id, with its problems (file, row, column)."""
    from gapmap.io.cells import (
        _boolean,
        parse_booked_hours,
        parse_travel_km,
        parse_weekly_hours,
    )

    file = str(path)
    frame = read_table(path, what="directory side table")
    problems: list[Problem] = []
    if "service_id" not in frame.columns:
        raise InputError(
            Problem(
                file,
                "a required column is missing (columns: "
                + ", ".join(c for c in frame.columns if c != ROW)
                + ")",
                row=int(frame.attrs.get("header_row", 1)),
                column="service_id",
            )
        )
    parsers = {
        "capacity_hours": parse_weekly_hours,
        "committed_hours": parse_booked_hours,
        "max_travel_km": parse_travel_km,
        "cover": _boolean,
        "cqc_registered": _boolean,
        "dbs_checked_on": lambda c: parse_date(c, past=True),
        "insurance_until": parse_date,
    }
    out: dict[str, dict] = {}
    for rec in frame.to_dict("records"):
        row = int(rec[ROW])
        sid = str(rec.get("service_id", "")).strip()
        if not sid:
            problems.append(Problem(file, "a value is required", row=row, column="service_id"))
            continue
        if sid in out:
            problems.append(
                Problem(file, "the service id appears more than once", row=row,
                        column="service_id", value=sid)
            )  # fmt: skip
            continue
        if sid not in feed_ids:
            problems.append(
                Problem(file, "no service of the feed has this id", row=row,
                        column="service_id", value=sid)
            )  # fmt: skip
            continue
        values: dict[str, str] = {}
        for col, parse in parsers.items():
            cell = str(rec.get(col, "") or "").strip()
            if not cell:
                continue
            try:
                parsed = parse(cell)
            except ValueError as exc:
                problems.append(Problem(file, str(exc), row=row, column=col, value=cell))
                continue
            values[col] = str(parsed).lower() if isinstance(parsed, bool) else str(parsed)
        pid = str(rec.get("provider_id", "") or "").strip()
        if pid:
            values["provider_id"] = pid
        out[sid] = values
    return out, problems


def read_feed(path: str | Path, *, extra: str | Path | None = None) -> pd.DataFrame:
    """Read an ORUK v3.0 feed as the text columns of a providers register.

    Parameters
    ----------
    path
        A ``/services`` page with full service details saved as JSON, one service, or a folder
        of such pages (read in name order).
    extra
        The side table (CSV or XLSX): ``service_id`` and any of :data:`EXTRA_COLUMNS`. When it
        is given, only the services it lists are read (a council's feed holds every community
        service; the side table names the micro-providers).

    Returns
    -------
    DataFrame
        Text cells in the register's columns (for :func:`gapmap.io.registers.read_providers`),
        the service's position in the feed as its row; ``.attrs["notes"]`` says what was left
        out or defaulted.

    Raises
    ------
    InputError
        The feed is not JSON, not ORUK v3, too large (:data:`MAX_TABLE_BYTES`, a service with
        more than :data:`MAX_ITEMS` of anything); or every service it could not use, each named
        by page, position and id with the reason (no location, no schedule, unknown taxonomy
        term, bad id, not following the schema); or the side table's problems.
    """
    pages = _pages(Path(path))
    services: list[tuple[str, int, Any]] = []
    for page in pages:
        for item in _services_of(_load(page), str(page)):
            services.append((str(page), len(services) + 1, item))
            if len(services) > MAX_ROWS:
                raise InputError(
                    Problem(str(page), f"the feed has more than {MAX_ROWS:,} services, the most "
                            "gapmap reads (is it the right file?)")
                )  # fmt: skip
    for file, n, item in services:
        big = _too_big(item, "")
        if big:
            sid = item.get("id") if isinstance(item, dict) else None
            raise InputError(
                Problem(
                    file,
                    f"service {sid!r} has {big}; gapmap reads up to {MAX_ITEMS} of each kind "
                    "in one service (is it the right file?)",
                    row=n,
                )
            )
    problems: list[Problem] = []
    ids: dict[str, str] = {}
    for file, _n, item in services:
        sid = item.get("id") if isinstance(item, dict) else None
        if isinstance(sid, (str, int)) and not isinstance(sid, bool) and str(sid).strip():
            ids.setdefault(str(sid).strip(), file)
    side: dict[str, dict] | None = None
    if extra is not None:
        side, side_problems = _read_extra(extra, ids)
        problems += side_problems
    service_validator = _validator("service", False)
    rows: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    left_out = defaulted = 0
    for file, n, item in services:

        def bad(message: str, column: str, value: Any = None, file=file, n=n) -> None:
            shown = None if value is None else str(value)
            problems.append(Problem(file, message, row=n, column=column, value=shown))

        if not isinstance(item, dict):
            bad(f"not a service: a {type(item).__name__} where an object is needed", "contents")
            continue
        raw_id = item.get("id")
        sid = str(raw_id).strip() if isinstance(raw_id, (str, int)) else ""
        label = f"service {sid!r}" if sid else f"service {n} (no id)"
        if side is not None and sid and sid not in side:
            left_out += 1
            continue
        if not sid or isinstance(raw_id, bool) or len(sid) > 200:
            bad(f"{label}: bad id: a service needs a text id of at most 200 characters", "id",
                raw_id)  # fmt: skip
            continue
        if sid in seen:
            bad(f"{label}: bad id: the id appears more than once (first at row {seen[sid]})",
                "id", sid)  # fmt: skip
            continue
        seen[sid] = n
        wrong = sorted(service_validator.iter_errors(item), key=lambda e: list(e.path))
        if wrong:
            for e in wrong[:3]:
                bad(f"{label}: does not follow the ORUK v3 schema: {e.message}",
                    "/".join(map(str, e.path)) or "(service)")  # fmt: skip
            continue
        if item.get("status") != "active":
            bad(f"{label}: the status is {item.get('status')!r}; only active services are read",
                "status")  # fmt: skip
            continue
        reasons = 0
        lat = lon = postcode = ""
        for loc in _locations(item):
            la, lo = loc.get("latitude"), loc.get("longitude")
            pcs = [a.get("postal_code") for a in _items(loc, "addresses")]
            pc = _first_text(*pcs)
            if isinstance(la, (int, float)) and isinstance(lo, (int, float)):
                lat, lon, postcode = repr(float(la)), repr(float(lo)), pc
                break
            if pc and not postcode:
                postcode = pc
        if not (lat or postcode):
            bad(f"{label}: no location: no service_at_locations with a location that has "
                "latitude and longitude or an address postcode",
                "service_at_locations")  # fmt: skip
            reasons += 1
        mask, unknown_days = _day_mask(item)
        if unknown_days:
            bad(f"{label}: unknown day in a schedule's byday (expected MO, TU, WE, TH, FR, SA, "
                "SU)", "schedules", ",".join(unknown_days))  # fmt: skip
            reasons += 1
        elif mask == 0:
            bad(f"{label}: no schedule: no schedule says the days worked (byday)", "schedules")
            reasons += 1
        words = _terms(item)
        codes = {TERM_WORDS[w.lower()] for w in words if w.lower() in TERM_WORDS}
        if not codes:
            bad(f"{label}: unknown taxonomy term: no term gapmap knows as a service (README, "
                "'Open Referral UK', lists the words)", "attributes",
                "; ".join(words) if words else "no terms")  # fmt: skip
            reasons += 1
        if reasons:
            continue
        phone, email, website = _contacts(item)
        known = side.get(sid, {}) if side is not None else {}
        travel = known.get("max_travel_km") or _travel_km(item)
        if not all(c in known for c in ("capacity_hours", "committed_hours", "cover")):
            defaulted += 1
        record = {
            "provider_id": known.get("provider_id") or _gapmap_id(item) or sid,
            "name": _first_text(item.get("name")),
            "postcode": postcode,
            "lat": lat,
            "lon": lon,
            "services": ";".join(s for s in SERVICES if s in codes),
            "days": ";".join(DAYS[i] for i in range(7) if mask >> i & 1),
            "capacity_hours": known.get("capacity_hours", DEFAULTS["capacity_hours"]),
            "committed_hours": known.get("committed_hours", DEFAULTS["committed_hours"]),
            "max_travel_km": travel or DEFAULTS["max_travel_km"],
            "cover": known.get("cover", DEFAULTS["cover"]),
            "cqc_registered": known.get("cqc_registered", DEFAULTS["cqc_registered"]),
            "phone": phone,
            "email": email,
            "website": website,
            "price_per_hour": _price(item),
            "dbs_checked_on": known.get("dbs_checked_on", ""),
            "insurance_until": known.get("insurance_until", ""),
            "verified_on": _date_part(item.get("assured_date")),
            "languages": ";".join(
                _first_text(lang.get("name"), lang.get("code"))
                for lang in _items(item, "languages")
                if _first_text(lang.get("name"), lang.get("code"))
            ),
            "last_updated": _date_part(item.get("last_modified")),
            ROW: n,
        }
        rows.append(record)
    if problems:
        raise InputError(problems)
    if not rows:
        raise InputError(Problem(str(path), "the feed has no services to read"))
    frame = pd.DataFrame(rows)
    columns = [c for c in frame.columns if c != ROW]
    frame[columns] = frame[columns].astype(str)
    notes = []
    if left_out:
        notes.append(
            f"{left_out} service{' of the feed is' if left_out == 1 else 's of the feed are'} "
            f"not in the side table and {'was' if left_out == 1 else 'were'} left out"
        )
    if defaulted:
        notes.append(
            f"{defaulted} service(s) had no capacity, booked hours or cover in a side table: "
            f"defaults used ({DEFAULTS['capacity_hours']} h a week, none booked, willing to cover)"
        )
    frame.attrs["notes"] = notes
    frame.attrs["header_row"] = 0
    return frame
