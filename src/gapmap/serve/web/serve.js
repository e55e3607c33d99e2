// gapmap signposting page: quick day choices, focus on what changed, and the small map.
// Every text from the register is put in the page with textContent, never as HTML.
(function () {
  "use strict";
  document.querySelectorAll("button[data-days]").forEach(function (button) {
    button.addEventListener("click", function () {
      var want = button.getAttribute("data-days").split(",");
      document.querySelectorAll("input[name=days]").forEach(function (box) {
        box.checked = want.indexOf(box.value) >= 0;
      });
    });
  });

  var skip = document.querySelector(".skip");
  if (skip) skip.addEventListener("click", function (e) {
    var target = document.getElementById("postcode") || document.getElementById("token");
    if (target) { e.preventDefault(); target.focus(); }
  });
  var copy = document.getElementById("copy-summary");
  if (copy) copy.addEventListener("click", function () {
    var text = document.getElementById("summary-text");
    text.select();
    var done = function () { document.getElementById("copy-status").textContent = "Copied."; };
    if (navigator.clipboard) navigator.clipboard.writeText(text.value).then(done, function () {
      document.execCommand("copy"); done();
    });
    else { document.execCommand("copy"); done(); }
  });
  var printButton = document.getElementById("print-summary");
  if (printButton) printButton.addEventListener("click", function () {
    document.body.classList.add("print-summary");
    window.print();
    document.body.classList.remove("print-summary");
  });

  var summary = document.getElementById("error-summary");
  var results = document.getElementById("results-title");
  if (summary) summary.focus();
  else if (results) results.focus();

  var dataNode = document.getElementById("map-data");
  var mapNode = document.getElementById("map");
  if (!dataNode || !mapNode || typeof L === "undefined") return;
  var data = JSON.parse(dataNode.textContent);
  var map = L.map(mapNode, { scrollWheelZoom: false, attributionControl: false });
  L.control.scale({ imperial: false, position: "bottomleft" }).addTo(map);
  window.gapmapMap = map;
  var bounds = L.latLngBounds([]);
  fetch("/api/districts.geojson", { credentials: "same-origin" })
    .then(function (r) { return r.ok ? r.json() : null; })
    .then(function (g) {
      if (!g) return;
      var outline = L.geoJSON(g, { style: { color: "#6f777b", weight: 1, fill: false }, interactive: false }).addTo(map);
      outline.bringToBack();
      // no background tiles offline: the districts' names give the bearings
      outline.eachLayer(function (l) {
        var name = l.feature && l.feature.properties && l.feature.properties.name;
        if (!name) return;
        var at = l.getBounds().getCenter();
        try { at = l.getCenter(); } catch (e) { /* keep the middle of its bounds */ }
        L.tooltip({ permanent: true, direction: "center", className: "district-label", interactive: false })
          .setLatLng(at).setContent(textNode(name)).addTo(map);
      });
    })
    .catch(function () { /* the outline is only a background */ });
  if (data.area) {
    var area = L.geoJSON(data.area, { style: { color: "#1d70b8", weight: 2, fillOpacity: 0.15 } }).addTo(map);
    area.eachLayer(function (l) { l.bindTooltip(textNode("The person's area: " + data.area_label)); });
    bounds.extend(area.getBounds());
  }
  var colours = { provider: "#00703c", partner: "#4c2c92", cover: "#d4351c" };
  var markers = L.layerGroup().addTo(map);
  window.gapmapMarkers = markers;
  data.points.forEach(function (p) {
    // a numbered marker matching the list (the number is text, set with textContent)
    var badge = document.createElement("span");
    badge.className = "marker marker-" + p.role;
    badge.style.background = colours[p.role] || "#505a5f";
    badge.textContent = String(p.number) + (p.role === "provider" ? "" : p.role[0].toUpperCase());
    var m = L.marker([p.lat, p.lon], {
      icon: L.divIcon({ html: badge, className: "marker-icon", iconSize: [28, 28] }),
      title: p.label, keyboard: true, alt: p.label
    });
    m.bindTooltip(textNode(p.label));
    m.bindPopup(textNode(p.popup || p.label));  // Enter on a focused marker opens it
    m.addTo(markers);
    bounds.extend(m.getLatLng());
  });
  if (bounds.isValid()) map.fitBounds(bounds.pad(0.15));
  else map.setView([51.2, 0.8], 9);

  function textNode(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span;
  }
})();
