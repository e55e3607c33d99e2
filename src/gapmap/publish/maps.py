"""Maps that work offline: interactive folium/Leaflet HTML and static PNG.

Leaflet (the same 1.9.3 that folium uses, from the PyPI package ``xstatic-leaflet``) is inlined
in the page, and folium's other CDN scripts (jQuery, Bootstrap, icon fonts) are left out: the
maps use only Leaflet itself, so they open with no internet. Background tiles may then be
missing, but every area and marker is drawn.

Every text from input files (area and district names, providers' trading names) is
HTML-escaped before it enters the page, so a name like ``<script>`` shows as text. The maps take
only published figures (already suppressed), providers' postcode centroids and no person's
location or id.
"""

from __future__ import annotations

import html
from importlib.resources import files
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .geo import to_latlon, to_wgs84

__all__ = [
    "ATTRIBUTION",
    "BAND_COLOURS",
    "gap_map",
    "gap_map_png",
    "recruit_map",
    "save_map",
    "scenario_chart_png",
]

ATTRIBUTION = (
    "Source: Office for National Statistics licensed under the Open Government Licence v.3.0. "
    "Contains OS data © Crown copyright and database right. Contains Royal Mail data © Royal "
    "Mail copyright and database right."
)
BAND_COLOURS = {"high": "#b2182b", "medium": "#ef8a62", "low": "#fddbc7", "none": "#d1e5f0"}
BAND_LABELS = {
    "high": "High gap: less than 40% of need in reach",
    "medium": "Medium gap: 40-75% of need in reach",
    "low": "Low gap: 75% or more in reach",
    "none": "No unmet need (or no need)",
}
WEEKEND_BINS = [(0.0, "#7f0000", "none in reach (0%)"), (1e-9, "#d7301f", "below 25%"),
                (0.25, "#fc8d59", "25-50%"), (0.5, "#fdcc8a", "50-75%"),
                (0.75, "#91cf60", "75% or more")]  # fmt: skip


def _leaflet_inline() -> str:
    data = files("xstatic.pkg.leaflet") / "data"
    js = (data / "leaflet.js").read_text(encoding="utf-8")
    css = (data / "leaflet.css").read_text(encoding="utf-8")
    # a literal "</script" inside the library would end the tag early; Leaflet has none, but be safe
    js = js.replace("</script", "<\\/script")
    return f"<style>{css}</style>\n<script>{js}</script>"


# Builds the three area layers from one embedded copy of the areas, the provider markers, and
# the layer control. Runs once the page (and folium's map script) is loaded.
_LAYERS_JS = """
document.addEventListener("DOMContentLoaded", function () {
  var map = __MAP__;
  var data = __DATA__;
  var overlays = {};
  data.layers.forEach(function (d) {
    var layer = L.geoJSON(data.areas, {
      style: function (f) { return f.properties.styles[d.key]; },
      onEachFeature: function (f, l) {
        l.bindTooltip(f.properties.tip, {sticky: true});
        l.on("mouseover", function () { l.setStyle({weight: 2.5, color: "#000"}); });
        l.on("mouseout", function () { layer.resetStyle(l); });
      }
    });
    overlays[d.name] = layer;
    if (d.show) { layer.addTo(map); }
  });
  if (data.providers.length) {
    var group = L.layerGroup(data.providers.map(function (p) {
      return L.circleMarker([p.lat, p.lon], {radius: 4, color: "#0b5d1e", weight: 1,
        fillColor: "#1a9850", fillOpacity: 0.9}).bindTooltip(p.tip);
    }));
    overlays["Micro-providers"] = group;
    group.addTo(map);
  }
  (data.sites || []).forEach(function (s) {
    var g = L.layerGroup(s.points.map(function (p) {
      return L.circleMarker([p.lat, p.lon], {radius: p.r, color: "#08306b", weight: 2,
        fillColor: "#4292c6", fillOpacity: 0.85}).bindTooltip(p.tip);
    }));
    overlays[s.name] = g;
    if (s.show) { g.addTo(map); }
  });
  L.control.layers({"Background map (online only)": __TILES__}, overlays,
                   {collapsed: false}).addTo(map);
  window.gapmapLayers = overlays;
});
"""


