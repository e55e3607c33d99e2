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

The rules for one cell (numbers, yes/no, contacts, degrees) are in :mod:`gapmap.io.cells`;
placing a register in the areas analysed is in :mod:`gapmap.io.placing`. Their public names
are also importable from here, as before.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from gapmap._kent import GB_BNG_BOUNDS
from gapmap.errors import InputError, Problem, ProblemList
from gapmap.io._tables import ROW, read_table
from gapmap.io.cells import (
    MAX_TRAVEL_KM,
    MAX_WEEKLY_HOURS,
    _boolean,
    _contact_cell,
    _priority,
    _text_cell,
    check_email,
    check_phone,
    mailto,
    parse_booked_hours,
    parse_travel_km,
    parse_weekly_hours,
    point_from_latlon,
    read_number,
)
from gapmap.io.placing import outside_problems, place_in_areas, placement_summary
from gapmap.io.provider_checks import FAMILY_COLUMNS, parse_date, parse_languages, parse_price
from gapmap.postcodes import (
    PostcodeDirectory,
    default_directory,
    describe_missing,
    normalise_postcode,
)
from gapmap.vocab import days_text, parse_days, parse_services, services_text

__all__ = [
    "MAX_TRAVEL_KM",
    "MAX_WEEKLY_HOURS",
    "check_email",
    "check_phone",
    "mailto",
    "parse_booked_hours",
    "parse_travel_km",
    "parse_weekly_hours",
    "read_number",
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
