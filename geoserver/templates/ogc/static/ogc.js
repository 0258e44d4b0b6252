/* Amanat OGC API pages: the language switch, the items-per-page choice and the maps.
   A map reads its settings from the JSON block named by its data-source attribute
   (written by the page's template; no data is ever parsed as HTML). */
(function () {
  "use strict";

  function withParams(changes) {
    var url = new URL(window.location.href);
    Object.keys(changes).forEach(function (key) {
      if (changes[key] === null) { url.searchParams.delete(key); }
      else { url.searchParams.set(key, changes[key]); }
    });
    return url.toString();
  }

  function languageSwitch() {
    var link = document.getElementById("other-lang");
    if (link) { link.href = withParams({lang: link.getAttribute("hreflang")}); }
  }

  function limitChoice() {
    var select = document.getElementById("limit");
    if (!select) { return; }
    select.addEventListener("change", function () {
      window.location.href = withParams({limit: select.value, offset: null});
    });
  }

  function popupFor(settings, feature) {
    var box = document.createElement("div");
    var link = document.createElement("a");
    var id = feature.id === undefined ? "" : String(feature.id);
    link.href = settings.items + "/" + encodeURIComponent(id) + "?f=html&lang=" + settings.lang;
    link.textContent = settings.item + " " + id;
    link.dir = "auto";
    box.appendChild(link);
    return box;
  }

  function baseLayers(map, settings) {
    if (!settings.base || !settings.base.url) { return; }
    var ortho = L.tileLayer(settings.base.url, {
      maxZoom: 20, attribution: settings.base.attribution || "", bounds: settings.bounds || null
    });
    var overlays = {};
    overlays[settings.base.label] = ortho;
    L.control.layers(null, overlays, {collapsed: false}).addTo(map);
  }

  function featureLayer(map, settings) {
    var layer = L.geoJSON(settings.features, {
      style: function () { return {color: "#0b7a75", weight: 2, fillOpacity: 0.15}; },
      pointToLayer: function (feature, latlng) {
        return L.circleMarker(latlng, {radius: 6, color: "#075a56", weight: 2, fillOpacity: 0.6});
      },
      onEachFeature: function (feature, item) {
        if (settings.items) { item.bindPopup(popupFor(settings, feature)); }
      }
    }).addTo(map);
    return layer.getBounds();
  }

  function tileLayer(map, settings) {
    if (!L.vectorGrid) { return; }
    if (!L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () { return true; }; }
    var style = {color: "#0b7a75", weight: 1.5, fill: true, fillOpacity: 0.15, radius: 4};
    L.vectorGrid.protobuf(settings.tiles.url, {
      minZoom: settings.tiles.minzoom, maxZoom: settings.tiles.maxzoom,
      maxNativeZoom: settings.tiles.maxzoom, rendererFactory: L.canvas.tile,
      vectorTileLayerStyles: new Proxy({}, {get: function () { return style; }})
    }).addTo(map);
  }

  function drawMap(element) {
    var source = document.getElementById(element.getAttribute("data-source"));
    if (!source || typeof L === "undefined") { return; }
    var settings = JSON.parse(source.textContent);
    var map = L.map(element, {attributionControl: true, minZoom: settings.minzoom || 1});
    map.attributionControl.setPrefix("");
    baseLayers(map, settings);
    var bounds = null;
    if (settings.features) { bounds = featureLayer(map, settings); }
    if (settings.bbox) {
      var b = settings.bbox;
      var box = L.latLngBounds([[b[1], b[0]], [b[3], b[2]]]);
      L.rectangle(box, {color: "#0b7a75", weight: 2, fillOpacity: 0.05}).addTo(map);
      bounds = bounds && bounds.isValid() ? bounds : box;
    }
    if (settings.tiles) { tileLayer(map, settings); }
    if (bounds && bounds.isValid()) {
      map.fitBounds(bounds, {maxZoom: settings.maxzoom || 17});
      if (settings.minzoom && map.getZoom() < settings.minzoom) {
        map.setView(bounds.getCenter(), settings.minzoom);
      }
    } else {
      map.setView([26.4, 50.1], 10);
    }
  }

  function operations(table) {
    fetch(table.getAttribute("data-src"), {headers: {Accept: "application/json"}})
      .then(function (response) { return response.json(); })
      .then(function (openapi) {
        var body = table.querySelector("tbody");
        Object.keys(openapi.paths || {}).sort().forEach(function (path) {
          Object.keys(openapi.paths[path]).forEach(function (method) {
            var operation = openapi.paths[path][method];
            if (typeof operation !== "object" || !operation.responses) { return; }
            var row = body.insertRow();
            [method.toUpperCase(), path, operation.summary || operation.description || ""]
              .forEach(function (text, column) {
                var cell = row.insertCell();
                cell.textContent = text;
                cell.dir = column < 2 ? "ltr" : "auto";
              });
          });
        });
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    languageSwitch();
    limitChoice();
    var table = document.getElementById("openapi-operations");
    if (table) { operations(table); }
    Array.prototype.forEach.call(document.querySelectorAll(".map[data-source]"), drawMap);
  });
}());
