"""The providers and people registers of SPEC.md: read, validate, locate.

Both readers check every rule on every row, collect every problem, and raise a single
:class:`~gapmap.errors.InputError` naming file, row and column. What comes back is a
DataFrame with one row per record and typed columns; locations are British National Grid
metres in ``x`` and ``y``.

Providers: ``provider_id, name, postcode, x, y, services, service_mask, days, day_mask,
capacity_hours, committed_hours, max_travel_km, cover, cqc_registered, phone, email, website,
price_per_hour (NaN when not given), dbs_checked_on, insurance_until, verified_on, languages,
last_updated (ISO dates; "" when not given), row``.

People: ``person_id, postcode, x, y, hours, days, day_mask, services, service_mask,
max_travel_km (NaN where the person gave none), priority, needs_cover, self_directing,
regulated_care, row``.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from urllib.parse import quote

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap._kent import GB_BNG_BOUNDS, GB_LONLAT_BOUNDS
from gapmap.errors import InputError, Problem, ProblemList
from gapmap.io._tables import ROW, read_table
from gapmap.io.areas import Placement, place_points
from gapmap.io.provider_checks import FAMILY_COLUMNS, parse_date, parse_languages, parse_price
from gapmap.postcodes import (
    PostcodeDirectory,
    default_directory,
    describe_missing,
    normalise_postcode,
    wgs84_to_bng,
)
from gapmap.reach import road_km
from gapmap.vocab import clean_name, days_text, parse_days, parse_services, services_text

__all__ = [
    "empty_people",
    "empty_providers",
    "DEFAULT_PROVIDER_TRAVEL_KM",
    "PERSON_DEFAULTS",
    "PersonDefaults",
    "outside_problems",
    "point_from_latlon",
    "PEOPLE_COLUMNS",
    "PROVIDER_COLUMNS",
    "place_in_areas",
    "placement_summary",
    "read_people",
    "read_providers",
]

DEFAULT_PROVIDER_TRAVEL_KM = 10.0


@dataclass(frozen=True)
class PersonDefaults:
    """A person's optional answers when left blank (SPEC.md, the people register).

    One set, read by every way a person comes in: the register's files, the web form and API,
    the command line and the register database.

    Examples
    --------
    >>> PERSON_DEFAULTS.priority, PERSON_DEFAULTS.needs_cover
    (3, True)
    """

    #: 1 (most urgent) to 5
    priority: int = 3
    needs_cover: bool = True
    self_directing: bool = True
    regulated_care: bool = False


#: The people register's defaults (:class:`PersonDefaults`).
PERSON_DEFAULTS = PersonDefaults()
#: Hours a week above which a figure is surely a typing error (a week has 168 hours).
MAX_WEEKLY_HOURS = 168.0
#: Travel limits above this are surely a typing error (Kent is about 100 km across).
MAX_TRAVEL_KM = 200.0

PROVIDER_COLUMNS = {
    "provider_id": True, "name": True, "postcode": False, "lat": False, "lon": False,
    "easting": False, "northing": False, "services": True, "days": True,
    "capacity_hours": True, "committed_hours": False, "max_travel_km": False, "cover": False,
    "cqc_registered": False, "phone": False, "email": False, "website": False,
    "price_per_hour": False, "dbs_checked_on": False, "insurance_until": False,
    "verified_on": False, "languages": False, "last_updated": False,
}  # fmt: skip
#: Optional public contact columns of the providers register (SPEC.md), untrusted text.
CONTACT_COLUMNS = ("phone", "email", "website")
PEOPLE_COLUMNS = {
    "person_id": True, "postcode": False, "lat": False, "lon": False, "easting": False,
    "northing": False, "hours": True, "days": True, "services": True, "max_travel_km": False,
    "priority": False, "needs_cover": False, "self_directing": False, "regulated_care": False,
}  # fmt: skip
_ALIASES = {"long": "lon", "lng": "lon", "longitude": "lon", "latitude": "lat", "x": "easting",
            "y": "northing", "post code": "postcode", "post_code": "postcode"}  # fmt: skip

_TRUE = {"true", "yes", "y", "1", "t"}
_FALSE = {"false", "no", "n", "0", "f"}


class _Reader:
    """Parses one register's columns row by row, collecting problems."""

    def __init__(self, frame: pd.DataFrame, file: str):
        self.frame = frame
        self.rows = frame[ROW].to_numpy()
        self.problems = ProblemList(file)

    def has(self, column: str) -> bool:
        return column in self.frame.columns

    def cells(self, column: str) -> list[str]:
        if not self.has(column):
            return [""] * len(self.frame)
        return [str(v).strip() for v in self.frame[column].to_numpy()]

    def parse(self, column: str, parse: Callable[[str], object], default: object) -> list:
        out: list = []
        # each distinct text is parsed once (registers repeat their days, services, hours...):
        # the parsers give the same value, or the same complaint, for the same text
        seen: dict[str, tuple[bool, object]] = {}
        for row, cell in zip(self.rows, self.cells(column)):
            if cell == "":
                if default is _REQUIRED:
                    self.problems.add("a value is required", row=row, column=column)
                    out.append(None)
                else:
                    out.append(default)
                continue
            known = seen.get(cell)
            if known is None:
                try:
                    known = (True, parse(cell))
                except ValueError as exc:
                    known = (False, str(exc))
                seen[cell] = known
            if known[0]:
                out.append(known[1])
            else:
                self.problems.add(str(known[1]), row=row, column=column, value=cell)
                out.append(None)
        return out


