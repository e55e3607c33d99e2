"""Interactive maps that work offline and print well: the gap map and the recruitment map.

Each map is one self-contained HTML file. Leaflet (1.9, from the PyPI package
``xstatic-leaflet``) and the maps' own stylesheet and script (``publish/assets/map.css`` and
``map.js``) are inlined, and nothing else is fetched except background tiles, which are
optional: when none load (no internet) the "No background" choice is selected by itself, and
the map gives its own bearings (:mod:`.mapplaces`): district outlines and names, towns and
villages, and area names, each shown from a zoom level and never over another name or a panel.

What a reader sees:

- a skip link (the first thing the Tab key reaches) to the search box;
- a title, the date and the data vintage above the map (``title`` and ``caption``; folded
  behind a "Date and sources" button on a phone), the sources' credit under it;
- one colouring of the areas at a time (the default is **unmet hours**, the hours to close),
  chosen in the "Map options" panel, with the legend ("Key") following the choice; areas whose
  figures are withheld (by the suppression rule) are hatched grey, never a colour of the scale;
- overlays: rural gaps (outlined), providers (always on top and clickable), recommended sites;
- a search box: a town or village, a full postcode (shown through its postcode sector: the map
  holds no single postcodes, and says so), a postcode sector or district, an area's name or
  code, a district;
- panels that fold to a button (folded from the start on a phone) and a county view fitted
  clear of them; popups in words (services, days, free hours) that pan clear of them; a page
  that may be zoomed; a scale bar and a print layout (no controls, legend beside the map).

Every text from input files (area and district names, providers' trading names) is
HTML-escaped before it enters the page's HTML, names drawn as labels are put in with
``textContent``, and the embedded JSON cannot end its ``<script>``. The maps take only
published figures (already suppressed), providers' postcode centroids and no person's location
or id. Colours and classes come from :mod:`.palette`, shared with the PNGs.
"""

from __future__ import annotations

import html
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
from gapmap.publish.palette import (
    MARKERS,
    WITHHELD,
    Classes,
    band_classes,
    change_classes,
    change_colour,
    hour_classes,
    imd_classes,
    priority_classes,
    priority_colour,
    weekend_classes,
    weekend_colour,
)
from gapmap.reach import free_hours
from gapmap.safety import registration_words
from gapmap.vocab import ALL_DAYS_MASK, hours_words, parse_days, parse_services, services_words

__all__ = ["ATTRIBUTION", "change_map", "days_in_words", "gap_map", "recruit_map", "save_map"]

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


def _esc(v) -> str:
    if v is None or v is pd.NA or (isinstance(v, float) and np.isnan(v)):
        return ""
    return html.escape(str(v), quote=True)


def _missing(v) -> bool:
    return v is None or v is pd.NA or (isinstance(v, (float, np.floating)) and np.isnan(v))


def _hours(v, withheld: str = "withheld") -> str:
    return withheld if _missing(v) else f"{float(v):,.0f} h"


def _pct(v, none: str = "no need") -> str:
    return none if _missing(v) else f"{100 * float(v):.0f}%"


def _km(v) -> str:
    return "none in reach" if _missing(v) else f"{float(v):,.1f} km"


