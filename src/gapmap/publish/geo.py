"""The edge of the map: the only place gapmap turns British National Grid into WGS84.

Every analysis works in metres in EPSG:27700; maps, published coordinates and the web page's
GeoJSON are WGS84 degrees, made here.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from pyproj import Transformer

__all__ = ["to_latlon", "to_wgs84", "wgs84_geojson"]

_BNG_TO_WGS84 = Transformer.from_crs(27700, 4326, always_xy=True)


def to_latlon(x, y) -> tuple[np.ndarray, np.ndarray]:
    """WGS84 ``(lat, lon)`` degrees of British National Grid points.

    Parameters
    ----------
    x, y
        Eastings and northings in metres.

    Returns
    -------
    (lat, lon)
        Arrays of degrees.

    Examples
    --------
    >>> lat, lon = to_latlon([615000.0], [157000.0])
    >>> round(float(lat[0]), 2), round(float(lon[0]), 2)
    (51.27, 1.08)
    """
    lon, lat = _BNG_TO_WGS84.transform(np.asarray(x, float), np.asarray(y, float))
    return np.atleast_1d(lat), np.atleast_1d(lon)


def to_wgs84(gdf: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """A copy of a layer in WGS84 (EPSG:4326), for maps.

    Parameters
    ----------
    gdf
        A layer with a CRS (EPSG:27700 in gapmap).

    Returns
    -------
    GeoDataFrame
    """
    return gdf.to_crs(4326)


def wgs84_geojson(gdf: gpd.GeoDataFrame, *, simplify_m: float = 0.0) -> str:
    """GeoJSON text of a layer in WGS84.

    Parameters
    ----------
    gdf
        The layer (EPSG:27700).
    simplify_m
        Simplify by this many metres first (0: not at all).

    Returns
    -------
    str
    """
    g = gdf.copy()
    if simplify_m > 0:
        g["geometry"] = g.geometry.simplify(simplify_m)
    return to_wgs84(g).to_json(drop_id=True)