def _script_json(obj) -> str:
    """JSON safe inside a <script> element: no "<", ">" or "&" that could end or confuse it."""
    import json

    text = json.dumps(obj, separators=(",", ":"), allow_nan=False)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _esc(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return ""
    return html.escape(str(v), quote=True)


def _fmt(v, digits=0, pct=False) -> str:
    if v is None or (isinstance(v, (float, np.floating)) and np.isnan(v)):
        return "withheld" if not pct else "no need"
    if isinstance(v, str):
        return _esc(v)
    if pct:
        return f"{100 * float(v):.0f}%"
    return f"{float(v):,.{digits}f}"


def _weekend_colour(r) -> str:
    if r is None or (isinstance(r, float) and np.isnan(r)):
        return "#e0e0e0"
    colour = WEEKEND_BINS[0][1]
    for lo, c, _ in WEEKEND_BINS:
        if r >= lo:
            colour = c
    return colour


def _legend_box(title: str, body: str) -> str:
    """The legend panel shared by the maps: a titled box in the lower left, ``body`` inside."""
    return f"""
<div id="gapmap-legend" role="region" aria-label="Map legend" style="position:absolute;bottom:24px;
 left:10px;z-index:1000;background:white;padding:8px 10px;font:12px/1.4 sans-serif;max-width:300px;
 box-shadow:0 1px 4px rgba(0,0,0,.4);border-radius:4px">
<style>#gapmap-legend span{{display:inline-block;width:14px;height:14px;margin-right:6px;
 vertical-align:middle;border:1px solid #999}}</style>
<strong>{_esc(title)}</strong>
{body}
</div>"""


def _legend_html(title: str) -> str:
    band = "".join(
        f'<div><span style="background:{BAND_COLOURS[b]}"></span>{_esc(BAND_LABELS[b])}</div>'
        for b in ("high", "medium", "low", "none")
    )
    weekend = "".join(
        f'<div><span style="background:{c}"></span>{_esc(label)}</div>'
        for _, c, label in WEEKEND_BINS
    )
    return _legend_box(
        title,
        f"""<div style="margin-top:4px"><em>Unmet need</em>
 (share of need providers can reach)</div>{band}
<div style="margin-top:4px"><em>Weekend coverage</em></div>{weekend}
<div style="margin-top:4px"><span style="background:none;border:3px solid #6a3d9a"></span>
 Rural gap</div>
<div><span style="background:#1a9850;border-radius:50%"></span>
 Micro-provider (postcode centroid)</div>
<div style="margin-top:6px;color:#555;font-size:10px">Figures rounded to 5; areas with 1-7
 people show * and withhold hours. {_esc(ATTRIBUTION)}</div>""",
    )


def gap_map(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None = None,
    *,
    title: str = "gapmap: micro-provider gaps in Kent",
    simplify_m: float = 20.0,
) -> folium.Map:
    """An interactive gap map with switchable layers, legend, tooltips and OGL attribution.

    Parameters
    ----------
    published
        The **published** (suppressed) area table with geometry in EPSG:27700.
    providers
        Providers register (``name``, ``x``, ``y``, ``services``, ``days``, ``capacity_hours``);
        shown at their postcode centroid.
    """

    def tip(r) -> str:
        rows = [
            ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
            ("District", _esc(r["district"])),
            ("Rural", "yes" if r["rural"] else "no"),
            ("People waiting", _fmt(r["people"])),
            ("Need, h/week", _fmt(r["need_hours"])),
            ("Unmet, h/week", _fmt(r["unmet_hours"])),
            ("Share of need in reach", _fmt(r["coverage_ratio"], pct=True)),
            ("Weekend share in reach", _fmt(r["weekend_coverage_ratio"], pct=True)),
            ("Capacity in reach ÷ need", _fmt(r["provision_ratio"], 2)),
            ("Nearest provider", _fmt(r["nearest_provider_km"], 1) + " km"),
            *(
                [
                    ("Estimated need, h/week", _fmt(r["estimated_need_hours"])),
                    ("Estimated unmet, h/week", _fmt(r["estimated_unmet_hours"])),
                    ("Estimated share in reach", _fmt(r["estimated_coverage_ratio"], pct=True)),
                ]
                if "estimated_need_hours" in r
                else []
            ),
            (
                "Gap",
                _esc(r["gap_band"])
                + (", rural gap" if r["rural_gap"] else "")
                + (", weekend gap" if r["weekend_gap"] else ""),
            ),
        ]
        return _table_html(rows)

    styles = {
        "need": lambda r: {
            "fillColor": BAND_COLOURS.get(r["gap_band"], "#ccc"),
            "color": "#555",
            "weight": 0.5,
            "fillOpacity": 0.75,
        },
        "weekend": lambda r: {
            "fillColor": _weekend_colour(r["weekend_coverage_ratio"]),
            "color": "#555",
            "weight": 0.5,
            "fillOpacity": 0.75,
        },
        "rural": lambda r: (
            {"color": "#6a3d9a", "weight": 3, "fillOpacity": 0.15, "fillColor": "#6a3d9a"}
            if r["rural_gap"]
            else {
                "color": "#999",
                "weight": 0.3,
                "fillOpacity": 0.0,
                "opacity": 0.3 if r["rural"] else 0.0,
            }
        ),
    }
    layers = [
        {"key": "need", "name": "Unmet need", "show": True},
        {"key": "weekend", "name": "Weekend coverage", "show": False},
        {"key": "rural", "name": "Rural gaps", "show": True},
    ]
    return _area_map(
        published, providers, title=title, simplify_m=simplify_m, tip=tip, styles=styles,
        layers=layers, legend=_legend_html(title),
    )  # fmt: skip


def _provider_markers(providers: pd.DataFrame | None) -> list[dict]:
    markers = []
    if providers is not None and len(providers):
        lats, lons = to_latlon(providers["x"].to_numpy(float), providers["y"].to_numpy(float))
        for r, lat, lon in zip(providers.to_dict("records"), lats, lons):
            markers.append(
                {
                    "lat": round(float(lat), 5),
                    "lon": round(float(lon), 5),
                    "tip": (
                        f"<strong>{_esc(r['name'])}</strong><br>{_esc(r['services'])}<br>"
                        f"{_esc(r['days'])}; {float(r['capacity_hours']):g} h a week"
                    ),
                }
            )
    return markers


def _table_html(rows: list[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(
            f"<tr><th style='text-align:left;padding-right:6px'>{k}</th><td>{v}</td></tr>"
            for k, v in rows
        )
        + "</table>"
    )


def _area_map(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    *,
    title: str,
    simplify_m: float,
    tip,
    styles: dict,
    layers: list[dict],
    legend: str,
    sites: list[dict] | None = None,
) -> folium.Map:
    """The offline map shell: areas (one embedded copy, one layer per style), providers, sites
    (groups of ``{"lat", "lon", "r", "tip"}`` points, already escaped), legend, attribution."""
    g = published.copy()
    g["geometry"] = g.geometry.simplify(simplify_m, preserve_topology=True)
    g = to_wgs84(g)
    # 5 decimal places of a degree is about 1 m: enough for a map, a fraction of the bytes
    g["geometry"] = shapely.set_precision(g.geometry.to_numpy(), 1e-5)
    minx, miny, maxx, maxy = g.total_bounds
    m = folium.Map(tiles=None, control_scale=True, prefer_canvas=False)
    m.default_js = []
    m.default_css = []
    root: Any = m.get_root()
    root.header.add_child(folium.Element(_leaflet_inline()))
    root.header.add_child(folium.Element(f"<title>{_esc(title)}</title>"))
    tiles = folium.TileLayer(
        "OpenStreetMap",
        name="Background map (online only)",
        attr=("&copy; OpenStreetMap contributors | " + _esc(ATTRIBUTION)),
        overlay=False,
        control=False,
    )
    tiles.add_to(m)
    m.fit_bounds([[miny, minx], [maxy, maxx]])

    features = [
        {
            "type": "Feature",
            "geometry": geom.__geo_interface__,
            "properties": {
                "code": _esc(r["area_code"]),
                "tip": tip(r),
                "styles": {k: f(r) for k, f in styles.items()},
            },
        }
        for r, geom in zip(g.to_dict("records"), g.geometry)
    ]
    data = {
        "areas": {"type": "FeatureCollection", "features": features},
        "layers": layers,
        "providers": _provider_markers(providers),
        "sites": sites or [],
    }
    script = (
        _LAYERS_JS.replace("__MAP__", m.get_name())
        .replace("__TILES__", tiles.get_name())
        .replace("__DATA__", _script_json(data))
    )
    root.script.add_child(folium.Element(script))
    root.html.add_child(folium.Element(legend))
    return m


PRIORITY_BINS = [(0.10, "#67000d", "top 10% of areas"), (0.25, "#cb181d", "top 10-25%"),
                 (0.50, "#fb6a4a", "top 25-50%"), (1.01, "#fcbba1", "lower half")]  # fmt: skip


def _priority_colour(rank: int, n_ranked: int) -> str:
    if rank <= 0 or n_ranked == 0:
        return "#f0f0f0"
    q = rank / n_ranked
    return next(c for hi, c, _ in PRIORITY_BINS if q <= hi)


def recruit_map(
    ranking: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    sites: pd.DataFrame,
    *,
    title: str = "gapmap: where to recruit micro-providers in Kent",
    simplify_m: float = 20.0,
) -> folium.Map:
    """Ranked areas (priority for recruitment) and recommended sites, one layer per scenario.

    Parameters
    ----------
    ranking
        The **published** ranking (:func:`gapmap.publish.publish_ranking`), EPSG:27700.
    sites
        The **published** sites (:func:`gapmap.publish.publish_sites`), with
        ``new_providers`` (the scenario), ``latitude`` and ``longitude``.
    """
    n_ranked = int(ranking["priority_rank"].notna().sum())

    def _rank(r) -> int:
        v = r["priority_rank"]
        return 0 if v is None or pd.isna(v) else int(v)

    def tip(r) -> str:
        rank = _rank(r)
        return _table_html(
            [
                ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
                ("District", _esc(r["district"])),
                ("Priority", f"{rank} of {n_ranked}" if rank > 0 else "nothing to recruit for"),
                ("Why", _esc(r["reason"])),
                ("Unmet, h/week", _fmt(r["unmet_hours"])),
                ("A recruit could take, h/week", _fmt(r["recruitable_unmet_hours"])),
                ("Nearest weekend provider", _fmt(r["nearest_weekend_provider_km"], 1) + " km"),
                ("New providers recommended", _fmt(r["new_providers_recommended"])),
            ]
        )

    styles = {
        "priority": lambda r: {
            "fillColor": _priority_colour(_rank(r), n_ranked),
            "color": "#555",
            "weight": 0.5,
            "fillOpacity": 0.75,
        },
        "rural": lambda r: (
            {"color": "#6a3d9a", "weight": 3, "fillOpacity": 0.0}
            if r["rural_gap"]
            else {"color": "#999", "weight": 0.0, "fillOpacity": 0.0, "opacity": 0.0}
        ),
    }
    layers = [
        {"key": "priority", "name": "Priority for recruitment", "show": True},
        {"key": "rural", "name": "Rural gaps", "show": False},
    ]
    groups = []
    scenarios = sorted(sites["new_providers"].unique()) if len(sites) else []
    for k in scenarios:
        s = sites[sites["new_providers"] == k]
        points = []
        for r in s.to_dict("records"):
            hours = r["hours_taken"]
            points.append(
                {
                    "lat": float(r["latitude"]),
                    "lon": float(r["longitude"]),
                    "r": 5 + 2 * int(r["providers_at"]),
                    "tip": (
                        f"<strong>Site {int(r['site_rank'])}: {_esc(r['area_name'])}</strong>"
                        f"<br>{int(r['providers_at'])} new provider(s); "
                        + ("hours withheld (few people)" if hours != hours else
                           f"would take about {hours:,.0f} unmet h a week")
                    ),
                }
            )  # fmt: skip
        groups.append(
            {
                "name": f"Sites for {int(k)} new providers",
                "show": bool(k == scenarios[-1]),
                "points": points,
            }
        )
    legend_rows = "".join(
        f'<div><span style="background:{c}"></span>{_esc(label)}</div>'
        for _, c, label in PRIORITY_BINS
    )
    legend = _legend_box(
        title,
        f"""<div style="margin-top:4px"><em>Priority for recruitment</em>
 (unmet hours a recruit could take, weighted up for weekend and rural gaps)</div>{legend_rows}
<div><span style="background:#f0f0f0"></span>nothing to recruit for</div>
<div style="margin-top:4px"><span style="background:#4292c6;border-radius:50%;
 border:2px solid #08306b"></span> Recommended site (larger: more new providers)</div>
<div><span style="background:#1a9850;border-radius:50%"></span> Existing micro-provider</div>
<div style="margin-top:6px;color:#555;font-size:10px">Sites are points inside areas, not
 addresses. Figures rounded to 5; areas with 1-7 people withhold hours.
 {_esc(ATTRIBUTION)}</div>""",
    )
    return _area_map(
        ranking, providers, title=title, simplify_m=simplify_m, tip=tip, styles=styles,
        layers=layers, legend=legend, sites=groups,
    )  # fmt: skip


def scenario_chart_png(scenarios: pd.DataFrame, path, *, title: str) -> None:
    """A small bar chart of the scenarios: hours taken and yearly saving for each K.

    Parameters
    ----------
    scenarios
        The **published** scenario table.
    path
        The PNG file (written atomically).
    title
        The chart's title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from .export import atomic_path

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.4), dpi=110)
    labels = [f"{int(k)}" for k in scenarios["new_providers"]]
    a1.bar(labels, scenarios["recruitable_unmet_hours"], color="#fcbba1", label="recruitable unmet")
    a1.bar(labels, scenarios["hours_taken"], color="#cb181d", label="taken by new providers")
    a1.set_xlabel("new providers")
    a1.set_ylabel("hours a week")
    a1.legend(fontsize=7, loc="upper left")
    a2.bar(labels, scenarios["saving_per_year_vs_home_care"] / 1000.0, color="#2171b5")
    a2.set_xlabel("new providers")
    a2.set_ylabel("£ thousand a year")
    a2.set_title("saving against commissioned home care", fontsize=9)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png")
    plt.close(fig)


def gap_map_png(
    published: gpd.GeoDataFrame,
    providers: pd.DataFrame | None,
    path,
    *,
    title: str = "Micro-provider gaps in Kent",
) -> None:
    """A static map of gap bands, rural gaps and providers, written as PNG (atomically).

    Parameters
    ----------
    published
        The **published** area table with geometry in EPSG:27700.
    providers
        Providers to draw (their postcode centroids), or None.
    path
        The PNG file.
    title
        The map's title.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.patches import Patch

    from .export import atomic_path

    fig, ax = plt.subplots(figsize=(11, 8), dpi=110)
    colours = published["gap_band"].map(BAND_COLOURS).fillna("#cccccc")
    published.plot(ax=ax, color=colours, edgecolor="#666", linewidth=0.2)
    rg = published[published["rural_gap"].astype(bool)]
    if len(rg):
        rg.boundary.plot(ax=ax, color="#6a3d9a", linewidth=1.4)
    if providers is not None and len(providers):
        ax.scatter(
            providers["x"],
            providers["y"],
            s=6,
            c="#1a9850",
            edgecolors="#0b5d1e",
            linewidths=0.3,
            zorder=3,
        )
    handles: list[Any] = [
        Patch(facecolor=BAND_COLOURS[b], edgecolor="#666", label=BAND_LABELS[b])
        for b in ("high", "medium", "low", "none")
    ]
    handles.append(Patch(facecolor="none", edgecolor="#6a3d9a", linewidth=1.4, label="Rural gap"))
    handles.append(
        plt.Line2D([], [], marker="o", linestyle="", color="#1a9850", label="Micro-provider")
    )
    ax.legend(handles=handles, loc="lower left", fontsize=8, frameon=True)
    ax.set_title(title)
    ax.set_axis_off()
    fig.text(0.01, 0.01, ATTRIBUTION, fontsize=6, color="#555", wrap=True)
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", bbox_inches="tight")
    plt.close(fig)


def save_map(m: folium.Map, path) -> None:
    """Write a folium map as one self-contained HTML file (atomically).

    Parameters
    ----------
    m
        The map.
    path
        The HTML file.
    """
    from .export import write_text

    write_text(m.get_root().render(), path)
