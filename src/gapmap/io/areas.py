"""Area layers: read any polygon file, recognise ONS columns, reproject, place points in areas.

Every area layer gapmap works with has the same columns, whatever file it came from:

``area_code``, ``area_name``, ``district_code``, ``district_name``, ``geometry`` (EPSG:27700),
and ``rural`` when the file or an option gives one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap._kent import GB_BNG_BOUNDS
from gapmap.errors import InputError, Problem, ProblemList
from gapmap.vocab import clean_name

__all__ = [
    "BNG",
    "Placement",
    "choose_layer",
    "place_points",
    "read_areas",
    "read_rural_classification",
]

BNG = "EPSG:27700"
#: Points this far (metres) outside every area still go to the nearest area.

# ONS area levels in the order we prefer them when a file carries several (an LSOA file often
# carries its ward and district too: the finest level is the area).
_LEVELS = ("OA", "LSOA", "DZ", "MSOA", "WD", "PCON", "LAD", "CTY", "UTLA")
_ONS_CODE = re.compile(r"^(OA|LSOA|DZ|MSOA|WD|PCON|LAD|LTLA|CTY|UTLA)(\d\d)CD$", re.IGNORECASE)


@dataclass
class _Columns:
    code: str
    name: str | None
    district_code: str | None
    district_name: str | None
    notes: list[str] = field(default_factory=list)


def _detect_columns(
    columns: list[str],
    code_column: str | None,
    name_column: str | None,
    district_column: str | None,
    district_name_column: str | None,
    file: str,
) -> _Columns:
    upper = {c.upper(): c for c in columns}
    for given, what in (
        (code_column, "code"),
        (name_column, "name"),
        (district_column, "district"),
        (district_name_column, "district name"),
    ):
        if given is not None and given not in columns:
            raise InputError(
                Problem(
                    file,
                    f"the {what} column '{given}' is not in the file; its columns are "
                    + ", ".join(columns),
                )
            )
    found: dict[str, str] = {}
    for c in columns:
        m = _ONS_CODE.match(c)
        if m:
            level = m.group(1).upper()
            level = "LAD" if level == "LTLA" else level
            found.setdefault(level, c)
    code = code_column
    if code is None:
        for level in _LEVELS:
            if level in found:
                code = found[level]
                break
    if code is None and "area_code" in columns:  # gapmap's own outputs (gaps.gpkg ...)
        code = "area_code"
        name = name_column or ("area_name" if "area_name" in columns else None)
        dcode = district_column or ("district_code" if "district_code" in columns else None)
        return _Columns(code, name, dcode, district_name_column)
    if code is None:
        raise InputError(
            Problem(
                file,
                "cannot tell which column holds the area code: no ONS column such as WD22CD or "
                "LSOA21CD. Name it with --area-code-column (and --area-name-column). Columns: "
                + ", ".join(columns),
            )
        )
    name = name_column
    if name is None and _ONS_CODE.match(code):
        name = upper.get(code.upper()[:-2] + "NM")
    dcode = district_column
    if dcode is None and "LAD" in found and found["LAD"] != code:
        dcode = found["LAD"]
    dname = district_name_column
    if dname is None and dcode is not None and _ONS_CODE.match(dcode):
        dname = upper.get(dcode.upper()[:-2] + "NM")
    return _Columns(code, name, dcode, dname)


def read_areas(
    path: str | Path,
    *,
    code_column: str | None = None,
    name_column: str | None = None,
    district_column: str | None = None,
    district_name_column: str | None = None,
    rural_column: str | None = None,
    layer: str | None = None,
) -> gpd.GeoDataFrame:
    """Read a polygon layer as gapmap areas in British National Grid.

    ONS boundary files of any vintage are recognised by their columns (``WD13CD``/``WD13NM``,
    ``WD22CD``, ``LSOA21CD``, ``LAD24CD``...): the finest level present is the area, a
    ``LAD..CD`` column gives the district. Other files name their columns with the options.

    Parameters
    ----------
    path
        GeoJSON, GeoPackage, Shapefile or anything else GDAL reads.
    code_column, name_column, district_column, district_name_column
        Override the detected columns.
    rural_column
        A column holding a rural flag (true/false, rural/urban) or an ONS Rural-Urban
        Classification code or name.
    layer
        The layer to read from a multi-layer file.

    Returns
    -------
    GeoDataFrame
        ``area_code, area_name, district_code, district_name[, rural], geometry`` in
        EPSG:27700. Notes about repairs are in ``.attrs["notes"]``.

    Raises
    ------
    InputError
        missing file or CRS, no polygons, empty geometries, duplicate codes, unknown columns, or
        a layer that does not fall in Great Britain once reprojected.
    """
    path = Path(path)
    file = str(path)
    if not path.exists():
        raise InputError(Problem(file, "area file not found"))
    if path.is_dir() and path.suffix.lower() != ".gdb":
        raise InputError(Problem(file, "is a folder; expected an area file"))
    layer = choose_layer(path, layer, prefer=("areas", "wards", "lsoa"), what="area")
    try:
        gdf = gpd.read_file(path, layer=layer) if layer else gpd.read_file(path)
    except Exception as exc:  # pyogrio raises DataSourceError and friends
        raise InputError(Problem(file, f"cannot read as a polygon layer: {exc}")) from None
    if len(gdf) == 0:
        raise InputError(Problem(file, "the layer has no features"))
    if gdf.crs is None:
        raise InputError(
            Problem(
                file,
                "the layer has no coordinate reference system (CRS); save it with one "
                "(e.g. EPSG:27700 or EPSG:4326) so distances can be measured",
            )
        )
    cols = _detect_columns(
        [c for c in gdf.columns if c != gdf.geometry.name],
        code_column,
        name_column,
        district_column,
        district_name_column,
        file,
    )
    problems = ProblemList(file)
    notes: list[str] = []
    geom = gdf.geometry
    codes = gdf[cols.code].astype("string").str.strip()
    types = geom.geom_type.to_numpy()
    for i in range(len(gdf)):
        row = i + 1  # feature number, 1-based
        g = geom.iloc[i]
        if g is None or g.is_empty:
            problems.add("the feature has an empty geometry", row=row, column="geometry")
        elif types[i] not in ("Polygon", "MultiPolygon"):
            problems.add(
                f"a {types[i]} geometry where a polygon is needed", row=row, column="geometry"
            )
        if pd.isna(codes.iloc[i]) or not codes.iloc[i]:
            problems.add("the area code is empty", row=row, column=cols.code)
    dup = codes.duplicated(keep=False) & codes.notna()
    for i in np.flatnonzero(dup.to_numpy()).tolist():
        problems.add(
            "the area code appears more than once", row=i + 1, column=cols.code, value=codes.iloc[i]
        )
    if (
        problems
        and all(
            p.column == "geometry" and "geometry where a polygon" in p.message
            for p in problems.problems
        )
        and len(problems) == len(gdf)
    ):
        raise InputError(Problem(file, "the layer has no polygons (areas must be polygons)"))
    problems.raise_if_any()

    invalid = ~geom.is_valid.to_numpy()
    if invalid.any():
        repaired = shapely.make_valid(geom.to_numpy()[invalid])
        # make_valid may return a collection with stray lines: keep the polygonal part only
        repaired = np.array([polygonal_part(g) for g in repaired], dtype=object)
        geom = geom.copy()
        geom.iloc[np.flatnonzero(invalid)] = repaired
        notes.append(
            f"{file}: repaired {int(invalid.sum())} invalid geometr"
            f"{'y' if invalid.sum() == 1 else 'ies'} ("
            + ", ".join(codes[invalid].astype(str).tolist()[:10])
            + ")"
        )
    out = gpd.GeoDataFrame(
        {
            "area_code": codes.astype(str).to_numpy(),
            "area_name": (
                gdf[cols.name].astype("string").fillna("").map(clean_name).to_numpy()
                if cols.name
                else codes.astype(str).to_numpy()
            ),
            "district_code": (
                gdf[cols.district_code].astype("string").fillna("").map(clean_name).to_numpy()
                if cols.district_code
                else np.full(len(gdf), "", dtype=object)
            ),
            "district_name": (
                gdf[cols.district_name].astype("string").fillna("").map(clean_name).to_numpy()
                if cols.district_name
                else np.full(len(gdf), "", dtype=object)
            ),
        },
        geometry=geom.to_numpy(),
        crs=gdf.crs,
    )
    if rural_column is not None:
        if rural_column not in gdf.columns:
            raise InputError(Problem(file, f"the rural column '{rural_column}' is not in the file"))
        out["rural"] = [
            _parse_rural(v, file, i + 1, rural_column) for i, v in enumerate(gdf[rural_column])
        ]
    try:
        out = out.to_crs(BNG)
    except Exception as exc:
        raise InputError(
            Problem(file, f"cannot reproject from {gdf.crs} to EPSG:27700: {exc}")
        ) from None
    _check_in_gb(out, file, gdf.crs)
    overlap = _overlap_note(out)
    if overlap:
        notes.append(overlap)
    out.attrs["notes"] = notes
    out.attrs["source"] = file
    return out


def choose_layer(
    path: Path, layer: str | None, *, prefer: tuple[str, ...], what: str
) -> str | None:
    """The layer to read from a file that may hold several: never chosen silently.

    Parameters
    ----------
    path
        A GeoPackage, GeoJSON, Shapefile... (anything GDAL reads).
    layer
        The layer asked for (``--layer``), if any.
    prefer
        Names a layer may have to be taken without asking (case-insensitive), e.g.
        ``("providers",)``.
    what
        What is read, for messages.

    Returns
    -------
    str or None
        The layer's name, or None when the file has only one.

    Raises
    ------
    InputError
        the layer asked for is not there, or there are several and none is named.
    """
    import pyogrio

    file = str(path)
    try:
        names = [str(n) for n in pyogrio.list_layers(path)[:, 0]]
    except Exception:  # not a layered source: let the reader say what is wrong
        return layer
    if layer is not None:
        if layer not in names:
            raise InputError(
                Problem(file, f"has no layer {layer!r}; its layers are: " + ", ".join(names))
            )
        return layer
    if len(names) <= 1:
        return None
    named = [n for n in names if n.lower() in prefer]
    if len(named) == 1:
        return named[0]
    raise InputError(
        Problem(
            file,
            f"the file has {len(names)} layers (" + ", ".join(repr(n) for n in names) + "); "
            f"say which {what} layer to read",
        )
    )


def _overlap_note(areas: gpd.GeoDataFrame) -> str:
    """A note when areas overlap each other by more than a sliver (1% of the smaller)."""
    left, right = areas.sindex.query(areas.geometry, predicate="intersects")
    pairs = left < right
    left, right = left[pairs], right[pairs]
    if len(left) == 0:
        return ""
    geoms = areas.geometry.to_numpy()
    inter = shapely.area(shapely.intersection(geoms[left], geoms[right]))
    smaller = np.minimum(shapely.area(geoms[left]), shapely.area(geoms[right]))
    big = inter > 0.01 * np.maximum(smaller, 1.0)
    if not big.any():
        return ""
    codes = areas["area_code"].to_numpy()
    examples = ", ".join(f"{codes[i]}/{codes[j]}" for i, j in zip(left[big][:3], right[big][:3]))
    return (
        f"{int(big.sum())} pairs of areas overlap (e.g. {examples}); a person in an overlap "
        "is counted in the first area only"
    )


def polygonal_part(g):
    """The polygonal part of a geometry (make_valid can return stray lines and points)."""
    if g.geom_type in ("Polygon", "MultiPolygon"):
        return g
    parts = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else shapely.Polygon()


_RURAL_WORDS = {"true": True, "yes": True, "y": True, "1": True, "rural": True,
                "false": False, "no": False, "n": False, "0": False, "urban": False}  # fmt: skip


def _parse_rural(value, file: str, row: int, column: str) -> bool:
    """A rural flag from true/false, rural/urban or an ONS Rural-Urban Classification code/name.

    RUC 2011 codes A1-C2 are urban and D1-F2 rural; RUC 2021 codes start with U (urban) or R
    (rural: RLN1, RSF1 ...); the names start "Urban" or "Rural"/"Larger rural"/"Smaller rural".
    """
    s = str(value).strip().lower()
    if s in _RURAL_WORDS:
        return _RURAL_WORDS[s]
    # the codes ONS publishes, no others: RUC 2011 A1 B1 C1 C2 D1 D2 E1 E2 F1 F2, RUC 2021
    # UN1 UF1 RLN1 RLF1 RSN1 RSF1 (an unknown code is a mistake, not a guess)
    if s in ("a1", "b1", "c1", "c2", "un1", "uf1"):
        return False
    if s in ("d1", "d2", "e1", "e2", "f1", "f2", "rln1", "rlf1", "rsn1", "rsf1"):
        return True
    if s.startswith("urban"):
        return False
    if s.startswith(("rural", "larger rural", "smaller rural")):
        return True
    raise InputError(
        Problem(file, "not a rural flag or Rural-Urban Classification", row, column, str(value))
    )


def _check_in_gb(out: gpd.GeoDataFrame, file: str, crs) -> None:
    xmin, ymin, xmax, ymax = out.total_bounds
    gx0, gy0, gx1, gy1 = GB_BNG_BOUNDS
    if (
        not (np.isfinite([xmin, ymin, xmax, ymax]).all())
        or xmin < gx0
        or ymin < gy0
        or xmax > gx1
        or ymax > gy1
    ):
        raise InputError(
            Problem(
                file,
                f"the areas do not fall in Great Britain once reprojected from the declared CRS "
                f"({crs.to_string() if crs else 'none'}); is the declared CRS right? "
                "(British National Grid coordinates declared as WGS84 degrees is a common cause)",
            )
        )


@dataclass
class Placement:
    """Where points fell: one row per point, aligned to the input order.

    ``area_code`` is empty where the point is further than the snap distance from every area;
    ``snapped_m`` is 0 for points inside an area and the distance moved for snapped points.
    """

    area_code: np.ndarray
    snapped_m: np.ndarray

    @property
    def placed(self) -> np.ndarray:
        """Which points were placed in an area (bool array)."""
        return self.area_code != ""


def place_points(
    areas: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray, *, snap_m: float
) -> Placement:
    """Place points (EPSG:27700 metres) in areas.

    A point inside an area (or on its edge) goes to that area; where edges are shared, to the
    first area in the layer. A point outside every area (generalised coastlines cut off real
    homes) goes to the nearest area within ``snap_m`` metres. Points with no coordinates or
    further away are left unplaced.

    Parameters
    ----------
    areas
        The area layer (EPSG:27700, ``area_code`` column).
    x, y
        Eastings and northings in metres (NaN: no location).
    snap_m
        How far outside every area a point may be and still go to the nearest
        (``Settings.snap_m``).

    Returns
    -------
    Placement
        ``area_code`` per point (``""`` where unplaced) and ``snapped_m``, the distance it was
        moved (0 inside an area).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    n = len(x)
    codes = np.full(n, "", dtype=object)
    snapped = np.full(n, np.nan)
    ok = np.isfinite(x) & np.isfinite(y)
    idx = np.flatnonzero(ok)
    if len(idx) == 0 or len(areas) == 0:
        return Placement(codes, snapped)
    pts = shapely.points(x[idx], y[idx])
    tree = areas.sindex
    # each area asks a tree of the points which it holds: an area is prepared once for its
    # many points (the other way round, every point tests every polygon near it from scratch)
    ai, pi = shapely.STRtree(pts).query(np.asarray(areas.geometry.values), predicate="intersects")
    # first area for each point: sort by (point, area) and keep first
    order = np.lexsort((ai, pi))
    pi, ai = pi[order], ai[order]
    first = np.ones(len(pi), dtype=bool)
    first[1:] = pi[1:] != pi[:-1]
    area_codes = areas["area_code"].to_numpy()
    codes[idx[pi[first]]] = area_codes[ai[first]]
    snapped[idx[pi[first]]] = 0.0
    missing = np.flatnonzero(codes[idx] == "")
    if len(missing) and snap_m > 0:
        (mi, ai2), dist = tree.nearest(
            pts[missing], max_distance=snap_m, return_distance=True, return_all=False
        )
        codes[idx[missing[mi]]] = area_codes[ai2]
        snapped[idx[missing[mi]]] = dist
    return Placement(codes, snapped)