def _table_html(rows: list[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(f"<tr><th scope='row'>{k}</th><td>{v}</td></tr>" for k, v in rows)
        + "</table>"
    )


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


_DAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def days_in_words(days: object) -> str:
    """Working days as a person says them: ``Monday to Friday``, ``every day``.

    Parameters
    ----------
    days
        A days mask, or days text as in the registers (``Mon;Tue;Wed``, ``Mon-Fri``).

    Returns
    -------
    str

    Examples
    --------
    >>> days_in_words("Mon-Fri"), days_in_words("Mon;Tue;Wed;Sat"), days_in_words("Sat;Sun")
    ('Monday to Friday', 'Monday to Wednesday and Saturday', 'Saturday and Sunday')
    >>> days_in_words("Mon;Thu"), days_in_words("weekdays;Sat;Sun")
    ('Monday and Thursday', 'every day')
    """
    mask = days if isinstance(days, int) else parse_days(days)
    if mask == ALL_DAYS_MASK:
        return "every day"
    runs: list[str] = []
    i = 0
    while i < 7:
        if not mask >> i & 1:
            i += 1
            continue
        j = i
        while j + 1 < 7 and mask >> (j + 1) & 1:
            j += 1
        if j - i >= 2:
            runs.append(f"{_DAY_NAMES[i]} to {_DAY_NAMES[j]}")
        else:
            runs += list(_DAY_NAMES[i : j + 1])
        i = j + 1
    if not runs:
        return "no days"
    return runs[0] if len(runs) == 1 else ", ".join(runs[:-1]) + " and " + runs[-1]


def _services_in_words(services: object) -> str:
    """Services in words, first letter capitalised (``Personal care and companionship``)."""
    words = services_words(parse_services(services))
    return words[:1].upper() + words[1:] if words else "none given"


def _with_places(tip: str, names: list[str]) -> str:
    """An area's popup with the towns and villages in it (a table row before its end)."""
    if not names or not tip.endswith("</table>"):
        return tip
    shown = ", ".join(_esc(n) for n in names[:4]) + (" and others" if len(names) > 4 else "")
    row = f"<tr><th scope='row'>Towns and villages</th><td>{shown}</td></tr>"
    return tip[: -len("</table>")] + row + "</table>"


def _short_name(name: object) -> str:
    """An area's name for a label (the built-in geography's ``CT1 2 sector`` → ``CT1 2``)."""
    text = "" if _missing(name) else str(name)
    return text[: -len(" sector")] if text.endswith(" sector") else text


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


def gap_map(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None = None,
    *,
    title: str = "gapmap: micro-provider gaps",
    caption: str = "",
    places: pd.DataFrame | None = None,
    weekend_weight: float = 0.5,
    rural_weight: float = 0.5,
    simplify_m: float = 20.0,
    rule: Suppression | None = None,
    resilience: pd.DataFrame | None = None,
) -> folium.Map:
    """The interactive gap map: unmet hours first, every other figure one click away.

    Parameters
    ----------
    published
        The **published** (suppressed) area table with geometry in EPSG:27700.
    providers
        Providers register (``name``, ``x``, ``y``, ``services``, ``days``,
        ``capacity_hours``, optional ``phone``, ``email``, ``website``); drawn at their postcode
        centroid.
    title, caption
        The heading above the map and the line under it (date, data vintage).
    places
        Extra search entries (``name``, ``x``, ``y`` in BNG metres), e.g. postcode districts.
    weekend_weight, rural_weight
        The gap score's weights (for the legend's explanation).
    simplify_m
        Simplification tolerance of the drawn outlines, metres.
    rule
        The suppression rule ``published`` follows (default: the NHS England rule); the map's
        words about withheld figures are its own.
    resilience
        Optional N−1 resilience by area **as published**
        (:func:`gapmap.publish.cover.publish_resilience`: ``area_code``,
        ``worst_single_absence_hours``, ``expected_uncovered_hours``, NaN where withheld): two
        more layers and two more lines in each area's details. Areas it does not list support
        no one, so no absence leaves hours uncovered there (0).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
    rule = rule or Suppression()
    held_words = f"withheld ({rule.few} people)"
    t = pd.DataFrame(published.drop(columns=published.geometry.name))
    hidden = _withheld(t)
    estimated = "estimated_need_hours" in t
    n1 = resilience is not None
    if resilience is not None:
        res = pd.DataFrame(resilience).drop_duplicates("area_code").set_index("area_code")
        listed = t["area_code"].isin(res.index).to_numpy()
        for col in ("worst_single_absence_hours", "expected_uncovered_hours"):
            got = pd.to_numeric(t["area_code"].map(res[col]), errors="coerce").to_numpy(float)
            t["n1_" + col] = np.where(listed, got, 0.0)

    def tip(r: dict, held: bool) -> str:
        flags = (("rural gap", r["rural_gap"]), ("weekend gap", r["weekend_gap"]))
        gaps = [b for b, f in flags if f]
        rows = [
            ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
            ("District", _esc(r["district"])),
            ("Rural", "yes" if r["rural"] else "no"),
            ("People waiting", rule.few if held else _esc(r["people"])),
            ("Unmet a week micro-providers may meet",
             _hours(r.get("micro_unmet_hours"), held_words)),
            ("Need for regulated services a week",
             _hours(r.get("need_hours_not_self_directing"), held_words)),
            ("Need a week (everyone waiting)", _hours(r["need_hours"], held_words)),
            ("Unmet a week (everyone waiting)", _hours(r["unmet_hours"], held_words)),
            ("Share of need in reach", "withheld" if held else _pct(r["coverage_ratio"])),
            (
                "Weekend share in reach",
                "withheld" if held else _pct(r["weekend_coverage_ratio"], "no weekend need"),
            ),
            (
                "Provider hours in reach per hour of need",
                "withheld" if held or _missing(r["provision_ratio"])
                else f"{float(r['provision_ratio']):.2f}",
            ),
            ("Nearest provider", _km(r["nearest_provider_km"])),
            ("Gap score", _hours(r["gap_score"], held_words).replace(" h", "")),
            ("Gap", ", ".join([_esc(r["gap_band"]).capitalize(), *gaps])),
        ]  # fmt: skip
        if "imd_decile" in r:
            rows.append(
                ("Deprivation", "no IMD value" if _missing(r["imd_decile"])
                 else f"IMD decile {int(r['imd_decile'])} of 10 (1 = most deprived)"),
            )  # fmt: skip
        if n1:
            rows += [
                ("One provider off (N−1): worst single absence",
                 _hours(r["n1_worst_single_absence_hours"], held_words)),
                ("One provider off (N−1): expected uncovered",
                 _hours(r["n1_expected_uncovered_hours"], held_words)),
            ]  # fmt: skip
        if estimated:
            rows += [
                ("Estimated need a week (census)", _hours(r["estimated_need_hours"], "none")),
                ("Estimated unmet a week", _hours(r["estimated_unmet_hours"], "none")),
                ("Estimated share in reach", _pct(r["estimated_coverage_ratio"])),
            ]
        return _table_html(rows)

    records = t.to_dict("records")
    tips = [tip(r, bool(h)) for r, h in zip(records, hidden)]
    # the headline (issue 31): only need micro-providers may meet; regulated need apart
    key = "micro_unmet_hours" if "micro_unmet_hours" in t else "unmet_hours"
    unmet = hour_classes(
        t[key],
        title="Unmet hours a week micro-providers may meet",
        explain="Hours needed by people who can direct their own care (or have a "
        "representative who can) that no provider within travel distance has free: the hours "
        "to close. Need of people who cannot is need for regulated services, not counted here.",
        rule=rule,
    )
    score = hour_classes(
        t["gap_score"],
        rule=rule,
        title="Gap score",
        explain=f"Unmet hours × (1 + {weekend_weight:g} if the area has a weekend gap + "
        f"{rural_weight:g} if it has a rural gap): where hours are both unmet and hardest to "
        "serve.",
    )
    bands, weekend = band_classes(), weekend_classes()
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("unmet", "Unmet hours", unmet, [unmet.colour(v) for v in t[key]]),
        (
            "coverage",
            "Share of need in reach",
            bands,
            [WITHHELD if h else bands.colour(b) for h, b in zip(hidden, t["gap_band"])],
        ),
        (
            "weekend",
            "Weekend share in reach",
            weekend,
            [
                WITHHELD if h else weekend_colour(v, n)
                for h, v, n in zip(hidden, t["weekend_coverage_ratio"], t["weekend_need_hours"])
            ],
        ),
        ("score", "Gap score", score, [score.colour(v) for v in t["gap_score"]]),
    ]
    if estimated:
        est_need = hour_classes(
            t["estimated_need_hours"],
            title="Estimated need a week (census)",
            explain="Hours of help adults are estimated to need, from the Census population "
            "and published survey rates: need that may not be on any waiting list.",
            withheld=False,
        )
        est_unmet = hour_classes(
            t["estimated_unmet_hours"],
            title="Estimated unmet hours a week (census)",
            explain="Estimated need that no provider within travel distance has free.",
            withheld=False,
        )
        layers += [
            ("est_need", "Estimated need (census)", est_need,
             [est_need.colour(v) for v in t["estimated_need_hours"]]),
            ("est_unmet", "Estimated unmet hours (census)", est_unmet,
             [est_unmet.colour(v) for v in t["estimated_unmet_hours"]]),
        ]  # fmt: skip
    if "imd_decile" in t:
        imd = imd_classes()
        layers.append(
            ("imd", "Deprivation (IMD decile)", imd,
             ["#ffffff" if _missing(v) else imd.colour(int(v)) for v in t["imd_decile"]]),
        )  # fmt: skip
    if n1:
        worst = hour_classes(
            t["n1_worst_single_absence_hours"],
            title="One provider off: worst single absence (N−1)",
            explain="Hours a week the best cover plan would leave uncovered in the area if the "
            "one provider whose absence hurts it most were off for a week.",
        )
        expected = hour_classes(
            t["n1_expected_uncovered_hours"],
            title="One provider off: expected uncovered hours (N−1)",
            explain="Hours a week expected to go uncovered in the area when providers are off "
            "at the usual absence rate, after the best cover plans.",
        )
        layers += [
            ("n1_worst", "One provider off: worst (N−1)", worst,
             [worst.colour(v) for v in t["n1_worst_single_absence_hours"]]),
            ("n1_expected", "One provider off: expected (N−1)", expected,
             [expected.colour(v) for v in t["n1_expected_uncovered_hours"]]),
        ]  # fmt: skip
    note = (
        f"Hours {rule.rounding}; areas with {rule.hidden} people show * and withhold their "
        "figures. Providers are drawn at their postcode's centre."
    )
    layers = _worded(layers, rule)
    return _area_map(
        published, providers, title=title, caption=caption, tips=tips, layers=layers,
        key_lines=_common_keys(), note=note, places=places, simplify_m=simplify_m,
    )  # fmt: skip


def recruit_map(
    ranking: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    sites: pd.DataFrame,
    *,
    title: str = "gapmap: where to recruit micro-providers",
    caption: str = "",
    places: pd.DataFrame | None = None,
    simplify_m: float = 20.0,
    recommended: int | None = None,
    rule: Suppression | None = None,
) -> folium.Map:
    """Ranked areas (priority for recruitment) and recommended sites, one layer per scenario.

    Parameters
    ----------
    ranking
        The **published** ranking (:func:`gapmap.publish.publish_ranking`), EPSG:27700, with
        its ``outcome`` (what the largest scenario does for the area, in words).
    providers
        Existing providers (drawn on top).
    sites
        The **published** sites (:func:`gapmap.publish.publish_sites`), with
        ``new_providers`` (the scenario), ``latitude``, ``longitude``, ``explanation``.
    title, caption
        The heading and the line under it (date, data vintage).
    places
        Extra search entries (``name``, ``x``, ``y`` in BNG metres).
    simplify_m
        Simplification tolerance of the drawn outlines, metres.
    recommended
        The scenario the report recommends: the map opens on its sites (default: the largest).
    rule
        The suppression rule the tables follow (its words in the key and the note).

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
    rule = rule or Suppression()
    t = pd.DataFrame(ranking.drop(columns=ranking.geometry.name))
    n_ranked = int(t["priority_rank"].notna().sum())

    def tip(r: dict) -> str:
        rank = r["priority_rank"]
        rows = [
            ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
            ("District", _esc(r["district"])),
            (
                "Priority",
                "no rank: nothing to recruit for" if _missing(rank)
                else f"{int(rank)} of {n_ranked}",
            ),
            ("Why", _esc(r["reason"])),
            ("Unmet a week", _hours(r["unmet_hours"])),
            ("A recruit could take a week", _hours(r["recruitable_unmet_hours"])),
            ("Nearest weekend provider", _km(r["nearest_weekend_provider_km"])),
            ("New providers here", _esc(r["new_providers_recommended"])),
        ]  # fmt: skip
        if "outcome" in r:
            rows.append(("Outcome", _esc(r["outcome"])))
        return _table_html(rows)

    tips = [tip(r) for r in t.to_dict("records")]
    prio = priority_classes()
    unmet = hour_classes(
        t["unmet_hours"], title="Unmet hours a week",
        explain="Hours people need that no provider within travel distance has free.", rule=rule,
    )  # fmt: skip
    recruitable = hour_classes(
        t["recruitable_unmet_hours"],
        rule=rule,
        title="Hours a recruit could take a week",
        explain="Unmet hours of people a micro-provider may serve (self-directing, no regulated "
        "care, services recruits offer), on the days recruits work.",
    )
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("priority", "Priority for recruitment", prio,
         [priority_colour(v, n_ranked) for v in t["priority_rank"]]),
        ("unmet", "Unmet hours", unmet, [unmet.colour(v) for v in t["unmet_hours"]]),
        ("recruitable", "Hours a recruit could take", recruitable,
         [recruitable.colour(v) for v in t["recruitable_unmet_hours"]]),
    ]  # fmt: skip
    groups = []
    scenarios = sorted(sites["new_providers"].unique()) if len(sites) else []
    for k in scenarios:
        s = sites[sites["new_providers"] == k]
        points = []
        for r in s.to_dict("records"):
            rows = [
                ("Site", f"<strong>{int(r['site_rank'])}</strong> of {len(s)} for {int(k)} "
                         "new providers"),
                ("Area", _esc(r["area_name"])),
                *([("Town or village", _esc(r["place"]))] if r.get("place") else []),
                ("District", _esc(r["district"])),
                ("New providers here", str(int(r["providers_at"]))),
                ("Would take a week", _hours(r["hours_taken"], "withheld (few people)")),
                ("Unmet hours in reach", _hours(r["unmet_hours_in_reach"], "withheld")),
            ]  # fmt: skip
            if "explanation" in r:
                rows.append(("Why here", _esc(r["explanation"])))
            points.append(
                {
                    "lat": float(r["latitude"]),
                    "lon": float(r["longitude"]),
                    "r": 5 + 2 * int(r["providers_at"]),
                    "name": f"Site {int(r['site_rank'])}: "
                    + ("" if _missing(r["area_name"]) else str(r["area_name"])),
                    "tip": _table_html(rows),
                }
            )
        opens = recommended if recommended in scenarios else scenarios[-1]
        groups.append(
            {
                "name": f"Sites for {int(k)} new providers"
                + (" (recommended)" if k == recommended else ""),
                "show": bool(k == opens),
                "points": points,
            }
        )
    keys = [
        {
            "overlay": None,
            "html": _key_line(
                MARKERS["site"][0],
                "Recommended site (larger: more new providers there)",
                shape=f"border-radius:50%;border:2px solid {MARKERS['site'][1]};",
            ),
        },
        *_common_keys(),
    ]
    note = (
        f"Sites are points inside areas, not addresses. Hours {rule.rounding}; areas with "
        f"{rule.hidden} people withhold their hours."
    )
    layers = _worded(layers, rule)
    return _area_map(
        ranking, providers, title=title, caption=caption, tips=tips, layers=layers,
        key_lines=keys, note=note, sites=groups, places=places, rural_shown=False,
        simplify_m=simplify_m,
    )  # fmt: skip


