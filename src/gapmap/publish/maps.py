"""Interactive maps that work offline and print well: the gap map and the recruitment map.

Each map is one self-contained HTML file. Leaflet (1.9, from the PyPI package
``xstatic-leaflet``) is inlined and nothing else is fetched except background tiles, which are
optional: when none load (no internet) the "No background" choice is selected by itself, and
district outlines and names, area names (zoomed in) and a search box give the bearings instead.

What a reader sees:

- a title, the date and the data vintage above the map (``title`` and ``caption``);
- one colouring of the areas at a time (the default is **unmet hours**, the hours to close),
  chosen in the panel, with the legend following the choice; areas whose figures are withheld
  (fewer than 8 people) are hatched grey, never a colour of the scale;
- overlays: rural gaps (outlined), providers (always on top and clickable), recommended sites;
- a scale bar, a search box (area name or code, postcode district) and a print layout (no
  controls, legend beside the map).

Every text from input files (area and district names, providers' trading names) is
HTML-escaped before it enters the page, and the embedded JSON cannot end its ``<script>``. The
maps take only published figures (already suppressed), providers' postcode centroids and no
person's location or id. Colours and classes come from :mod:`.palette`, shared with the PNGs.
"""

from __future__ import annotations

import html
import json
from importlib.resources import files
from typing import Any