_REQUIRED = object()


def _texts(text: Callable[[int], str], masks: list) -> list[str]:
    """``[text(m) for m in masks]``, each distinct mask written once."""
    written = {m: text(m) for m in set(masks)}
    return [written[m] for m in masks]


_FRACTIONS = {"½": ".5", "¼": ".25", "¾": ".75"}
_UNITS = re.compile(
    r"\s*(hours?|hrs?|h|kilometres?|kilometers?|kms?)?\.?\s*((a|per|each|/)\s*(week|wk)|pw)?\s*$"
)


def read_number(cell: str) -> float:
    """A number as people type it: ``6``, ``6.5``, ``6,5`` (decimal comma), ``6½``,
    ``6 hours``, ``6 h a week``, ``10 km``, ``1,000``.

    Parameters
    ----------
    cell
        The text.

    Returns
    -------
    float

    Raises
    ------
    ValueError
        when the text is not a number in any of those forms.

    Examples
    --------
    >>> read_number("6,5"), read_number("6½ hours"), read_number("1,000"), read_number("10 km")
    (6.5, 6.5, 1000.0, 10.0)
    """
    text = str(cell).strip().lower()
    for ch, dec in _FRACTIONS.items():
        if ch in text:
            head = text.split(ch)[0].strip()
            text = (head or "0") + dec + text.split(ch, 1)[1]
    text = _UNITS.sub("", text).strip()
    if re.fullmatch(r"[+-]?\d+,\d{1,2}", text):  # a decimal comma: 6,5 or 6,25
        text = text.replace(",", ".")
    elif re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d+)?", text):  # thousands: 1,000.5
        text = text.replace(",", "")
    v = float(text)  # raises ValueError
    if math.isnan(v) or math.isinf(v):
        raise ValueError(cell)
    return v


def _number(low: float, high: float, *, low_inclusive: bool, what: str, example: str):
    def parse(cell: str) -> float:
        try:
            v = read_number(cell)
        except ValueError:
            raise ValueError(f"Enter the {what} as a number, like {example}") from None
        if v < low or (v == low and not low_inclusive):
            raise ValueError(
                f"The {what} must be {'at least' if low_inclusive else 'more than'} {low:g}"
            )
        if v > high:
            raise ValueError(f"The {what} must be {high:g} or less ({v:.12g} is not plausible)")
        return v

    return parse


#: The register's number rules, shared with the suggestion request checks.
parse_weekly_hours = _number(
    0, MAX_WEEKLY_HOURS, low_inclusive=False, what="hours a week", example="6 or 6.5"
)
parse_booked_hours = _number(
    0, MAX_WEEKLY_HOURS, low_inclusive=True, what="hours a week", example="0 or 12.5"
)
parse_travel_km = _number(
    0, MAX_TRAVEL_KM, low_inclusive=False, what="distance in km", example="10"
)