def change_map(
    areas: gpd.GeoDataFrame,
    *,
    title: str = "gapmap: what changed",
    words: list[str] | None = None,
    simplify_m: float = 20.0,
    rule: Suppression | None = None,
) -> folium.Map:
    """The change in unmet hours between two runs, area by area.

    Parameters
    ----------
    areas
        :attr:`gapmap.compare.Comparison.areas` with the later run's geometry (EPSG:27700).
    title
        The heading.
    words
        The comparison in words (shown under the title).
    simplify_m
        Simplification tolerance of the drawn outlines, metres.
    rule
        The runs' small-number rule (:attr:`gapmap.compare.Comparison.rule`), said in the key.

    Returns
    -------
    folium.Map
    """
    t = pd.DataFrame(areas.drop(columns=areas.geometry.name))

    def tip(r: dict) -> str:
        return _table_html(
            [
                ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
                ("District", _esc(r["district"])),
                ("Unmet then", _hours(r["unmet_hours_before"])),
                ("Unmet now", _hours(r["unmet_hours_after"])),
                ("Change", "withheld" if _missing(r["unmet_hours_change"])
                 else f"{float(r['unmet_hours_change']):+,.0f} h"),
                ("Share in reach then", _pct(r["coverage_ratio_before"])),
                ("Share in reach now", _pct(r["coverage_ratio_after"])),
            ]
        )  # fmt: skip

    rule = rule or Suppression()
    unmet = hour_classes(
        t["unmet_hours_after"], title="Unmet hours a week now",
        explain="Hours people need that no provider within travel distance has free.",
        rule=rule,
    )  # fmt: skip
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("change", "Change in unmet hours", change_classes(rule),
         [change_colour(v) for v in t["unmet_hours_change"]]),
        ("unmet", "Unmet hours now", unmet, [unmet.colour(v) for v in t["unmet_hours_after"]]),
    ]  # fmt: skip
    g = areas.assign(rural_gap=False)
    return _area_map(
        g, None, title=title, caption=" ".join(words or []),
        tips=[tip(r) for r in t.to_dict("records")], layers=layers,
        key_lines=_common_keys(rural=False)[1:],
        note=f"Hours {rule.rounding} in both runs.",
        rural_shown=False, simplify_m=simplify_m,
    )  # fmt: skip


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
