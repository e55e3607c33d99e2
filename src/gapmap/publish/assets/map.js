/* gapmap's offline maps (inlined by maps.py): gapmapStart(map, data) draws everything.
 *
 * Offline there are no background tiles, so the bearings come from data: district outlines and
 * names, towns and villages, area names and postcode sectors, shown by zoom level and never on
 * top of each other or of the panels. Every text from input files is put in the page with
 * textContent; the only HTML used (popups, legend) was escaped when the map was made.
 */
function gapmapStart(map, data) {
  "use strict";
  var WITHHELD = data.withheld;
  var container = map.getContainer();
  var header = document.getElementById("gapmap-header");
  container.parentNode.insertBefore(header, container);
  var skip = document.getElementById("gapmap-skip");
  document.body.insertBefore(skip, document.body.firstChild);
  var footer = document.getElementById("gapmap-footer");
  container.parentNode.insertBefore(footer, container.nextSibling);
  var aside = document.getElementById("gapmap-print-legend");
  container.parentNode.insertBefore(aside, container.nextSibling);
  var about = document.getElementById("gapmap-about");
  about.addEventListener("click", function () {
    var open = header.classList.toggle("gapmap-open");
    about.setAttribute("aria-expanded", open ? "true" : "false");
    map.invalidateSize();
  });
  // small screens start with the panels folded away, so the map is not covered
  var small = window.innerWidth < 700;
  var roomy = window.innerWidth >= 1000 && window.innerHeight >= 600;

  map.invalidateSize();
  map.options.zoomSnap = 0.25;
  if (map.attributionControl) { map.attributionControl.remove(); }  // it is under the map
  if (map.zoomControl) { map.zoomControl.remove(); }  // added again after the search box
  var bounds = L.latLngBounds(data.bounds);
  map.fitBounds(bounds);
  L.control.scale({imperial: false, position: "bottomleft", maxWidth: 150}).addTo(map);

  [["areas", 400], ["outlines", 430], ["districts", 440], ["sites", 620],
   ["providers", 640], ["labels", 650], ["found", 660]].forEach(function (p) {
    map.createPane(p[0]).style.zIndex = p[1];
  });
  ["outlines", "districts", "labels", "found"].forEach(function (p) {
    map.getPane(p).style.pointerEvents = "none";
  });

  function text(s) { var span = document.createElement("span"); span.textContent = s; return span; }
  // popups keep clear of the panels: autoPan uses these points, updated when panels change
  var padTL = L.point(10, 10), padBR = L.point(10, 10);
  function popupOptions() {
    return {maxWidth: Math.min(340, Math.max(200, map.getSize().x - 60)),
            autoPanPaddingTopLeft: padTL, autoPanPaddingBottomRight: padBR};
  }

  // hatching for withheld areas (an SVG pattern the area paths can use as fill)
  var defs = document.createElementNS("http://www.w3.org/2000/svg", "svg");
  defs.setAttribute("width", "0"); defs.setAttribute("height", "0");
  defs.setAttribute("aria-hidden", "true");
  defs.style.position = "absolute";
  defs.innerHTML = '<defs><pattern id="gapmap-hatch" width="6" height="6" ' +
    'patternUnits="userSpaceOnUse" patternTransform="rotate(45)">' +
    '<rect width="6" height="6" fill="#d9d9d9"/><rect width="1.5" height="6" fill="#969696"/>' +
    '</pattern></defs>';
  document.body.appendChild(defs);

  var current = data.layers[0].key;
  var foundArea = null;
  function fillOf(f) {
    var c = f.properties.fill[current];
    return c === WITHHELD ? "url(#gapmap-hatch)" : c;
  }
  function areaStyle(f) {
    return {fillColor: fillOf(f), fillOpacity: 0.8, color: "#666", weight: 0.5, opacity: 0.8};
  }
  var areaLayers = [];
  var areas = L.geoJSON(data.areas, {
    pane: "areas",
    style: areaStyle,
    onEachFeature: function (f, l) {
      areaLayers[f.properties.index] = l;
      l.bindTooltip(text(f.properties.name), {sticky: true});
      l.bindPopup(f.properties.tip, popupOptions());
      l.on("mouseover", function () { l.setStyle({weight: 2.5, color: "#000"}); });
      l.on("mouseout", function () {
        if (l === foundArea) { l.setStyle({weight: 4, color: "#000"}); } else { areas.resetStyle(l); }
      });
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

  var providers = L.layerGroup(data.providers.map(function (p) {
    return L.circleMarker([p.lat, p.lon], {pane: "providers", radius: 5, color: "#0b5d1e",
      weight: 1.5, fillColor: "#1a9850", fillOpacity: 0.95})
      .bindTooltip(text(p.name)).bindPopup(p.tip, popupOptions());
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
          .bindTooltip(text(p.name)).bindPopup(p.tip, popupOptions());
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

  // a panel that folds to its heading (a button saying whether it is open)
  function foldable(div, title, id, open) {
    var button = L.DomUtil.create("button", "gapmap-toggle", div);
    button.type = "button";
    button.textContent = title;
    button.setAttribute("aria-controls", id);
    var body = L.DomUtil.create("div", "gapmap-body", div);
    body.id = id;
    function set(o) {
      div.classList.toggle("gapmap-collapsed", !o);
      button.setAttribute("aria-expanded", o ? "true" : "false");
    }
    button.addEventListener("click", function () {
      set(div.classList.contains("gapmap-collapsed"));
      layoutChanged();
    });
    set(open);
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    return body;
  }

  // search: a town or village, a full postcode (through its sector), a postcode district or
  // sector, an area's name or code, or a district
  var search = L.control({position: "topleft"});
  search.onAdd = function () {
    var div = L.DomUtil.create("div", "gapmap-box gapmap-search");
    div.innerHTML = '<form role="search" aria-label="Find a place on the map">' +
      '<label for="gapmap-find">Find a town, postcode or area</label>' +
      '<input id="gapmap-find" list="gapmap-places" autocomplete="off" ' +
      'aria-describedby="gapmap-status"> <button type="submit">Find</button>' +
      '<datalist id="gapmap-places"></datalist>' +
      '<p id="gapmap-status" role="status" aria-live="polite"></p>' +
      '<p id="gapmap-more"></p></form>';
    var list = div.querySelector("datalist");
    data.places.forEach(function (p) {
      var o = document.createElement("option"); o.value = p.label; list.appendChild(o);
    });
    L.DomEvent.disableClickPropagation(div);
    L.DomEvent.disableScrollPropagation(div);
    div.querySelector("form").addEventListener("submit", function (e) {
      e.preventDefault();
      find(div.querySelector("input").value);
    });
    return div;
  };
  search.addTo(map);
  L.control.zoom({position: "topleft"}).addTo(map);
  skip.addEventListener("click", function (e) {
    e.preventDefault();
    document.getElementById("gapmap-find").focus();
  });

  // the panel: colouring (one at a time), overlays, background
  var panel = L.control({position: "topright"});
  panel.onAdd = function () {
    var div = L.DomUtil.create("div", "gapmap-box gapmap-panel");
    var body = foldable(div, "Map options", "gapmap-options", roomy);
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
    body.innerHTML = h;
    body.addEventListener("change", function (e) {
      var t = e.target;
      if (t.name === "gapmap-colour") { setColouring(t.value); }
      else if (t.name === "gapmap-bg") { setBackground(t.value); }
      else if (overlays[t.value]) {
        if (t.checked) { overlays[t.value].layer.addTo(map); }
        else { map.removeLayer(overlays[t.value].layer); }
        drawLegend();
        unfocusable();
      }
    });
    return div;
  };
  panel.addTo(map);

  // the legend follows the colouring chosen
  var legend = L.control({position: "bottomright"});
  var legendBody;
  legend.onAdd = function () {
    var div = L.DomUtil.create("div", "gapmap-box gapmap-legend");
    div.setAttribute("role", "region");
    div.setAttribute("aria-label", "Map legend");
    legendBody = foldable(div, "Key", "gapmap-legend", !small);
    return div;
  };
  legend.addTo(map);
  function drawLegend() {
    var l = data.layers.filter(function (x) { return x.key === current; })[0];
    var extra = data.keyLines.filter(function (k) {
      return !k.overlay || map.hasLayer(overlays[k.overlay] && overlays[k.overlay].layer);
    }).map(function (k) { return k.html; }).join("");
    var body = l.legend + extra + '<div class="gapmap-small">' + data.note + "</div>";
    legendBody.innerHTML = body;
    aside.innerHTML = body;
  }
  Object.keys(overlays).forEach(function (k) {
    if (overlays[k].show) { overlays[k].layer.addTo(map); }
  });
  setBackground("osm");
  function setColouring(key) {
    current = key;
    areas.setStyle(areaStyle);
    if (foundArea) { foundArea.setStyle({weight: 4, color: "#000"}); }
    drawLegend();
  }
  drawLegend();

  // interactive shapes are reached through the search, not one Tab press each
  var unfocusTimer = null;
  function unfocusable() {
    if (unfocusTimer) { return; }
    unfocusTimer = setTimeout(function () {
      unfocusTimer = null;
      container.querySelectorAll("path.leaflet-interactive:not([tabindex])").forEach(
        function (p) { p.setAttribute("tabindex", "-1"); });
    }, 0);
  }
  unfocusable();

  // where the panels are: the corners' widths and heights inside the map
  function corners() {
    var c = container.getBoundingClientRect(), out = {};
    ["topleft", "topright", "bottomleft", "bottomright"].forEach(function (n) {
      var left = n.indexOf("left") > 0, top = n.indexOf("top") === 0;
      var el = container.querySelector(".leaflet-" + (top ? "top" : "bottom") + ".leaflet-" +
                                       (left ? "left" : "right"));
      var w = 0, h = 0;
      Array.prototype.forEach.call(el ? el.children : [], function (ctl) {
        var r = ctl.getBoundingClientRect();
        if (!r.width || !r.height) { return; }
        w = Math.max(w, left ? r.right - c.left : c.right - r.left);
        h = Math.max(h, top ? r.bottom - c.top : c.bottom - r.top);
      });
      out[n] = {w: w, h: h};
    });
    return out;
  }
  // the padding that keeps a box clear of every panel and shows it largest: each corner's
  // panels are kept clear either beside or above/below the box, whichever leaves more room
  function padding(b) {
    var s = corners(), names = ["topleft", "topright", "bottomleft", "bottomright"], best = null;
    for (var m = 0; m < 16; m++) {
      var pad = {l: 0, r: 0, t: 0, b: 0};
      names.forEach(function (n, i) {
        var c = s[n];
        if (!c.w) { return; }
        if ((m >> i) & 1) {
          if (n.indexOf("left") > 0) { pad.l = Math.max(pad.l, c.w); } else { pad.r = Math.max(pad.r, c.w); }
        } else if (n.indexOf("top") === 0) { pad.t = Math.max(pad.t, c.h); }
        else { pad.b = Math.max(pad.b, c.h); }
      });
      var size = map.getSize();
      if (pad.l + pad.r + 16 >= size.x * 0.8 || pad.t + pad.b + 16 >= size.y * 0.8) { continue; }
      var z = map.getBoundsZoom(b, false, L.point(pad.l + pad.r + 16, pad.t + pad.b + 16));
      if (isFinite(z) && (!best || z > best.z)) { best = {z: z, pad: pad}; }
    }
    return best ? best.pad : {l: 0, r: 0, t: 0, b: 0};
  }
  function fitTo(b, maxZoom) {
    var p = padding(b);
    map.fitBounds(b, {paddingTopLeft: [p.l + 8, p.t + 8], paddingBottomRight: [p.r + 8, p.b + 8],
                      maxZoom: maxZoom, animate: false});
  }
  function updatePopupPadding() {
    var s = corners();
    padTL.x = 10; padTL.y = s.topleft.h + 10;
    padBR.x = Math.max(s.topright.w, s.bottomright.w) + 10;
    padBR.y = s.bottomleft.h + 10;
  }
  function layoutChanged() { updatePopupPadding(); drawLabels(); }

  // names drawn from data, by zoom level, largest first, never overlapping each other or a panel
  var labelPane = map.getPane("labels");
  var measure = document.createElement("canvas").getContext("2d");
  var FONTS = {district: "bold 13px system-ui, sans-serif", town: "bold 12px system-ui, sans-serif",
               village: "12px system-ui, sans-serif", area: "italic 11px system-ui, sans-serif",
               found: "bold 13px system-ui, sans-serif"};
  var found = null, foundRing = null;
  function widthOf(l) {
    if (l.w === undefined) {
      measure.font = FONTS[l.k];
      var dot = l.k === "town" || l.k === "village";
      l.w = measure.measureText(l.t).width * (l.k === "district" ? 1.06 : 1) + (dot ? 10 : 0) +
        (l.k === "found" ? 12 : 0);
    }
    return l.w;
  }
  function overlaps(a, list) {
    for (var i = 0; i < list.length; i++) {
      var b = list[i];
      if (a[0] < b[2] && a[2] > b[0] && a[1] < b[3] && a[3] > b[1]) { return true; }
    }
    return false;
  }
  function drawLabels() {
    labelPane.innerHTML = "";
    labelPane.style.display = "";
    var z = map.getZoom(), size = map.getSize(), placed = [];
    var c = container.getBoundingClientRect();
    var panels = Array.prototype.map.call(container.querySelectorAll(".leaflet-control"),
      function (el) {
        var r = el.getBoundingClientRect();
        return [r.left - c.left, r.top - c.top, r.right - c.left, r.bottom - c.top];
      });
    (found ? [found] : []).concat(data.labels).forEach(function (l) {
      if (z < l.z || (found && l !== found && l.t === found.t)) { return; }
      var p = map.latLngToContainerPoint([l.lat, l.lon]);
      var w = widthOf(l), h = l.k === "found" ? 20 : 14;
      var dot = l.k === "town" || l.k === "village";
      var x0 = dot ? p.x - 4 : p.x - w / 2, y0 = l.k === "found" ? p.y - h - 12 : p.y - h / 2;
      var box = [x0 - 3, y0 - 2, x0 + w + 3, y0 + h + 2];
      if (box[0] < 0 || box[1] < 0 || box[2] > size.x || box[3] > size.y) { return; }
      if (overlaps(box, placed) || overlaps(box, panels)) { return; }
      placed.push(box);
      var el = document.createElement("div");
      el.className = "gapmap-label gapmap-" + l.k + "-label";
      el.textContent = l.t;
      L.DomUtil.setPosition(el, map.containerPointToLayerPoint([x0, y0]));
      labelPane.appendChild(el);
    });
  }
  map.on("zoomstart", function () { labelPane.style.display = "none"; });
  map.on("zoomend moveend", drawLabels);
  map.on("resize", layoutChanged);

  function status(s) { document.getElementById("gapmap-status").textContent = s; }
  function norm(s) { return String(s).toUpperCase().replace(/[^A-Z0-9]+/g, " ").trim(); }
  var sectors = {}, outward = {};
  data.places.forEach(function (p) {
    if (p.kind === "postcode sector") { sectors[norm(p.keys[0])] = p; }
    if (p.kind === "postcode district") { outward[norm(p.keys[0])] = p; }
  });
  function clearFound() {
    document.getElementById("gapmap-more").textContent = "";
    if (foundArea) { areas.resetStyle(foundArea); foundArea = null; }
    if (foundRing) { map.removeLayer(foundRing); foundRing = null; }
    found = null;
  }
  function show(p, words, labelText) {
    clearFound();
    map.closePopup();
    if (p.area !== undefined && p.area !== null && areaLayers[p.area]) {
      foundArea = areaLayers[p.area];
    }
    status(words);
    // the area's figures, one Tab away (the shapes themselves are not in the Tab order)
    var more = document.getElementById("gapmap-more");
    if (foundArea) {
      var button = document.createElement("button");
      var area = foundArea;
      button.type = "button";
      button.textContent = "Figures for " + area.feature.properties.name;
      button.addEventListener("click", function () { area.openPopup(); });
      more.appendChild(button);
    }
    updatePopupPadding();  // the search box may have grown
    if (p.bounds) { fitTo(L.latLngBounds(p.bounds), 13); }
    else { fitTo(L.latLng(p.lat, p.lon).toBounds(4000), 12); }
    if (foundArea) {
      foundArea.setStyle({weight: 4, color: "#000"});
      foundArea.bringToFront();
    }
    foundRing = L.circleMarker([p.lat, p.lon], {pane: "found", radius: 10, color: "#0b0c0c",
      weight: 3, fill: false, interactive: false}).addTo(map);
    found = {t: labelText || p.keys[0], lat: p.lat, lon: p.lon, k: "found", z: 0};
    drawLabels();
  }
  function find(input) {
    var q = norm(input);
    if (!q) {
      status("Type a town or village, a postcode (such as CT1 2AA), a postcode district " +
             "(ME14) or an area's name or code.");
      return;
    }
    var pc = /^([A-Z]{1,2}[0-9][A-Z0-9]?) ?([0-9])([A-Z]{2})$/.exec(q);
    if (pc) {
      var full = pc[1] + " " + pc[2] + pc[3], sector = pc[1] + " " + pc[2];
      if (sectors[sector]) {
        show(sectors[sector], "Showing postcode sector " + sector +
             (sectors[sector].where ? " " + sectors[sector].where : "") + ", where " + full +
             " is. The map holds postcode sectors, not single postcodes.",
             full + " (sector " + sector + ")");
      } else if (outward[pc[1]]) {
        show(outward[pc[1]], "No postcode sector " + sector + " in the map's areas: showing " +
             "postcode district " + pc[1] + ".", pc[1]);
      } else {
        status(full + " is not in the map's areas.");
      }
      return;
    }
    var best = null, bestScore = 9;
    data.places.forEach(function (p) {
      var score = 9;
      p.keys.forEach(function (k) {
        var n = norm(k);
        if (n === q) { score = Math.min(score, 0); }
        else if (n.indexOf(q) === 0) { score = Math.min(score, 1); }
        else if ((" " + n).indexOf(" " + q) >= 0) { score = Math.min(score, 2); }
        else if (n.indexOf(q) >= 0) { score = Math.min(score, 3); }
      });
      if (score === 9 && norm(p.label).indexOf(q) >= 0) { score = 4; }
      if (score < bestScore) { best = p; bestScore = score; }
    });
    if (!best) {
      status("Nothing on this map matches \u201c" + String(input).trim() + "\u201d. Try a town " +
             "or village, a postcode (CT1 2AA), a postcode district (ME14) or an area's name " +
             "or code.");
      return;
    }
    show(best, "Showing " + best.label + ".");
  }

  // printing: controls hidden by the stylesheet, the whole area fitted to the printed map
  function beforePrint() {
    map.invalidateSize(false); map.fitBounds(bounds, {animate: false}); drawLabels();
  }
  function afterPrint() { map.invalidateSize(false); }
  window.addEventListener("beforeprint", beforePrint);
  window.addEventListener("afterprint", afterPrint);
  if (window.matchMedia) {
    window.matchMedia("print").addEventListener("change", function (m) {
      if (m.matches) { beforePrint(); } else { afterPrint(); }
    });
  }

  function fitCounty() { fitTo(bounds); }
  fitCounty();
  layoutChanged();
  var named = {"Areas": areas, "District outlines": districts};
  Object.keys(overlays).forEach(function (k) { named[overlays[k].name] = overlays[k].layer; });
  window.gapmapLayers = named;
  window.gapmap = {map: map, bounds: bounds, areas: areas, providers: providers,
                   overlays: overlays, districts: districts, setColouring: setColouring,
                   find: find, fitCounty: fitCounty, padding: padding,
                   popupPadding: function () { return [padTL, padBR]; },
                   background: function () { return map.hasLayer(osm) ? "osm" : "none"; }};
}