def read_rural_classification(path: str | Path, *, lookup: str | Path | None = None) -> pd.Series:
    """Read a rural flag per area from a table, optionally through a lookup to the areas.

    The table has an ONS code column (``WD11CD``, ``LSOA21CD``, ...; else its first column) and
    either a rural flag column (``rural``), an ONS RUC column (``RUC11CD``, ``RUC21CD``) or a
    ``..._urban_rural`` column. With ``lookup`` (e.g. the ONS LSOA→ward best-fit lookup), the
    table's codes are mapped to the lookup's other code column and an area is rural when most
    of its units are.

    Parameters
    ----------
    path
        The classification table (CSV or XLSX).
    lookup
        A lookup from the table's codes to the area codes.

    Returns
    -------
    Series
        bool, indexed by area code.

    Raises
    ------
    InputError
        naming the file, row and column of anything that cannot be read.
    """
    from gapmap.io._tables import ROW, read_table

    file = str(path)
    t = read_table(path, what="rural classification")
    cols = [c for c in t.columns if c != ROW]
    code = next((c for c in cols if _ONS_CODE.match(c)), cols[0])
    flag = next(
        (c for c in cols if c == "rural"),
        next(
            (c for c in cols if re.fullmatch(r"ruc\d\dcd", c)),
            next((c for c in cols if c.endswith("urban_rural")), None),
        ),
    )
    if flag is None:
        raise InputError(
            Problem(
                file,
                "no rural column: expected 'rural', 'RUC11CD'/'RUC21CD' or '..._urban_rural'",
                row=1,
            )
        )
    problems, values = [], []
    first: dict[str, int] = {}
    for v, r, c in zip(t[flag], t[ROW], t[code].str.strip()):
        try:
            values.append(_parse_rural(v, file, r, flag))
        except InputError as exc:
            problems += exc.problems
            values.append(False)
        if c in first:
            problems.append(Problem(file, f"the code is also on row {first[c]} (one class each)",
                                    int(r), code, c))  # fmt: skip
        first.setdefault(c, int(r))
    if problems:
        raise InputError(problems)
    series = pd.Series(values, index=t[code].str.strip().to_numpy(), dtype=bool)
    if lookup is None:
        return series
    lk = read_table(lookup, what="lookup")
    lcols = [c for c in lk.columns if c != ROW]
    if code not in lcols:
        raise InputError(
            Problem(
                str(lookup),
                f"the lookup has no column '{code}' to join the rural classification on",
                row=1,
            )
        )
    target = next(
        (
            c
            for c in lcols
            if c != code and _ONS_CODE.match(c) and not c.startswith(("lad", "ltla"))
        ),
        None,
    )
    if target is None:
        raise InputError(Problem(str(lookup), "the lookup has no second ONS code column", row=1))
    mapped = pd.DataFrame(
        {
            "area": lk[target].str.strip().to_numpy(),
            "rural": series.reindex(lk[code].str.strip()).to_numpy(),
        }
    )
    mapped = mapped.dropna()
    return (
        mapped.assign(rural=mapped["rural"].astype(float)).groupby("area")["rural"].mean().gt(0.5)
    )
