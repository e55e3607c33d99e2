"""The maps' layers and page: areas coloured with their legend and popups, providers, labels.

:func:`_area_map` builds the page every map shares: a :class:`folium.Map` with Leaflet, the
maps' stylesheet and script (``publish/assets``) inlined, the areas as one GeoJSON layer per
colouring with its key, the providers' markers, the district outlines and the labels and search
entries (:mod:`.mapplaces`), all as one JSON the page's script draws. :mod:`.maps` says which
layers each map (gaps, recruitment, change) shows; :func:`save_map` writes one as a
self-contained HTML file.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from importlib.resources import files
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from gapmap.publish.disclosure import Suppression
from gapmap.publish.geo import to_latlon, to_wgs84
from gapmap.publish.mapplaces import PLACES_ATTRIBUTION, towns_and_villages
from gapmap.publish.mapwords import (
    _esc,
    _missing,
    _services_in_words,
    _short_name,
    _table_html,
    _with_places,
    days_in_words,
)
from gapmap.publish.palette import (
    MARKERS,
    WITHHELD,
    Classes,
)
from gapmap.reach import free_hours
from gapmap.safety import registration_words
from gapmap.vocab import hours_words

__all__ = ["ATTRIBUTION", "save_map"]


ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right. Contains Royal Mail data © Royal "
    "Mail copyright and database right."
)


def _leaflet_inline() -> str:
    data = files("xstatic.pkg.leaflet") / "data"
    js = (data / "leaflet.js").read_text(encoding="utf-8")
    css = (data / "leaflet.css").read_text(encoding="utf-8")
    # a literal "</script" inside the library would end the tag early; Leaflet has none, but be safe
    js = js.replace("</script", "<\\/script")
    return f"<style>{css}</style>\n<script>{js}</script>"


_ASSETS = files("gapmap.publish") / "assets"


def _asset(name: str) -> str:
    """A stylesheet or script of the maps (``publish/assets``), safe to inline."""
    return (_ASSETS / name).read_text(encoding="utf-8").replace("</", "<\\/")


# Builds the map once the page (and folium's map script) has loaded; map.js does the drawing.
_MAP_JS = """
document.addEventListener("DOMContentLoaded", function () {
  var map = __MAP__;
  var data = __DATA__;
  gapmapStart(map, data);
});
"""


def _script_json(obj) -> str:
    """JSON safe inside a <script> element: no "<", ">" or "&" that could end or confuse it."""
    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _key_line(colour: str, label: str, *, hatch: bool = False, shape: str = "") -> str:
    cls = "gapmap-key gapmap-hatch" if hatch else "gapmap-key"
    style = "" if hatch else f"background:{colour};"
    return f'<div><span class="{cls}" style="{style}{shape}"></span>{_esc(label)}</div>'


def _legend_block(c: Classes) -> str:
    lines = "".join(_key_line(col, label, hatch=col == WITHHELD) for col, label in c.legend())
    return f"<h2>{_esc(c.title)}</h2><p>{_esc(c.explain)}</p>{lines}"


def _worded(layers: list, rule: Suppression) -> list:
    """The layers with the rule's own words on their keys' withheld line."""
    return [
        (key, name, replace(c, withheld_label=rule.withheld_label), colours)
        for key, name, c, colours in layers
    ]


def _withheld(t: pd.DataFrame) -> np.ndarray:
    """Areas whose people-based figures are withheld (published ``people`` is ``*``)."""
    return (t["people"].astype(str) == "*").to_numpy()


def _places(
    g: gpd.GeoDataFrame,
    area_pts: tuple[np.ndarray, np.ndarray],
    towns: pd.DataFrame,
    district_bounds: dict[str, dict],
    extra: pd.DataFrame | None,
) -> list[dict]:
    """Search entries, in the order a tie is settled: postcode districts and sectors, towns and
    villages (largest first), areas, districts. Each has ``label`` (what the list shows),
    ``keys`` (what a search matches), ``kind``, a point (``lat``, ``lon``), ``bounds`` where it
    has an outline, and the ``area`` it highlights. Texts are plain (the page uses
    ``textContent``)."""
    out: list[dict] = []
    records = g.to_dict("records")
    area_lat, area_lon = area_pts
    names = [str(r["area_name"]) if not _missing(r["area_name"]) else "" for r in records]
    if extra is not None and len(extra):
        lat, lon = to_latlon(extra["x"].to_numpy(float), extra["y"].to_numpy(float))
        pts = gpd.GeoDataFrame(
            geometry=gpd.points_from_xy(extra["x"], extra["y"]), crs=27700
        ).to_crs(g.crs)
        hit = gpd.sjoin(pts, g[[g.geometry.name]], how="left", predicate="within")
        hit = hit[~hit.index.duplicated()]
        kinds = (
            extra["kind"]
            if "kind" in extra
            else extra["name"].astype(str).str.extract(r"\((postcode \w+)\)$")[0].fillna("place")
        )
        codes = (
            extra["code"] if "code" in extra else extra["name"].astype(str).str.split(" (").str[0]
        )
        for k, (name, kind, code, la, lo) in enumerate(zip(extra["name"], kinds, codes, lat, lon)):
            entry: dict = {"label": str(name), "keys": [str(code)], "kind": str(kind),
                           "lat": round(float(la), 5), "lon": round(float(lo), 5)}  # fmt: skip
            a = hit["index_right"].iloc[k]
            if not _missing(a):
                i = int(a)
                entry["area"] = i
                district = "" if _missing(records[i]["district"]) else str(records[i]["district"])
                entry["where"] = (
                    f"in {district}"
                    if str(kind).startswith("postcode") and district
                    else f"in {names[i]}" + (f", {district}" if district else "")
                )
            out.append(entry)
    for t in towns.to_dict("records"):
        i = int(t["area"])
        where = f"in {names[i]}" if t["inside"] else f"near {names[i]}"
        district = str(t["district"])
        lat, lon = to_latlon([t["x"]], [t["y"]])
        out.append(
            {
                "label": f"{t['name']} (town or village), {where}"
                + (f", {district}" if district else ""),
                "keys": [str(t["name"])],
                "kind": "town",
                "lat": round(float(lat[0]), 5),
                "lon": round(float(lon[0]), 5),
                "area": i,
            }
        )
    for i, (r, geom) in enumerate(zip(records, g.geometry)):
        minx, miny, maxx, maxy = geom.bounds
        district = "" if _missing(r["district"]) else str(r["district"])
        out.append(
            {
                "label": f"{names[i]} ({r['area_code']})" + (f", {district}" if district else ""),
                "keys": [names[i], str(r["area_code"])],
                "kind": "area",
                "area": i,
                "lat": round(float(area_lat[i]), 5),
                "lon": round(float(area_lon[i]), 5),
                "bounds": [[miny, minx], [maxy, maxx]],
            }
        )
    for name, b in district_bounds.items():
        out.append({"label": f"{name} (district)", "keys": [name], "kind": "district", **b})
    return out


def _labels(
    districts: list[tuple[str, float, float]],
    towns: pd.DataFrame,
    areas: list[tuple[str, float, float]],
) -> list[dict]:
    """Names to draw, most important first, each with the zoom from which it may show.

    Districts always; towns of 20,000 people or more from zoom 9 (the whole county on a
    laptop), of 5,000 from 10.5, villages from 11.5 and area names from 12 (a few km across).
    The page draws them in this order and skips any that would overlap one already drawn.
    """
    out = [{"t": n, "lat": a, "lon": b, "k": "district", "z": 0} for n, a, b in districts if n]
    if len(towns):
        lat, lon = to_latlon(towns["x"].to_numpy(float), towns["y"].to_numpy(float))
        for name, pop, a, b in zip(towns["name"], towns["population"], lat, lon):
            kind = "town" if pop >= 5000 else "village"
            zoom = 9.0 if pop >= 20000 else 10.5 if pop >= 5000 else 11.5
            out.append({"t": str(name), "lat": round(float(a), 5), "lon": round(float(b), 5),
                        "k": kind, "z": zoom})  # fmt: skip
    out += [{"t": n, "lat": a, "lon": b, "k": "area", "z": 12} for n, a, b in areas if n]
    return out


def _provider_markers(providers: pd.DataFrame | None) -> list[dict]:
    """Providers in words: services, days, free hours a week and CQC registration."""
    markers: list[dict] = []
    if providers is None or not len(providers):
        return markers
    lats, lons = to_latlon(providers["x"].to_numpy(float), providers["y"].to_numpy(float))
    free = (
        np.maximum(0.0, free_hours(providers))
        if "committed_hours" in providers
        else providers["capacity_hours"].to_numpy(float)
    )
    for r, lat, lon, f in zip(providers.to_dict("records"), lats, lons, free):
        rows = [
            ("Provider", f"<strong>{_esc(r['name'])}</strong>"),
            ("Services", _esc(_services_in_words(r["services"]))),
            ("Works", _esc(days_in_words(r["days"]))),
            ("Free hours a week", "none free" if f <= 0 else _esc(hours_words(float(f)))),
        ]
        if "cqc_registered" in r and not _missing(r["cqc_registered"]):
            rows.append(("Registration", _esc(registration_words(bool(r["cqc_registered"])))))
        for col, label in (("phone", "Phone"), ("email", "Email"), ("website", "Website")):
            if col in r and not _missing(r[col]) and str(r[col]).strip():
                rows.append((label, _esc(r[col])))
        markers.append(
            {
                "lat": round(float(lat), 5),
                "lon": round(float(lon), 5),
                "name": "" if _missing(r["name"]) else str(r["name"]),
                "tip": _table_html(rows),
            }
        )
    return markers


def _area_map(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    *,
    title: str,
    caption: str,
    tips: list[str],
    layers: list[tuple[str, str, Classes, list[str]]],
    key_lines: list[dict],
    note: str,
    sites: list[dict] | None = None,
    places: pd.DataFrame | None = None,
    rural_shown: bool = True,
    simplify_m: float = 20.0,
) -> folium.Map:
    """The offline map shell shared by both maps.

    ``layers`` are ``(key, name, classes, fill per area)``; the first is shown at start.
    """
    g = published.copy()
    towns = towns_and_villages(g)
    g["geometry"] = g.geometry.simplify(simplify_m, preserve_topology=True)
    districts = g[["district", "geometry"]].copy()
    districts["district"] = districts["district"].fillna("").astype(str)
    districts = districts.dissolve(by="district", as_index=False)
    label_pts = districts.geometry.representative_point()
    area_pts = g.geometry.representative_point()
    g = to_wgs84(g)
    districts = to_wgs84(districts)
    # 5 decimal places of a degree is about 1 m: enough for a map, a fraction of the bytes
    g["geometry"] = shapely.set_precision(g.geometry.to_numpy(), 1e-5)
    districts["geometry"] = shapely.set_precision(districts.geometry.to_numpy(), 1e-5)
    minx, miny, maxx, maxy = g.total_bounds

    m = folium.Map(tiles=None, control_scale=False, prefer_canvas=False)
    m.default_js = []
    m.default_css = []
    root: Any = m.get_root()
    root.header.add_child(folium.Element(_leaflet_inline()))
    root.header.add_child(
        folium.Element(
            f"<title>{_esc(title)}</title><style>{_asset('map.css')}</style>"
            f"<script>{_asset('map.js')}</script>"
        )
    )

    rural_gap = g["rural_gap"].astype(bool).to_numpy() if "rural_gap" in g else np.zeros(len(g))
    records = published.to_dict("records")
    here: dict[int, list[str]] = {}  # towns and villages in each area, largest first
    for name, i, inside in zip(towns["name"], towns["area"], towns["inside"]):
        if inside:
            here.setdefault(int(i), []).append(str(name))
    features = [
        {
            "type": "Feature",
            "geometry": geom.__geo_interface__,
            "properties": {
                "index": i,
                "name": ", ".join(
                    str(v) for v in (records[i]["area_name"], records[i]["district"])
                    if not _missing(v) and str(v)
                ),
                "tip": _with_places(tips[i], here.get(i, [])),
                "rural_gap": bool(rural_gap[i]),
                "fill": {key: fills[i] for key, _, _, fills in layers},
            },
        }
        for i, geom in enumerate(g.geometry)
    ]  # fmt: skip
    dl_lat, dl_lon = to_latlon(label_pts.x.to_numpy(), label_pts.y.to_numpy())
    al_lat, al_lon = to_latlon(area_pts.x.to_numpy(), area_pts.y.to_numpy())
    district_labels = [
        (str(n), round(float(a), 5), round(float(b), 5))
        for n, a, b in zip(districts["district"], dl_lat, dl_lon)
    ]
    district_bounds: dict[str, dict] = {}
    for (n, a, b), geom in zip(district_labels, districts.geometry):
        if n:
            x0, y0, x1, y1 = geom.bounds
            district_bounds[n] = {"lat": a, "lon": b, "bounds": [[y0, x0], [y1, x1]]}
    area_labels = [
        (_short_name(n), round(float(a), 5), round(float(b), 5))
        for n, a, b in zip(published["area_name"], al_lat, al_lon)
    ]
    credit = ATTRIBUTION + (" " + PLACES_ATTRIBUTION if len(towns) else "")
    data = {
        "withheld": WITHHELD,
        "markers": {k: {"fill": f, "edge": e} for k, (f, e) in MARKERS.items()},
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        "areas": {"type": "FeatureCollection", "features": features},
        "districts": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": geom.__geo_interface__, "properties": {}}
                for geom in districts.geometry
            ],
        },
        "labels": _labels(district_labels, towns, area_labels),
        "layers": [
            {"key": key, "name": _esc(name), "legend": _legend_block(c)}
            for key, name, c, _ in layers
        ],
        "keyLines": key_lines,
        "note": note,
        "ruralShown": rural_shown,
        "providers": _provider_markers(providers),
        "sites": sites or [],
        "places": _places(g, (al_lat, al_lon), towns, district_bounds, places),
    }
    body = (
        '<a id="gapmap-skip" class="gapmap-skip" href="#gapmap-find">Skip to the map search</a>'
        f'<header id="gapmap-header"><h1>{_esc(title)}</h1>'
        '<button type="button" id="gapmap-about" aria-expanded="false" '
        'aria-controls="gapmap-caption">Date and sources</button>'
        f'<p id="gapmap-caption">{_esc(caption)}</p></header>'
        '<aside id="gapmap-print-legend" aria-hidden="true"></aside>'
        f'<footer id="gapmap-footer">{_esc(credit)}</footer>'
    )
    root.html.add_child(folium.Element(body))
    script = _MAP_JS.replace("__MAP__", m.get_name()).replace("__DATA__", _script_json(data))
    root.script.add_child(folium.Element(script))
    return m


def _common_keys(*, rural: bool = True) -> list[dict]:
    keys: list[dict] = []
    if rural:
        keys.append(
            {
                "overlay": "rural",
                "html": _key_line(
                    "",
                    "Rural gap (outlined)",
                    shape=f"background:none;border:2px dashed {MARKERS['rural_gap'][1]};",
                ),
            }
        )
    keys += [
        {
            "overlay": "providers",
            "html": _key_line(
                MARKERS["provider"][0],
                "Micro-provider (postcode centroid)",
                shape="border-radius:50%;",
            ),
        },
        {
            "overlay": None,
            "html": _key_line(
                "",
                "District boundary and name",
                shape=f"background:none;border:2px solid {MARKERS['district'][1]};",
            ),
        },
    ]
    return keys


def save_map(m: folium.Map, path) -> None:
    """Write a folium map as one self-contained HTML file (atomically).

    Parameters
    ----------
    m
        The map.
    path
        The HTML file.
    """
    from gapmap.publish.export import write_text

    write_text(_zoomable(m.get_root().render()), path)


_VIEWPORT = re.compile(r'<meta name="viewport"[^>]*>')


def _zoomable(page: str) -> str:
    """The page with a viewport that lets people zoom it (folium's forbids it)."""
    return _VIEWPORT.sub(
        '<meta name="viewport" content="width=device-width, initial-scale=1">', page
    )