def point_from_latlon(lat: float, lon: float) -> tuple[float, float]:
    """British National Grid metres for WGS84 degrees in Great Britain.

    Parameters
    ----------
    lat, lon
        Degrees.

    Returns
    -------
    (x, y)

    Raises
    ------
    ValueError
        saying what looks wrong: lat and lon swapped, grid metres given as degrees, or a point
        outside Great Britain.
    """
    gx0, gy0, gx1, gy1 = GB_LONLAT_BOUNDS
    if not (math.isfinite(lat) and math.isfinite(lon)):
        raise ValueError("expected numbers of degrees")
    if gy0 <= lat <= gy1 and gx0 <= lon <= gx1:
        x, y = wgs84_to_bng(lon, lat)
        return float(x), float(y)
    if gy0 <= lon <= gy1 and gx0 <= lat <= gx1:
        raise ValueError("lat and lon look swapped (lat is the 50-60 degrees one)")
    if abs(lat) > 1000 or abs(lon) > 1000:
        raise ValueError(
            "looks like British National Grid metres in degree columns; "
            "put them in 'easting' and 'northing'"
        )
    raise ValueError("the point is outside Great Britain")


def _boolean(cell: str) -> bool:
    s = cell.lower()
    if s in _TRUE:
        return True
    if s in _FALSE:
        return False
    raise ValueError("expected true or false (yes/no, 1/0)")


def _priority(cell: str) -> int:
    try:
        v = float(cell)
    except ValueError:
        raise ValueError("expected a whole number from 1 (low) to 5 (urgent)") from None
    if not v.is_integer() or not 1 <= v <= 5:
        raise ValueError("expected a whole number from 1 (low) to 5 (urgent)")
    return int(v)


def _text_cell(cell: str) -> str:
    """Text of a register (ids, names, contacts): cleaned in one place (:func:`clean_name`)."""
    return clean_name(cell)


def _normalise_columns(frame: pd.DataFrame, spec: dict[str, bool], file: str) -> pd.DataFrame:
    header = int(frame.attrs.get("header_row", 1))
    rename = {}
    for c in frame.columns:
        if c == ROW:
            continue
        key = _ALIASES.get(c, c.replace(" ", "_"))
        if key in spec and key != c:
            if key in frame.columns:
                raise InputError(
                    Problem(
                        file, f"both '{c}' and '{key}' are given; keep one", row=header, column=c
                    )
                )
            rename[c] = key
    frame = frame.rename(columns=rename)
    missing = [c for c, required in spec.items() if required and c not in frame.columns]
    if missing:
        raise InputError(
            [
                Problem(
                    file,
                    "a required column is missing (columns: "
                    + ", ".join(c for c in frame.columns if c != ROW)
                    + ")",
                    row=header,
                    column=c,
                )
                for c in missing
            ]
        )
    return frame


def _ids(r: _Reader, column: str) -> list[str]:
    ids = r.parse(column, _text_cell, _REQUIRED)
    seen: dict[str, int] = {}
    for row, pid in zip(r.rows, ids):
        if pid is None:
            continue
        if pid in seen:
            r.problems.add(
                f"the id appears more than once (first at row {seen[pid]})",
                row=row,
                column=column,
                value=pid,
            )
        else:
            seen[pid] = row
    return ids