import folium
import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from .geo import to_latlon, to_wgs84
from .palette import (
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

__all__ = ["ATTRIBUTION", "change_map", "gap_map", "recruit_map", "save_map"]

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


_CSS = """
html, body { height: 100%; margin: 0; }
body { display: flex; flex-direction: column; font: 14px/1.4 system-ui, sans-serif; }
#gapmap-header { padding: 6px 12px; border-bottom: 1px solid #bbb; background: #fff; }
#gapmap-header h1 { font-size: 18px; margin: 0; }
#gapmap-header p { margin: 2px 0 0; font-size: 12px; color: #333; }
.folium-map { flex: 1 1 auto; height: auto !important; min-height: 300px; }
.leaflet-container { background: #fff; }
.leaflet-container .leaflet-control-attribution { font-size: 10px; max-width: 55vw; }
.leaflet-container .leaflet-control-scale-line { font-size: 11px; }
.gapmap-box { background: #fff; padding: 8px 10px; border-radius: 4px;
  box-shadow: 0 1px 4px rgba(0,0,0,.4); font: 12px/1.4 system-ui, sans-serif; }
.gapmap-box fieldset { border: 0; margin: 0 0 6px; padding: 0; }
.gapmap-box legend { font-weight: bold; padding: 0; }
.gapmap-box label { display: block; cursor: pointer; }
.gapmap-legend { max-width: 290px; }
.gapmap-legend h2, #gapmap-print-legend h2 { font-size: 13px; margin: 0 0 2px; }
.gapmap-legend p, #gapmap-print-legend p { margin: 2px 0 4px; color: #333; }
.gapmap-key { display: inline-block; width: 14px; height: 14px; margin-right: 6px;
  vertical-align: middle; border: 1px solid #888; }
.gapmap-hatch { background: repeating-linear-gradient(45deg, #d9d9d9 0 3px, #969696 3px 4px); }
.gapmap-small { color: #555; font-size: 10px; margin-top: 6px; }
.gapmap-search input { width: 180px; font-size: 13px; }
.gapmap-search p { margin: 2px 0 0; max-width: 240px; }
.gapmap-district-label { background: transparent; border: 0; box-shadow: none;
  font: bold 12px system-ui, sans-serif; color: #222;
  text-shadow: 0 0 3px #fff, 0 0 3px #fff, 0 0 3px #fff; }
.gapmap-area-label { background: transparent; border: 0; box-shadow: none;
  font: 11px system-ui, sans-serif; color: #333; text-shadow: 0 0 2px #fff, 0 0 2px #fff; }
.gapmap-district-label::before, .gapmap-area-label::before { display: none; }
#gapmap-print-legend { display: none; }
/* an open popup is never hidden behind the legend or the panels: they step back under it */
.gapmap-popup-open .leaflet-control-container .leaflet-top,
.gapmap-popup-open .leaflet-control-container .leaflet-bottom { z-index: 390; }
:focus-visible { outline: 3px solid #fd0; outline-offset: 1px; }
@media print {
  @page { size: A4 landscape; margin: 10mm; }
  body { display: block; height: auto; }
  .leaflet-control-zoom, .gapmap-panel, .gapmap-search, .gapmap-legend, .leaflet-popup,
  .leaflet-tooltip:not(.gapmap-district-label):not(.gapmap-area-label) {
    display: none !important; }
  .folium-map { float: left; width: 66% !important; height: 165mm !important;
    border: 1px solid #999; }
  #gapmap-print-legend { display: block; float: right; width: 31%; font-size: 11px; }
}
"""

# Builds the map once the page (and folium's map script) has loaded.
_MAP_JS = """
document.addEventListener("DOMContentLoaded", function () {
  var map = __MAP__;
  var data = __DATA__;
  var WITHHELD = data.withheld;
  var container = map.getContainer();
  var header = document.getElementById("gapmap-header");
  container.parentNode.insertBefore(header, container);
  var aside = document.getElementById("gapmap-print-legend");
  container.parentNode.insertBefore(aside, container.nextSibling);
  map.invalidateSize();
  map.on("popupopen", function () { container.classList.add("gapmap-popup-open"); });
  map.on("popupclose", function () { container.classList.remove("gapmap-popup-open"); });
  map.options.zoomSnap = 0.25;
  var bounds = L.latLngBounds(data.bounds);
  map.fitBounds(bounds);
  map.attributionControl.setPrefix(false);
  map.attributionControl.addAttribution(data.attribution);
  L.control.scale({imperial: false, position: "bottomleft", maxWidth: 150}).addTo(map);

  [["areas", 400], ["outlines", 430], ["districts", 440], ["sites", 620],
   ["providers", 640]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = p[1];
  });
  map.getPane("outlines").style.pointerEvents = "none";
  map.getPane("districts").style.pointerEvents = "none";

  // hatching for withheld areas (an SVG pattern the area paths can use as fill)
  var defs = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  defs.setAttribute("width", "0"); defs.setAttribute("height", "0");
  defs.style.position = "absolute";
  defs.innerHTML = '<defs><pattern id="gapmap-hatch" width="6" height="6" ' +
    'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="6" height="6" fill="#d9d9d9"/><rect width="1.5" height="6" fill="#969696"/>' +
    '</pattern></defs>';
  document.body.appendChild(defs);

  var current = data.layers[0].key;
  function fillOf(f) {
    var c = f.properties.fill[current];
    return c === WITHHELD ? "url(#gapmap-hatch)" : c;
  }
  function areaStyle(f) {
    return {fillColor: fillOf(f), fillOpacity: 0.8, color: "#666", weight: 0.5, opacity: 0.8};
  }
  var areas = L.geoJSON(data.areas, {
    pane: "areas",
    style: areaStyle,
    onEachFeature: function (f, l) {
      l.bindTooltip(f.properties.tip, {sticky: true});
      l.on("mouseover", function () { l.setStyle({weight: 2.5, color: "#000"}); });
      l.on("mouseout", function () { areas.resetStyle(l); });
    }
  }).addTo(map);

  var rural = L.geoJSON({type: "FeatureCollection", features: data.areas.features.filter(
      function (f) { return f.properties.rural_gap; })}, {
    pane: "outlines", interactive: false,
    style: {color: "#6a3d9a", weight: 3, fill: false, dashArray: "6 3"}
  });
  var districts = L.geoJSON(data.districts, {
    pane: "districts", interactive: false,
    style: {color: "#222", weight: 1.8, fill: false, opacity: 0.9}
  }).addTo(map);
  var districtNames = L.layerGroup(data.districtLabels.map(function (d) {
    return L.tooltip({permanent: true, direction: "center", className: "gapmap-district-label",
                      interactive: false}).setLatLng([d.lat, d.lon]).setContent(d.name);
  })).addTo(map);

  var providers = L.layerGroup(data.providers.map(function (p, i) {
    return L.circleMarker([p.lat, p.lon], {pane: "providers", radius: 5, color: "#0b5d1e",
      weight: 1.5, fillColor: "#1a9850", fillOpacity: 0.95})
      .bindTooltip(p.tip).bindPopup(p.tip);
  }));
  var overlays = {};
  if (rural.getLayers().length) {
    overlays["rural"] = {name: "Rural gaps (outlined)", layer: rural, show: data.ruralShown};
  }
  (data.sites || []).forEach(function (s, k) {
    overlays["sites" + k] = {name: s.name, show: s.show, layer: L.layerGroup(
      s.points.map(function (p) {
        return L.circleMarker([p.lat, p.lon], {pane: "sites", radius: p.r, color: "#08306b",
          weight: 2, fillColor: "#4292c6", fillOpacity: 0.9})
          .bindTooltip(p.tip).bindPopup(p.tip);
      }))};
  });
  if (data.providers.length) {
    overlays["providers"] = {name: "Micro-providers (" + data.providers.length + ")",
                             layer: providers, show: true};
  }

  // background tiles: optional; when none load, "No background" is selected by itself
  var osm = L.tileLayer("https://tile.openstreetmap.org/{z}/{x}/{y}.png", {
    maxZoom: 19, attribution: "&copy; OpenStreetMap contributors"});
  var tilesLoaded = false;
  osm.on("tileload", function () { tilesLoaded = true; });
  osm.on("tileerror", function () {
    if (!tilesLoaded) { setBackground("none"); status("Background map not available " +
      "(offline?): showing no background."); }
  });
  function setBackground(which) {
    if (which === "osm") { osm.addTo(map); } else { map.removeLayer(osm); }
    var r = document.getElementById("gapmap-bg-" + which);
    if (r) { r.checked = true; }
  }

  // the legend follows the colouring chosen
  var legend = L.control({position: "bottomright"});
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "gapmap-box gapmap-legend");
    div.setAttribute("role", "region");
    div.setAttribute("aria-label", "Map legend");
    div.id = "gapmap-legend";
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return div;
  };
  legend.addTo(map);
  function drawLegend() {
    var l = data.layers.filter(function (x) { return x.key === current; })[0];
    var extra = data.keyLines.filter(function (k) {
      return !k.overlay || map.hasLayer(overlays[k.overlay] && overlays[k.overlay].layer);
    }).map(function (k) { return k.html; }).join("");
    var body = l.legend + extra + '<div class="gapmap-small">' + data.note + "</div>";
    document.getElementById("gapmap-legend").innerHTML = body;
    aside.innerHTML = body;
  }

  // the panel: colouring (one at a time), overlays, background
  var panel = L.control({position: "topright"});
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "gapmap-box gapmap-panel");
    var h = '<fieldset><legend>Colour areas by</legend>';
    data.layers.forEach(function (l, i) {
      h += '<label><input type="radio" name="gapmap-colour" value="' + l.key + '" id="' +
        'gapmap-colour-' + l.key + '"' + (i === 0 ? " checked" : "") + "> " + l.name +
        "</label>";
    });
    h += '</fieldset><fieldset><legend>Show</legend>';
    Object.keys(overlays).forEach(function (k) {
      h += '<label><input type="checkbox" value="' + k + '" id="gapmap-show-' + k + '"' +
        (overlays[k].show ? " checked" : "") + "> " + overlays[k].name + "</label>";
    });
    h += '</fieldset><fieldset><legend>Background</legend>' +
      '<label><input type="radio" name="gapmap-bg" value="none" id="gapmap-bg-none"> ' +
      'No background</label><label><input type="radio" name="gapmap-bg" value="osm" ' +
      'id="gapmap-bg-osm" checked> OpenStreetMap (needs internet)</label></fieldset>';
    div.innerHTML = h;
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.addEventListener("change", function (e) {
      var t = e.target;
      if (t.name === "gapmap-colour") { setColouring(t.value); }
      else if (t.name === "gapmap-bg") { setBackground(t.value); }
      else if (overlays[t.value]) {
        if (t.checked) { overlays[t.value].layer.addTo(map); }
        else { map.removeLayer(overlays[t.value].layer); }
        drawLegend();
      }
    });
    return div;
  };
  panel.addTo(map);
  Object.keys(overlays).forEach(function (k) {
    if (overlays[k].show) { overlays[k].layer.addTo(map); }
  });
  setBackground("osm");
  function setColouring(key) {
    current = key;
    areas.setStyle(areaStyle);
    drawLegend();
  }
  drawLegend();

  // area names when zoomed in (only those in view)
  var areaNames = L.layerGroup().addTo(map);
  function drawAreaNames() {
    areaNames.clearLayers();
    if (map.getZoom() < 12) { return; }
    var view = map.getBounds();
    data.areaLabels.filter(function (a) { return view.contains([a.lat, a.lon]); })
      .slice(0, 250).forEach(function (a) {
        areaNames.addLayer(L.tooltip({permanent: true, direction: "center",
          className: "gapmap-area-label", interactive: false})
          .setLatLng([a.lat, a.lon]).setContent(a.name));
      });
  }
  map.on("zoomend moveend", drawAreaNames);

  // search: an area's name or code, or a postcode district
  var search = L.control({position: "topleft"});
  search.onAdd = function () {
    var div = L.DomUtil.create("div", "gapmap-box gapmap-search");
    var opts = data.places.map(function (p) { return '<option value="' + p.name + '">'; });
    div.innerHTML = '<form role="search"><label for="gapmap-find">Find an area or postcode ' +
      'district</label><input id="gapmap-find" list="gapmap-places" autocomplete="off"> ' +
      '<button type="submit">Find</button><datalist id="gapmap-places">' + opts.join("") +
      '</datalist><p id="gapmap-status" role="status" aria-live="polite"></p></form>';
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      find(div.querySelector("input").value);
    });
    return div;
  };
  search.addTo(map);
  function status(text) { document.getElementById("gapmap-status").textContent = text; }
  function plain(s) {
    var t = document.createElement("textarea"); t.innerHTML = s;
    return t.value.toUpperCase().replace(/\\s+/g, " ").trim();
  }
  function find(text) {
    var q = plain(text.replace(/</g, ""));
    if (!q) { status("Type an area's name or a postcode district such as ME14."); return; }
    var hit = data.places.filter(function (p) { return plain(p.name) === q; })[0] ||
      data.places.filter(function (p) { return plain(p.name).indexOf(q) === 0; })[0] ||
      data.places.filter(function (p) { return plain(p.name).indexOf(q) >= 0; })[0];
    if (!hit) { status("No area or postcode district matches that."); return; }
    if (hit.bounds) { map.fitBounds(hit.bounds, {maxZoom: 14}); }
    else { map.setView([hit.lat, hit.lon], 13); }
    var shown = null;
    areas.eachLayer(function (l) {
      if (hit.area !== undefined && l.feature.properties.index === hit.area) { shown = l; }
    });
    if (shown) { shown.setStyle({weight: 4, color: "#000"}); shown.openTooltip(); }
    var t = document.createElement("span"); t.innerHTML = hit.name;
    status("Showing " + t.textContent + ".");
  }

  // printing: controls hidden by the stylesheet, the whole area fitted to the printed map
  function beforePrint() { map.invalidateSize(false); map.fitBounds(bounds, {animate: false}); }
  function afterPrint() { map.invalidateSize(false); }
  window.addEventListener("beforeprint", beforePrint);
  window.addEventListener("afterprint", afterPrint);
  if (window.matchMedia) {
    window.matchMedia("print").addEventListener("change", function (m) {
      if (m.matches) { beforePrint(); } else { afterPrint(); }
    });
  }
  var named = {"Areas": areas, "District outlines": districts};
  Object.keys(overlays).forEach(function (k) { named[overlays[k].name] = overlays[k].layer; });
  window.gapmapLayers = named;
  window.gapmap = {map: map, bounds: bounds, areas: areas, providers: providers,
                   overlays: overlays,
                   districts: districts, districtNames: districtNames, setColouring: setColouring,
                   find: find,
                   background: function () { return map.hasLayer(osm) ? "osm" : "none"; }};
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


def _hours(v, withheld: str = "withheld (fewer than 8 people)") -> str:
    return withheld if _missing(v) else f"{float(v):,.0f} h"


def _pct(v, none: str = "no need") -> str:
    return none if _missing(v) else f"{100 * float(v):.0f}%"


def _km(v) -> str:
    return "none in reach" if _missing(v) else f"{float(v):,.1f} km"


def _table_html(rows: list[tuple[str, str]]) -> str:
    return (
        "<table>"
        + "".join(
            f"<tr><th style='text-align:left;padding-right:6px'>{k}</th><td>{v}</td></tr>"
            for k, v in rows
        )
        + "</table>"
    )


def _key_line(colour: str, label: str, *, hatch: bool = False, shape: str = "") -> str:
    cls = "gapmap-key gapmap-hatch" if hatch else "gapmap-key"
    style = "" if hatch else f"background:{colour};"
    return f'<div><span class="{cls}" style="{style}{shape}"></span>{_esc(label)}</div>'


def _legend_block(c: Classes) -> str:
    lines = "".join(_key_line(col, label, hatch=col == WITHHELD) for col, label in c.legend())
    return f"<h2>{_esc(c.title)}</h2><p>{_esc(c.explain)}</p>{lines}"


def _withheld(t: pd.DataFrame) -> np.ndarray:
    """Areas whose people-based figures are withheld (published ``people`` is ``*``)."""
    return (t["people"].astype(str) == "*").to_numpy()


def _places(g: gpd.GeoDataFrame, extra: pd.DataFrame | None) -> list[dict]:
    """Search entries: each area (name, district, code) with its bounds, then ``extra``."""
    out = []
    for i, (r, geom) in enumerate(zip(g.to_dict("records"), g.geometry)):
        minx, miny, maxx, maxy = geom.bounds
        label = f"{r['area_name']} ({r['area_code']}), {r['district']}"
        out.append({"name": _esc(label), "area": i, "bounds": [[miny, minx], [maxy, maxx]]})
    if extra is not None and len(extra):
        lat, lon = to_latlon(extra["x"].to_numpy(float), extra["y"].to_numpy(float))
        for name, la, lo in zip(extra["name"], lat, lon):
            out.append({"name": _esc(name), "lat": round(float(la), 5), "lon": round(float(lo), 5)})
    return out


def _provider_markers(providers: pd.DataFrame | None) -> list[dict]:
    markers: list[dict] = []
    if providers is None or not len(providers):
        return markers
    lats, lons = to_latlon(providers["x"].to_numpy(float), providers["y"].to_numpy(float))
    for r, lat, lon in zip(providers.to_dict("records"), lats, lons):
        rows = [
            ("Provider", f"<strong>{_esc(r['name'])}</strong>"),
            ("Services", _esc(r["services"])),
            ("Days", _esc(r["days"])),
            ("Hours a week", f"{float(r['capacity_hours']):g}"),
        ]
        for col, label in (("phone", "Phone"), ("email", "Email"), ("website", "Website")):
            if col in r and not _missing(r[col]) and str(r[col]).strip():
                rows.append((label, _esc(r[col])))
        markers.append(
            {"lat": round(float(lat), 5), "lon": round(float(lon), 5), "tip": _table_html(rows)}
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
    root.header.add_child(folium.Element(f"<title>{_esc(title)}</title><style>{_CSS}</style>"))

    rural_gap = g["rural_gap"].astype(bool).to_numpy() if "rural_gap" in g else np.zeros(len(g))
    features = [
        {
            "type": "Feature",
            "geometry": geom.__geo_interface__,
            "properties": {
                "index": i,
                "tip": tips[i],
                "rural_gap": bool(rural_gap[i]),
                "fill": {key: fills[i] for key, _, _, fills in layers},
            },
        }
        for i, geom in enumerate(g.geometry)
    ]
    dl_lat, dl_lon = to_latlon(label_pts.x.to_numpy(), label_pts.y.to_numpy())
    al_lat, al_lon = to_latlon(area_pts.x.to_numpy(), area_pts.y.to_numpy())
    data = {
        "withheld": WITHHELD,
        "attribution": _esc(ATTRIBUTION),
        "bounds": [[float(miny), float(minx)], [float(maxy), float(maxx)]],
        "areas": {"type": "FeatureCollection", "features": features},
        "districts": {
            "type": "FeatureCollection",
            "features": [
                {"type": "Feature", "geometry": geom.__geo_interface__, "properties": {}}
                for geom in districts.geometry
            ],
        },
        "districtLabels": [
            {"name": _esc(n), "lat": round(float(a), 5), "lon": round(float(b), 5)}
            for n, a, b in zip(districts["district"], dl_lat, dl_lon)
            if n
        ],
        "areaLabels": [
            {"name": _esc(n), "lat": round(float(a), 5), "lon": round(float(b), 5)}
            for n, a, b in zip(published["area_name"], al_lat, al_lon)
        ],
        "layers": [
            {"key": key, "name": _esc(name), "legend": _legend_block(c)}
            for key, name, c, _ in layers
        ],
        "keyLines": key_lines,
        "note": note,
        "ruralShown": rural_shown,
        "providers": _provider_markers(providers),
        "sites": sites or [],
        "places": _places(g, places),
    }
    body = (
        f'<header id="gapmap-header"><h1>{_esc(title)}</h1><p>{_esc(caption)}</p></header>'
        '<aside id="gapmap-print-legend" aria-hidden="true"></aside>'
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
                    "", "Rural gap (outlined)", shape="background:none;border:2px dashed #6a3d9a;"
                ),
            }
        )
    keys += [
        {
            "overlay": "providers",
            "html": _key_line(
                "#1a9850", "Micro-provider (postcode centroid)", shape="border-radius:50%;"
            ),
        },
        {
            "overlay": None,
            "html": _key_line(
                "", "District boundary and name", shape="background:none;border:2px solid #222;"
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

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
    t = pd.DataFrame(published.drop(columns=published.geometry.name))
    hidden = _withheld(t)
    estimated = "estimated_need_hours" in t

    def tip(r: dict, held: bool) -> str:
        flags = (("rural gap", r["rural_gap"]), ("weekend gap", r["weekend_gap"]))
        gaps = [b for b, f in flags if f]
        rows = [
            ("Area", f"{_esc(r['area_name'])} ({_esc(r['area_code'])})"),
            ("District", _esc(r["district"])),
            ("Rural", "yes" if r["rural"] else "no"),
            ("People waiting", "fewer than 8" if held else _esc(r["people"])),
            ("Unmet a week micro-providers may meet", _hours(r.get("micro_unmet_hours"))),
            ("Need for regulated services a week",
             _hours(r.get("need_hours_not_self_directing"))),
            ("Need a week (everyone waiting)", _hours(r["need_hours"])),
            ("Unmet a week (everyone waiting)", _hours(r["unmet_hours"])),
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
            ("Gap score", _hours(r["gap_score"]).replace(" h", "")),
            ("Gap", ", ".join([_esc(r["gap_band"]).capitalize(), *gaps])),
        ]  # fmt: skip
        if "imd_decile" in r:
            rows.append(
                ("Deprivation", "no IMD value" if _missing(r["imd_decile"])
                 else f"IMD decile {int(r['imd_decile'])} of 10 (1 = most deprived)"),
            )  # fmt: skip
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
    )
    score = hour_classes(
        t["gap_score"],
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
    note = (
        "Hours rounded to 5; areas with 1-7 people show * and withhold their figures. "
        "Providers are drawn at their postcode's centre."
    )
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

    Returns
    -------
    folium.Map
        Save it with :func:`save_map`.
    """
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
        explain="Hours people need that no provider within travel distance has free.",
    )  # fmt: skip
    recruitable = hour_classes(
        t["recruitable_unmet_hours"],
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
                "#4292c6",
                "Recommended site (larger: more new providers there)",
                shape="border-radius:50%;border:2px solid #08306b;",
            ),
        },
        *_common_keys(),
    ]
    note = (
        "Sites are points inside areas, not addresses. Hours rounded to 5; areas with 1-7 "
        "people withhold their hours."
    )
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

    unmet = hour_classes(
        t["unmet_hours_after"], title="Unmet hours a week now",
        explain="Hours people need that no provider within travel distance has free.",
    )  # fmt: skip
    layers: list[tuple[str, str, Classes, list[str]]] = [
        ("change", "Change in unmet hours", change_classes(),
         [change_colour(v) for v in t["unmet_hours_change"]]),
        ("unmet", "Unmet hours now", unmet, [unmet.colour(v) for v in t["unmet_hours_after"]]),
    ]  # fmt: skip
    g = areas.assign(rural_gap=False)
    return _area_map(
        g, None, title=title, caption=" ".join(words or []),
        tips=[tip(r) for r in t.to_dict("records")], layers=layers,
        key_lines=_common_keys(rural=False)[1:], note="Hours rounded to 5 in both runs.",
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
    from .export import write_text

    write_text(m.get_root().render(), path)