def _locate(
    r: _Reader,
    directory: PostcodeDirectory | None,
    given_xy: tuple[np.ndarray, np.ndarray] | None = None,
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """Coordinates for each row, from lat/lon, easting/northing, or the postcode (in that order)."""
    n = len(r.frame)
    x = np.full(n, np.nan)
    y = np.full(n, np.nan)
    postcodes = [""] * n
    lat, lon = r.cells("lat"), r.cells("lon")
    east, north = r.cells("easting"), r.cells("northing")
    raw_pc = r.cells("postcode")
    want: list[tuple[int, str]] = []
    bx0, by0, bx1, by1 = GB_BNG_BOUNDS
    for i, row in enumerate(r.rows):
        if raw_pc[i]:
            pc = normalise_postcode(raw_pc[i])
            if pc is None:
                r.problems.add(
                    "not a valid UK postcode", row=row, column="postcode", value=raw_pc[i]
                )
            else:
                postcodes[i] = pc
        if given_xy is not None and np.isfinite(given_xy[0][i]):
            x[i], y[i] = given_xy[0][i], given_xy[1][i]
        elif lat[i] or lon[i]:
            try:
                la, lo = float(lat[i]), float(lon[i])
            except ValueError:
                col = "lat" if not _is_float(lat[i]) else "lon"
                r.problems.add(
                    "expected a number of degrees",
                    row=row,
                    column=col,
                    value=lat[i] if col == "lat" else lon[i],
                )
                continue
            try:
                x[i], y[i] = point_from_latlon(la, lo)
            except ValueError as exc:
                r.problems.add(str(exc), row=row, column="lat", value=f"{lat[i]}, {lon[i]}")
        elif east[i] or north[i]:
            try:
                e, nn = float(east[i]), float(north[i])
            except ValueError:
                r.problems.add(
                    "expected easting and northing in metres",
                    row=row,
                    column="easting",
                    value=f"{east[i]}, {north[i]}",
                )
                continue
            if bx0 <= e <= bx1 and by0 <= nn <= by1:
                x[i], y[i] = e, nn
            else:
                r.problems.add(
                    "the point is outside Great Britain (British National Grid metres)",
                    row=row,
                    column="easting",
                    value=f"{east[i]}, {north[i]}",
                )
        elif postcodes[i]:
            want.append((i, postcodes[i]))
        elif not raw_pc[i]:
            r.problems.add(
                "no location: give a postcode, or lat and lon", row=row, column="postcode"
            )
    if want:
        directory = directory or default_directory()
        found = directory.lookup([pc for _, pc in want])
        fx, fy = found["x"].to_numpy(float), found["y"].to_numpy(float)
        known = found["known"].to_numpy(bool)
        for (i, pc), a, b, k in zip(want, fx, fy, known):
            if np.isfinite(a) and np.isfinite(b):
                x[i], y[i] = a, b
            else:
                r.problems.add(
                    describe_missing(directory, bool(k)),
                    row=r.rows[i],
                    column="postcode",
                    value=pc,
                )
    return postcodes, x, y


def _is_float(s: str) -> bool:
    try:
        float(s)
        return True
    except ValueError:
        return False


def _read_frame(path: str | Path, what: str, allow_points: bool, sheet=None, layer=None):
    path = Path(path)
    if allow_points and path.suffix.lower() in (".gpkg", ".geojson", ".json", ".shp", ".fgb"):
        return _read_point_layer(path, layer)
    return read_table(path, what=what, sheet=sheet), None


def _read_point_layer(
    path: Path, layer: str | None = None
) -> tuple[pd.DataFrame, tuple[np.ndarray, np.ndarray]]:
    from gapmap.io.areas import choose_layer

    file = str(path)
    if not path.exists():
        raise InputError(Problem(file, "providers file not found"))
    layer = choose_layer(path, layer, prefer=("providers",), what="providers")
    try:
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:
        raise InputError(Problem(file, f"cannot read as a point layer: {exc}")) from None
    if gdf.crs is None:
        raise InputError(Problem(file, "the layer has no coordinate reference system (CRS)"))
    problems = ProblemList(file)
    points = []
    for i, g in enumerate(gdf.geometry):
        if g is not None and g.geom_type == "MultiPoint" and len(g.geoms) == 1:
            g = g.geoms[0]  # what GIS tools write for a point layer saved as "multi"
        points.append(g)
        if g is None or g.is_empty:
            continue  # may still have a postcode
        if g.geom_type != "Point":
            problems.add(f"a {g.geom_type} where a point is needed", row=i + 2, column="geometry")
    problems.raise_if_any()
    gdf = gdf.set_geometry(gpd.GeoSeries(points, index=gdf.index, crs=gdf.crs))
    bng = gdf.to_crs("EPSG:27700")
    has = bng.geometry.notna() & ~bng.geometry.is_empty
    x = np.where(has, bng.geometry.x.where(has), np.nan).astype(float)
    y = np.where(has, bng.geometry.y.where(has), np.nan).astype(float)
    bx0, by0, bx1, by1 = GB_BNG_BOUNDS
    for i in np.flatnonzero(has.to_numpy()).tolist():
        if not (bx0 <= x[i] <= bx1 and by0 <= y[i] <= by1):
            problems.add(
                f"the point is outside Great Britain once reprojected from {gdf.crs.to_string()}",
                row=i + 2,
                column="geometry",
            )
    problems.raise_if_any()
    table = pd.DataFrame(gdf.drop(columns=gdf.geometry.name)).astype(object)
    table = table.where(table.notna(), "").astype(str)
    table.columns = [str(c).strip().lower() for c in table.columns]
    table[ROW] = np.arange(2, len(table) + 2)  # feature n is "row n+1" like a sheet with header
    return table, (x, y)


def read_providers(
    path: str | Path,
    *,
    postcodes: PostcodeDirectory | None = None,
    sheet: str | None = None,
    layer: str | None = None,
    extra: str | Path | None = None,
) -> pd.DataFrame:
    """Read and validate a providers register (CSV, XLSX, a GeoPackage/GeoJSON point layer, or
    an Open Referral UK v3 feed saved as JSON: :mod:`gapmap.io.oruk`).

    Parameters
    ----------
    path
        The register file. Columns as in SPEC.md; names are matched case-insensitively.
    postcodes
        Where to geocode postcodes; default: the ONS directory of the postcode package.
    sheet
        The sheet of a workbook with several (default: the only one, or one named
        'providers').
    layer
        The layer of a GeoPackage with several (default: the only one, or 'providers').
    extra
        With an Open Referral UK feed: the side table of what the feed lacks (capacity, booked
        hours, cover, ...), joined by service id (:func:`gapmap.io.oruk.read_feed`).

    Returns
    -------
    DataFrame
        One row per provider (see the module docstring for columns), indexed 0..n-1.

    Raises
    ------
    InputError
        listing every problem found, each with file, row and column.
    """
    from gapmap.io.oruk import is_feed, read_feed

    file = str(path)
    notes: list[str] = []
    if is_feed(path):
        frame, given_xy = read_feed(path, extra=extra), None
        notes = list(frame.attrs.get("notes", []))
    elif extra is not None:
        raise InputError(
            Problem(str(extra), "a directory side table goes with an Open Referral UK feed "
                    "(a .json file or folder as the providers), not with a register table")
        )  # fmt: skip
    else:
        frame, given_xy = _read_frame(path, "providers", True, sheet=sheet, layer=layer)
    frame = _normalise_columns(frame, PROVIDER_COLUMNS, file)
    if len(frame) == 0:
        raise InputError(Problem(file, "the providers register has no rows"))
    r = _Reader(frame, file)
    ids = _ids(r, "provider_id")
    names = r.parse("name", _text_cell, _REQUIRED)
    services = r.parse("services", parse_services, _REQUIRED)
    days = r.parse("days", parse_days, _REQUIRED)
    capacity = r.parse("capacity_hours", parse_weekly_hours, _REQUIRED)
    committed = r.parse("committed_hours", parse_booked_hours, 0.0)
    travel = r.parse(
        "max_travel_km",
        parse_travel_km,
        DEFAULT_PROVIDER_TRAVEL_KM,
    )
    cover = r.parse("cover", _boolean, True)
    cqc = r.parse("cqc_registered", _boolean, False)
    contacts = {c: r.parse(c, _contact_cell(c), "") for c in CONTACT_COLUMNS}
    family = _family(r)
    for row, cap, com in zip(r.rows, capacity, committed):
        if cap is not None and com is not None and com > cap:
            r.problems.add(
                f"committed hours ({com:g}) are more than the capacity ({cap:g})",
                row=row,
                column="committed_hours",
                value=com,
            )
    pcs, x, y = _locate(r, postcodes, given_xy)
    r.problems.raise_if_any()
    out = pd.DataFrame(
        {
            "provider_id": ids,
            "name": names,
            "postcode": pcs,
            "x": x,
            "y": y,
            "services": _texts(services_text, services),
            "service_mask": np.array(services, dtype=np.int64),
            "days": _texts(days_text, days),
            "day_mask": np.array(days, dtype=np.int64),
            "capacity_hours": np.array(capacity, dtype=float),
            "committed_hours": np.array(committed, dtype=float),
            "max_travel_km": np.array(travel, dtype=float),
            "cover": np.array(cover, dtype=bool),
            "cqc_registered": np.array(cqc, dtype=bool),
            **{c: [v or "" for v in contacts[c]] for c in CONTACT_COLUMNS},
            **family,
            "row": r.rows.astype(int),
        }
    )
    out.attrs["notes"] = notes
    return out


def _family(r: _Reader) -> dict[str, object]:
    """The optional columns of :mod:`gapmap.io.provider_checks` (price, checks, languages)."""
    price = r.parse("price_per_hour", parse_price, np.nan)
    out: dict[str, object] = {"price_per_hour": np.array(
        [np.nan if v is None else v for v in price], dtype=float
    )}  # fmt: skip
    for c in FAMILY_COLUMNS[1:]:
        if c == "languages":
            parse: Callable[[str], str] = parse_languages
        else:
            parse = partial(parse_date, past=c != "insurance_until")
        out[c] = [v or "" for v in r.parse(c, parse, "")]
    return {c: out[c] for c in FAMILY_COLUMNS}


#: An email address as gapmap takes it: a strict subset of RFC 5322's addr-spec (no quoted
#: local parts, no comments, no ``?``/``&``/spaces that would add recipients to a mailto: link).
_EMAIL = re.compile(
    r"[A-Za-z0-9_%+-]+(?:\.[A-Za-z0-9_%+-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
)
#: A telephone number: digits, spaces, brackets and hyphens, a + only first; 6-15 digits.
_PHONE = re.compile(r"\+?[0-9 ()-]{6,24}")


def check_email(text: str) -> str:
    """An email address from a register, or ValueError saying what is wrong.

    Parameters
    ----------
    text
        The cell.

    Returns
    -------
    str
        The address (stripped).

    Examples
    --------
    >>> check_email("hello@mp0001.example.org")
    'hello@mp0001.example.org'
    >>> check_email("x@y.org?bcc=spy@evil.example")
    Traceback (most recent call last):
    ...
    ValueError: an email address is name@example.org: one @, no spaces, no ? or &
    """
    text = text.strip()
    if text.lower().startswith("mailto:"):
        raise ValueError("give the email address without 'mailto:'")
    if len(text) > 254 or not _EMAIL.fullmatch(text):
        raise ValueError("an email address is name@example.org: one @, no spaces, no ? or &")
    return text


def check_phone(text: str) -> str:
    """A telephone number from a register, or ValueError saying what is wrong.

    Examples
    --------
    >>> check_phone("+44 (0)1622 694000")
    '+44 (0)1622 694000'
    >>> check_phone('=HYPERLINK("http://evil.example")')
    Traceback (most recent call last):
    ...
    ValueError: a phone number is 6-15 digits with spaces, brackets, hyphens, a + first
    """
    text = text.strip()
    digits = sum(ch.isdigit() for ch in text)
    if not _PHONE.fullmatch(text) or not 6 <= digits <= 15:
        raise ValueError("a phone number is 6-15 digits with spaces, brackets, hyphens, a + first")
    return text


def mailto(email: str) -> str:
    """A ``mailto:`` link of a checked address, percent-encoded so it names one recipient only.

    Examples
    --------
    >>> mailto("hello@mp0001.example.org")
    'mailto:hello@mp0001.example.org'
    >>> mailto("a@b.org?bcc=c@d.org")
    'mailto:a@b.org%3Fbcc%3Dc@d.org'
    """
    return "mailto:" + quote(str(email).strip(), safe="@+")


def _contact_cell(column: str) -> Callable[[str], str]:
    """A contact detail: text of at most 200 characters; a website must be http(s) or a bare
    domain (never ``javascript:``); an email one address (:func:`check_email`); a phone a
    number (:func:`check_phone`)."""

    def parse(cell: str) -> str:
        text = _text_cell(cell)
        if len(text) > 200:
            raise ValueError(f"the {column} is longer than 200 characters")
        if column == "email" and text.strip():
            text = check_email(text)
        if column == "phone" and text.strip():
            text = check_phone(text)
        if column == "website":
            scheme = re.match(r"^([a-z][a-z0-9+.-]*):", text.lower())
            if scheme and scheme.group(1) not in ("http", "https"):
                raise ValueError("a website must start with https:// or http://")
        return text

    return parse


def read_people(
    path: str | Path, *, postcodes: PostcodeDirectory | None = None, sheet: str | None = None
) -> pd.DataFrame:
    """Read and validate a people register (CSV or XLSX; pseudonymous, never published).

    Parameters
    ----------
    path
        The register file. Columns as in SPEC.md; names are matched case-insensitively.
    postcodes
        Where to geocode postcodes; default: the ONS directory of the postcode package.
    sheet
        The sheet of a workbook with several (default: the only one, or one named 'people').

    Returns
    -------
    DataFrame
        One row per person (see the module docstring for columns), indexed 0..n-1.

    Raises
    ------
    InputError
        listing every problem found, each with file, row and column.
    """
    file = str(path)
    frame, _ = _read_frame(path, "people", False, sheet=sheet)
    frame = _normalise_columns(frame, PEOPLE_COLUMNS, file)
    if len(frame) == 0:
        raise InputError(Problem(file, "the people register has no rows"))
    r = _Reader(frame, file)
    ids = _ids(r, "person_id")
    hours = r.parse("hours", parse_weekly_hours, _REQUIRED)
    days = r.parse("days", parse_days, _REQUIRED)
    services = r.parse("services", parse_services, _REQUIRED)
    travel = r.parse("max_travel_km", parse_travel_km, np.nan)
    priority = r.parse("priority", _priority, PERSON_DEFAULTS.priority)
    needs_cover = r.parse("needs_cover", _boolean, PERSON_DEFAULTS.needs_cover)
    self_directing = r.parse("self_directing", _boolean, PERSON_DEFAULTS.self_directing)
    regulated = r.parse("regulated_care", _boolean, PERSON_DEFAULTS.regulated_care)
    pcs, x, y = _locate(r, postcodes)
    r.problems.raise_if_any()
    return pd.DataFrame(
        {
            "person_id": ids,
            "postcode": pcs,
            "x": x,
            "y": y,
            "hours": np.array(hours, dtype=float),
            "days": _texts(days_text, days),
            "day_mask": np.array(days, dtype=np.int64),
            "services": _texts(services_text, services),
            "service_mask": np.array(services, dtype=np.int64),
            "max_travel_km": np.array(travel, dtype=float),
            "priority": np.array(priority, dtype=np.int64),
            "needs_cover": np.array(needs_cover, dtype=bool),
            "self_directing": np.array(self_directing, dtype=bool),
            "regulated_care": np.array(regulated, dtype=bool),
            "row": r.rows.astype(int),
        }
    )


_PROVIDER_DTYPES = {
    "provider_id": object, "name": object, "postcode": object, "x": float, "y": float,
    "services": object, "service_mask": np.int64, "days": object, "day_mask": np.int64,
    "capacity_hours": float, "committed_hours": float, "max_travel_km": float, "cover": bool,
    "cqc_registered": bool, "phone": object, "email": object, "website": object,
    "price_per_hour": float, "dbs_checked_on": object, "insurance_until": object,
    "verified_on": object, "languages": object, "last_updated": object, "row": int,
}  # fmt: skip
_PEOPLE_DTYPES = {
    "person_id": object, "postcode": object, "x": float, "y": float, "hours": float,
    "days": object, "day_mask": np.int64, "services": object, "service_mask": np.int64,
    "max_travel_km": float, "priority": np.int64, "needs_cover": bool, "self_directing": bool,
    "regulated_care": bool, "row": int,
}  # fmt: skip


def empty_providers() -> pd.DataFrame:
    """A providers register with no rows (the columns of :func:`read_providers`)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _PROVIDER_DTYPES.items()})


def empty_people() -> pd.DataFrame:
    """A people register with no rows (the columns of :func:`read_people`)."""
    return pd.DataFrame({c: pd.Series(dtype=t) for c, t in _PEOPLE_DTYPES.items()})


def place_in_areas(
    register: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    *,
    snap_m: float,
    placement: Placement | None = None,
) -> pd.DataFrame:
    """Add ``area_code`` and ``snapped_m`` to a register (a copy).

    Points just outside every area (generalised coastlines) go to the nearest area within
    ``snap_m`` metres; records further away keep an empty ``area_code`` and are listed in
    ``.attrs["unplaced"]`` (their row numbers) so callers can report them.

    Parameters
    ----------
    register
        A register with ``x``, ``y`` and ``row``.
    areas
        The area layer.
    snap_m
        As for :func:`gapmap.io.areas.place_points`.
    placement
        The register's :func:`~gapmap.io.areas.place_points` in ``areas``, if already made.

    Returns
    -------
    DataFrame
    """
    placed = (
        placement
        if placement is not None
        else place_points(areas, register["x"].to_numpy(), register["y"].to_numpy(), snap_m=snap_m)
    )
    out = register.copy()
    out["area_code"] = placed.area_code
    out["snapped_m"] = placed.snapped_m
    out.attrs["unplaced"] = register.loc[~placed.placed, "row"].tolist()
    return out


def placement_summary(
    areas: gpd.GeoDataFrame, providers: pd.DataFrame, people: pd.DataFrame
) -> pd.DataFrame:
    """Providers, people and hours by district, for registers already placed in ``areas``.

    Parameters
    ----------
    areas
        The area layer.
    providers, people
        Registers placed in it (:func:`place_in_areas`).

    Returns
    -------
    DataFrame
        One row per district (and ``"(not placed)"`` for records outside every area) with
        ``areas, providers, capacity_hours, committed_hours, people, need_hours`` (exact:
        publish through :func:`gapmap.publish.summaries.placement_lines`).
    """
    district = areas.set_index("area_code")["district_name"].replace("", "(no district)")

    def by_district(reg: pd.DataFrame) -> pd.Series:
        d = reg["area_code"].map(district)
        return d.where(reg["area_code"] != "", "(not placed)").fillna("(not placed)")

    prov = providers.assign(district=by_district(providers))
    ppl = people.assign(district=by_district(people))
    table = pd.DataFrame(
        {"areas": areas.groupby(areas["district_name"].replace("", "(no district)")).size()}
    )
    table = table.join(
        prov.groupby("district").agg(
            providers=("provider_id", "size"),
            capacity_hours=("capacity_hours", "sum"),
            committed_hours=("committed_hours", "sum"),
        ),
        how="outer",
    ).join(
        ppl.groupby("district").agg(people=("person_id", "size"), need_hours=("hours", "sum")),
        how="outer",
    )
    return (
        table.fillna(0)
        .astype({"areas": int, "providers": int, "people": int})
        .rename_axis("district")
    )


def outside_problems(
    register: pd.DataFrame,
    areas: gpd.GeoDataFrame,
    *,
    file: str,
    what: str,
    snap_m: float,
    circuity: float = 1.0,
    placed: np.ndarray | None = None,
) -> list[Problem]:
    """Problems for records that are outside the areas analysed (a wrong postcode, usually).

    A person outside every area (beyond ``snap_m``) is a problem: their need would be counted
    nowhere. A provider outside every area is a problem only when it is further from every area
    than its own travel limit, so could serve nobody in them (a provider just over the county
    border who travels into it is fine). Further is measured as reach measures it
    (:func:`gapmap.reach.road_km`: straight line × ``circuity``), so a provider kept here can
    reach someone at the edge of the nearest area.

    Parameters
    ----------
    register
        A register from :func:`read_people` or :func:`read_providers`.
    areas
        The areas analysed (EPSG:27700).
    file
        The register's file name, for the messages.
    what
        ``"people"`` or ``"providers"``.
    snap_m
        As for :func:`gapmap.io.areas.place_points`.
    circuity
        The study's circuity (``Settings.circuity``).
    placed
        Which records are in an area, when the register is placed already
        (:func:`place_in_areas`: ``area_code != ""``); by default placed here.

    Returns
    -------
    list of Problem

    Examples
    --------
    A provider 9 km (straight line) outside with a 10 km limit is 11.7 km away by road at
    circuity 1.3, beyond its limit:

    >>> import geopandas as gpd, shapely
    >>> areas = gpd.GeoDataFrame({"area_code": ["E1"]},
    ...     geometry=[shapely.box(0, 0, 1000, 1000)], crs=27700)
    >>> p = pd.DataFrame({"x": [10000.0], "y": [500.0], "max_travel_km": [10.0], "row": [2],
    ...     "postcode": ["ME1 1AA"]})
    >>> len(outside_problems(p, areas, file="p.csv", what="providers", snap_m=0))
    0
    >>> len(outside_problems(p, areas, file="p.csv", what="providers", snap_m=0, circuity=1.3))
    1
    """
    if placed is None:
        at = place_points(areas, register["x"].to_numpy(), register["y"].to_numpy(), snap_m=snap_m)
        placed = at.placed
    out = np.flatnonzero(~np.asarray(placed, dtype=bool))
    if len(out) == 0:
        return []
    sub = register.iloc[out]
    pts = shapely.points(sub["x"].to_numpy(float), sub["y"].to_numpy(float))
    (pi, ai), dist = areas.sindex.nearest(pts, return_distance=True, return_all=False)
    km = np.full(len(out), np.nan)
    km[pi] = road_km(dist, circuity)
    nearest = np.full(len(out), "", dtype=object)
    nearest[pi] = areas["area_code"].to_numpy()[ai]
    by_road = f" by road at circuity {circuity:g}" if circuity != 1.0 else ""
    problems = []
    for j, (_, rec) in enumerate(sub.iterrows()):
        if what == "providers" and km[j] <= float(rec["max_travel_km"]):
            continue
        column = "postcode" if str(rec.get("postcode", "") or "") else "lat"
        hint = (
            "beyond its own travel limit, so it could serve no one here"
            if what == "providers"
            else "so the need would be counted nowhere"
        )
        problems.append(
            Problem(
                file,
                f"the location is outside every area analysed ({km[j]:,.1f} km{by_road} from the "
                f"nearest, {nearest[j]}), {hint}; is the postcode right? (--drop-outside leaves "
                "such rows out)",
                row=int(rec["row"]),
                column=column,
                value=str(rec.get("postcode", "") or "") or None,
            )
        )
    return problems
