/* Amanat web map: layers, URL state, search, clicking features, the side panel.
   The page (webmap/page.py, built with Folium) calls Amanat.vectorLayer() for each vector layer
   and Amanat.start() once; parcel checks and the analysis panel are in tools.js, the panorama
   viewer in panorama.js (an ES module loaded on first use). Text from the server is always put
   in the page with textContent, never as HTML. */
(function () {
  "use strict";

  // Leaflet.VectorGrid 1.3 calls a function Leaflet 1.9 no longer has.
  if (window.L && !L.DomEvent.fakeStop) { L.DomEvent.fakeStop = function () { return true; }; }

  var A = window.Amanat = window.Amanat || {};
  var config = null;
  var S = {map: null, control: null, layers: {}, base: "base_plain", bases: {}, sel: null,
           selection: null, failing: {parcels: new Set(), licenses: new Set()}};
  A.state = S;

  // --- helpers --------------------------------------------------------------------------------

  function cfg() {
    if (!config) { config = JSON.parse(document.getElementById("amanat-config").textContent); }
    return config;
  }
  A.cfg = cfg;

  function t(key, vars) {
    var text = cfg().text[key];
    if (text === undefined) { return key; }
    Object.keys(vars || {}).forEach(function (name) { text = text.split("{" + name + "}").join(vars[name]); });
    return text;
  }
  A.t = t;

  /** el("tag.class", {attr: value, on: {event: fn}}, child, ...): a DOM element; strings become text. */
  function el(spec, attrs) {
    var parts = spec.split("."), node = document.createElement(parts[0]);
    if (parts.length > 1) { node.className = parts.slice(1).join(" "); }
    Object.keys(attrs || {}).forEach(function (key) {
      var value = attrs[key];
      if (key === "on") { Object.keys(value).forEach(function (ev) { node.addEventListener(ev, value[ev]); }); }
      else if (key === "text") { node.textContent = value; }
      else if (value === true) { node.setAttribute(key, ""); }
      else if (value !== false && value !== null && value !== undefined) { node.setAttribute(key, value); }
    });
    for (var i = 2; i < arguments.length; i++) { append(node, arguments[i]); }
    return node;
  }
  function append(node, child) {
    if (child === null || child === undefined || child === false) { return; }
    if (Array.isArray(child)) { child.forEach(function (c) { append(node, c); }); return; }
    node.appendChild(typeof child === "string" || typeof child === "number"
      ? document.createTextNode(String(child)) : child);
  }
  A.el = el;

  /** fetch JSON; rejects with {status, message} (the server's safe description when it has one). */
  function fetchJSON(url, options) {
    return fetch(url, options).then(function (response) {
      return response.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { data = null; }
        if (!response.ok) {
          var texts = data && data.descriptions;   // the error in both languages: the page's
          var error = new Error((texts && texts[cfg().lang]) || (data && data.description) ||
                                t("error"));
          error.status = response.status;
          throw error;
        }
        return {data: data, response: response};
      });
    });
  }
  A.fetchJSON = function (url, options) { return fetchJSON(url, options).then(function (r) { return r.data; }); };
  A.fetchResponse = fetchJSON;

  var numbers = null;
  function number(value, digits) {
    if (value === null || value === undefined || value === "") { return "—"; }
    numbers = numbers || {};
    var most = digits === undefined ? 2 : digits, key = String(most);   // number(x, 0): whole
    numbers[key] = numbers[key] || new Intl.NumberFormat(cfg().lang === "ar" ? "ar-SA-u-nu-latn" : "en",
                                                         {maximumFractionDigits: most});
    return numbers[key].format(Number(value));
  }
  A.number = number;

  function date(value) {
    if (!value) { return "—"; }
    var d = new Date(value);
    if (isNaN(d)) { return String(value); }
    return d.toLocaleDateString(cfg().lang === "ar" ? "ar-SA-u-ca-gregory-nu-latn" : "en-GB",
                                {year: "numeric", month: "long", day: "numeric"});
  }
  A.date = date;

  function label(group, value) {
    var key = group + "_" + value;
    return cfg().text[key] !== undefined ? t(key) : String(value);
  }
  A.label = label;

  function layerDef(id) {
    return cfg().layers.filter(function (layer) { return layer.id === id; })[0];
  }

  // --- styles ---------------------------------------------------------------------------------

  function colour(group, value) { return cfg().palette[group][value] || cfg().palette.other; }
  var lines = function () { return cfg().palette.lines; };

  var STYLES = {
    districts: function () {
      return {weight: 1.6, color: lines().district, opacity: 0.85, dashArray: "6 4", fill: false};
    },
    streets: function (p, zoom) {
      var w = p.kind === "arterial" ? 5 : p.kind === "collector" ? 3.2 : 2;
      if (zoom >= 17) { w *= 1.6; }
      return [{weight: w + 2, color: lines().street_casing, opacity: 0.9, lineCap: "round"},
              {weight: w, color: lines().street, opacity: 1, lineCap: "round"}];
    },
    zoning: function (p) {
      var c = colour("zoning", p.code);
      return {fill: true, fillColor: c, fillOpacity: 0.3, color: c, weight: 1.2, opacity: 0.8};
    },
    constraints: function (p) {
      var c = colour("constraint_kind", p.kind);
      return {fill: true, fillColor: c, fillOpacity: 0.22, color: c, weight: 2, dashArray: "5 4"};
    },
    parcels: function (p) {
      var failing = S.failing.parcels.has(p.id);
      return {fill: true, fillColor: colour("land_use", p.land_use), fillOpacity: failing ? 0.75 : 0.6,
              color: failing ? lines().fail : "#7a6f5a", weight: failing ? 2.6 : 0.7, opacity: 1};
    },
    facilities: function (p, zoom) {
      return {radius: zoom >= 16 ? 7 : 5, fill: true, fillColor: colour("facility_kind", p.kind),
              fillOpacity: 1, color: "#ffffff", weight: 1.6};
    },
    licenses: function (p, zoom) {
      var failing = S.failing.licenses.has(p.id);
      return {radius: zoom >= 17 ? 5.5 : 4, fill: true, fillColor: colour("license_status", p.status),
              fillOpacity: 1, color: failing ? lines().fail : "#ffffff", weight: failing ? 3 : 1.2};
    }
  };

  // Every vector layer is drawn from one dataset tileset (/ogc/tiles): one request per tile
  // position holds all the collections shown (seven tilesets took seven). Each collection is a
  // stand-in layer in the layer control; showing or hiding one changes what the grid asks for.
  var GRID = {layer: null, shown: [], pending: false, map: null};

  function gridUrl() {
    var ids = cfg().layers.map(function (l) { return l.id; })
      .filter(function (id) { return GRID.shown.indexOf(id) >= 0; });
    return cfg().datasetTiles + "&collections=" + ids.join(",");
  }

  function syncGrid() {
    GRID.pending = false;
    var map = GRID.map, grid = GRID.layer;
    if (!GRID.shown.length) { if (grid && map.hasLayer(grid)) { map.removeLayer(grid); } return; }
    var minZoom = Math.min.apply(null, GRID.shown.map(function (id) { return layerDef(id).minzoom; }));
    if (!grid) {
      grid = GRID.layer = L.vectorGrid.protobuf(gridUrl(), {
        rendererFactory: L.canvas.tile, vectorTileLayerStyles: STYLES, interactive: false,
        minZoom: minZoom, maxNativeZoom: 20, maxZoom: 20, zIndex: 10, keepBuffer: 1,
        updateWhenZooming: false
      });
    } else if (grid._url !== gridUrl() || grid.options.minZoom !== minZoom) {
      grid.options.minZoom = minZoom;
      grid.setUrl(gridUrl(), true);
      if (map.hasLayer(grid)) { grid.redraw(); }
    }
    if (!map.hasLayer(grid)) { map.addLayer(grid); }
  }

  function changeGrid(id, on) {
    GRID.shown = GRID.shown.filter(function (other) { return other !== id; });
    if (on) { GRID.shown.push(id); }
    if (!GRID.pending) { GRID.pending = true; Promise.resolve().then(syncGrid); }  // one redraw per batch
  }

  /** The stand-in layer of a collection in the layer control (called by the page). */
  A.vectorLayer = function (id) {
    var standIn = L.layerGroup();
    standIn.on("add", function () { GRID.map = standIn._map; changeGrid(id, true); });
    standIn.on("remove", function () { changeGrid(id, false); });
    standIn.redraw = function () { if (GRID.layer) { GRID.layer.redraw(); } return standIn; };
    return standIn;
  };

  // --- URL state ------------------------------------------------------------------------------

  var SELECTABLE = /^(parcels|licenses|facilities|districts):([0-9]{1,12})$/;

  function readState() {
    var p = new URLSearchParams(window.location.search), state = {};
    var z = Number(p.get("z")), ll = (p.get("ll") || "").split(",").map(Number);
    if (p.get("z") && isFinite(z) && z >= 8 && z <= 20) { state.z = z; }
    if (ll.length === 2 && ll.every(isFinite) && Math.abs(ll[0]) <= 90 && Math.abs(ll[1]) <= 180) { state.ll = ll; }
    if (p.has("layers")) {
      var known = cfg().layers.map(function (l) { return l.id; });
      state.layers = p.get("layers").split(",").filter(function (id) { return known.indexOf(id) >= 0; });
    }
    if (p.get("base")) { state.base = p.get("base"); }
    if (SELECTABLE.test(p.get("sel") || "")) { state.sel = p.get("sel"); }
    return state;
  }

  function stateParams(lang) {
    var p = new URLSearchParams(), c = S.map.getCenter();
    p.set("lang", lang);
    p.set("z", String(S.map.getZoom()));
    p.set("ll", c.lat.toFixed(6) + "," + c.lng.toFixed(6));
    p.set("base", S.base);
    p.set("layers", cfg().layers.filter(function (l) { return S.map.hasLayer(S.layers[l.id]); })
      .map(function (l) { return l.id; }).join(","));
    if (S.sel) { p.set("sel", S.sel); }
    return p;
  }

  function writeState() {
    if (!S.map) { return; }
    window.history.replaceState(null, "", "?" + stateParams(cfg().lang).toString());
    var other = cfg().lang === "ar" ? "en" : "ar";
    document.getElementById("lang-switch").setAttribute("href", "?" + stateParams(other).toString());
  }
  A.writeState = writeState;

  // --- start ----------------------------------------------------------------------------------

  A.start = function (map, control, layers) {
    S.map = map; S.control = control;
    Object.keys(layers).forEach(function (id) {
      if (id.indexOf("base_") === 0) { S.bases[id] = layers[id]; } else { S.layers[id] = layers[id]; }
    });
    S.findings = L.featureGroup().addTo(map);
    S.evidence = L.featureGroup().addTo(map);
    followSize(map);
    var state = readState();
    applyLayers(state);
    if (state.z !== undefined && state.ll) { map.setView(state.ll, state.z, {animate: false}); }
    else { fitCity(); }
    addLegend();
    addRasters(state.base);
    map.on("moveend overlayadd overlayremove", writeState);
    map.on("overlayadd overlayremove", legendState);
    map.on("baselayerchange", function (e) { S.base = baseId(e.layer); writeState(); });
    map.on("click", function (e) { identify(e.latlng); });
    map.getContainer().addEventListener("keydown", function (e) {
      if (e.key === "Enter" && e.target === map.getContainer()) { identify(map.getCenter()); }
    });
    initPanel();
    initSearch();
    if (A.initTools) { A.initTools(); }
    legendState();
    writeState();
    if (state.sel) { selectById(state.sel, true); }
  };

  /** Keep Leaflet's idea of the map's size right: the page's layout may settle (fonts, the
      panel) after the map is made, and a stale size puts the URL's centre off the real centre. */
  function followSize(map) {
    map.invalidateSize({pan: false});
    if (!window.ResizeObserver) { return; }
    new ResizeObserver(function () { map.invalidateSize({animate: false}); }).observe(map.getContainer());
  }

  function fitCity() {
    var b = cfg().bounds;
    S.map.fitBounds([[b[1], b[0]], [b[3], b[2]]], {animate: false});
  }

  function applyLayers(state) {
    if (state.layers) {
      Object.keys(S.layers).forEach(function (id) {
        var on = state.layers.indexOf(id) >= 0;
        if (on && !S.map.hasLayer(S.layers[id])) { S.map.addLayer(S.layers[id]); }
        if (!on && S.map.hasLayer(S.layers[id])) { S.map.removeLayer(S.layers[id]); }
      });
    }
    if (state.base === "base_osm") { setBase("base_osm"); }
  }

  function baseId(layer) {
    var found = "base_plain";
    Object.keys(S.bases).forEach(function (id) { if (S.bases[id] === layer) { found = id; } });
    return found;
  }

  function setBase(id) {
    if (!S.bases[id] || S.base === id) { return; }
    Object.keys(S.bases).forEach(function (other) {
      if (S.map.hasLayer(S.bases[other])) { S.map.removeLayer(S.bases[other]); }
    });
    S.map.addLayer(S.bases[id]);
    S.base = id;
  }

  /** Orthophoto and hillshade from GET /raster become base layers (the first orthophoto is shown). */
  function addRasters(wanted) {
    var order = {orthophoto: 0, hillshade: 1, imagery: 2};
    A.fetchJSON("raster").then(function (body) {
      var datasets = (body && body.datasets || []).filter(function (d) { return d.kind in order; });
      datasets.sort(function (a, b) { return order[a.kind] - order[b.kind]; });
      datasets.forEach(function (d) {
        var tiles = (d.links || []).filter(function (l) { return l.rel === "tiles"; })[0];
        if (!tiles) { return; }
        var b = d.bounds, id = "raster:" + d.id;
        S.bases[id] = L.tileLayer(tiles.href, {
          bounds: [[b[1], b[0]], [b[3], b[2]]], minZoom: Math.max(8, d.minzoom - 1),
          minNativeZoom: d.minzoom, maxNativeZoom: d.maxzoom, maxZoom: 20, zIndex: 1,
          attribution: d.title
        });
        S.control.addBaseLayer(S.bases[id], t("raster_" + d.kind) + " — " + d.title);
      });
      var first = datasets.filter(function (d) { return d.kind === "orthophoto"; })[0];
      if (wanted && S.bases[wanted]) { setBase(wanted); }
      else if (!wanted && first) { setBase("raster:" + first.id); }
      writeState();
    }).catch(function () { /* no imagery: the plain background stays */ });
  }

  // --- legend ---------------------------------------------------------------------------------

  function addLegend() {
    var legend = document.getElementById("legend");
    var control = L.control({position: cfg().dir === "rtl" ? "bottomleft" : "bottomright"});
    control.onAdd = function () {
      var box = el("div.leaflet-control.legend-control");
      box.appendChild(legend);
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(S.map);
    if (window.matchMedia("(min-width: 900px)").matches) { legend.open = true; }
  }

  function legendState() {
    document.querySelectorAll(".legend-section").forEach(function (section) {
      var layer = S.layers[section.getAttribute("data-layer")];
      section.classList.toggle("legend-off", !(layer && S.map.hasLayer(layer)));
    });
  }

  // --- side panel -----------------------------------------------------------------------------

  function initPanel() {
    document.getElementById("panel-close").addEventListener("click", closePanel);
    document.addEventListener("keydown", function (e) {
      if (e.key === "Escape" && !document.getElementById("panel").hidden
          && !document.getElementById("search-results").contains(e.target)) { closePanel(); }
    });
  }

  /** Close the popup but keep its feature selected (the panel now works on it). */
  function closePopupKeepSelection() {
    S.keepSelection = true;
    S.map.closePopup();
    S.keepSelection = false;
  }

  var panelCleanup = [];
  /** Show `body` in the side panel under `title`; `cleanup` runs when it is replaced or closed. */
  A.openPanel = function (title, body, cleanup) {
    runCleanup();
    closePopupKeepSelection();
    var panel = document.getElementById("panel");
    var heading = document.getElementById("panel-title");
    heading.textContent = title;
    var holder = document.getElementById("panel-body");
    holder.textContent = "";
    append(holder, body);
    if (cleanup) { panelCleanup.push(cleanup); }
    var wasHidden = panel.hidden;
    panel.hidden = false;
    document.body.classList.add("panel-open");
    if (wasHidden) { S.map.invalidateSize(); }
    heading.focus();
    return holder;
  };

  function runCleanup() {
    while (panelCleanup.length) { try { panelCleanup.pop()(); } catch (e) { /* already gone */ } }
  }

  function closePanel() {
    runCleanup();
    var panel = document.getElementById("panel");
    if (panel.hidden) { return; }
    panel.hidden = true;
    document.body.classList.remove("panel-open");
    S.map.invalidateSize();
    S.map.getContainer().focus();
  }
  A.closePanel = closePanel;

  // --- features: find, select, describe -------------------------------------------------------

  function items(collection, bbox, limit) {
    var url = "ogc/collections/" + collection + "/items?f=json&limit=" + limit +
      "&bbox=" + bbox.map(function (v) { return v.toFixed(7); }).join(",");
    return A.fetchJSON(url).then(function (body) { return (body && body.features) || []; });
  }

  function pixelBox(latlng, px) {
    var p = S.map.latLngToContainerPoint(latlng);
    var sw = S.map.containerPointToLatLng([p.x - px, p.y + px]);
    var ne = S.map.containerPointToLatLng([p.x + px, p.y - px]);
    return [sw.lng, sw.lat, ne.lng, ne.lat];
  }

  /** Kinds of a layer drawn at the current zoom (null: all). */
  function kindsShown(id) {
    var zoom = S.map.getZoom(), kinds = null;
    (layerDef(id).details || []).forEach(function (d) { if (d.minzoom <= zoom) { kinds = d.kinds; } });
    return kinds;
  }

  function shown(id) {
    return S.layers[id] && S.map.hasLayer(S.layers[id]) && S.map.getZoom() >= layerDef(id).minzoom;
  }

  /** What is at a point: the nearest licence or facility within 10 px, else the parcel under it,
      else the district it is in. */
  function identify(latlng) {
    var pointLayers = ["licenses", "facilities"].filter(shown);
    var origin = S.map.latLngToContainerPoint(latlng);
    Promise.all(pointLayers.map(function (id) {
      return items(id, pixelBox(latlng, 10), 20).then(function (features) {
        var kinds = kindsShown(id);
        return features.filter(function (f) { return !kinds || kinds.indexOf(f.properties.kind) >= 0; })
          .map(function (f) { return {collection: id, feature: f}; });
      });
    })).then(function (lists) {
      var best = null, bestDistance = 11;
      [].concat.apply([], lists).forEach(function (hit) {
        var c = hit.feature.geometry.coordinates;
        var d = origin.distanceTo(S.map.latLngToContainerPoint([c[1], c[0]]));
        if (d < bestDistance) { best = hit; bestDistance = d; }
      });
      if (best) { return select(best.collection, best.feature, latlng); }
      return under(["parcels", "districts"].filter(shown), latlng).then(function (hit) {
        if (hit) { select(hit.collection, hit.feature, latlng); } else { clearSelection(); }
      });
    }).catch(showError);
  }
  A.identify = identify;

  /** The first polygon of `collections` (in order) that contains the point, or null. */
  function under(collections, latlng) {
    if (!collections.length) { return Promise.resolve(null); }
    var box = [latlng.lng - 1e-7, latlng.lat - 1e-7, latlng.lng + 1e-7, latlng.lat + 1e-7];
    return items(collections[0], box, 10).then(function (features) {
      var hit = features.filter(function (f) { return contains(f.geometry, latlng); })[0];
      return hit ? {collection: collections[0], feature: hit} : under(collections.slice(1), latlng);
    });
  }

  function contains(geometry, latlng) {
    var polygons = geometry.type === "Polygon" ? [geometry.coordinates] : geometry.coordinates;
    return polygons.some(function (rings) {
      return inRing(rings[0], latlng) && !rings.slice(1).some(function (hole) { return inRing(hole, latlng); });
    });
  }
  function inRing(ring, latlng) {
    var x = latlng.lng, y = latlng.lat, inside = false;
    for (var i = 0, j = ring.length - 1; i < ring.length; j = i++) {
      var xi = ring[i][0], yi = ring[i][1], xj = ring[j][0], yj = ring[j][1];
      if (((yi > y) !== (yj > y)) && (x < (xj - xi) * (y - yi) / (yj - yi) + xi)) { inside = !inside; }
    }
    return inside;
  }

  /** Select a feature given as "collection:id" (from the URL or a search result). */
  function selectById(ref, zoom) {
    var m = SELECTABLE.exec(ref);
    if (!m) { return Promise.resolve(); }
    return A.fetchJSON("ogc/collections/" + m[1] + "/items/" + m[2] + "?f=json").then(function (feature) {
      var shape = L.geoJSON(feature);
      if (zoom && !S.map.getBounds().contains(shape.getBounds())) {
        S.map.fitBounds(shape.getBounds(), {maxZoom: 18, animate: false});
      }
      select(m[1], feature, anchorOf(feature));
    }).catch(showError);
  }
  A.selectById = selectById;

  function anchorOf(feature) {
    var g = feature.geometry;
    if (g.type === "Point") { return L.latLng(g.coordinates[1], g.coordinates[0]); }
    return L.geoJSON(feature).getBounds().getCenter();
  }
  A.anchorOf = anchorOf;

  function clearSelection() {
    if (S.selection) { S.map.removeLayer(S.selection); S.selection = null; }
    if (S.sel) { S.sel = null; writeState(); }
  }

  function select(collection, feature, latlng) {
    if (S.selection) { S.map.removeLayer(S.selection); }
    var colourSel = lines().selection;
    S.selection = L.geoJSON(feature, {
      interactive: false,
      style: function () { return {color: colourSel, weight: 4, fill: false}; },
      pointToLayer: function (f, ll) {
        return L.circleMarker(ll, {radius: 11, color: colourSel, weight: 3, fill: false, interactive: false});
      }
    }).addTo(S.map);
    S.sel = collection + ":" + feature.id;
    writeState();
    var popup = L.popup({maxWidth: 340, minWidth: 240, autoPanPadding: [30, 30], className: "amanat-popup"})
      .setLatLng(latlng).setContent(describe(collection, feature, latlng));
    popup.on("remove", function () {
      if (!S.keepSelection && S.sel === collection + ":" + feature.id) { clearSelection(); }
    });
    popup.openOn(S.map);
    keyboardPopup(popup);
  }

  /** The popup in the page's language and by keyboard: its heading takes the focus, its close
      button is labelled, Escape closes it and gives the focus back to the map. */
  function keyboardPopup(popup) {
    var box = popup.getElement();
    if (!box) { return; }
    var close = box.querySelector(".leaflet-popup-close-button");
    if (close) { close.setAttribute("aria-label", t("close")); close.setAttribute("title", t("close")); }
    box.setAttribute("role", "dialog");
    box.setAttribute("aria-label", (box.querySelector("h3") || {}).textContent || "");
    box.addEventListener("keydown", function (e) {
      if (e.key !== "Escape") { return; }
      e.preventDefault();
      e.stopPropagation();
      S.map.closePopup();
      S.map.getContainer().focus({preventScroll: true});
    });
    var first = box.querySelector("h3");
    if (first) { first.focus({preventScroll: true}); }
  }

  function row(name, value) {
    return [el("dt", {text: t("f_" + name)}), el("dd", {text: value === null || value === undefined ? "—" : String(value)})];
  }

  function describe(collection, feature, latlng) {
    if (collection === "districts") { return describeDistrict(feature); }
    var p = feature.properties, box = el("div.popup", {dir: "auto"}), actions = el("div.popup-actions");
    var streetView = el("button.action", {type: "button", text: t("street_view"), on: {click: function () {
      A.openStreetView && A.openStreetView(anchorOf(feature));
    }}});
    if (collection === "parcels") {
      var district = el("dd", {text: "…"});
      append(box, [el("h3", {tabindex: "-1", text: t("parcel") + " " + p.parcel_no}), el("dl", {},
        row("plan_no", p.plan_no), row("block_no", p.block_no), [el("dt", {text: t("f_district")}), district],
        row("area_m2", number(p.area_m2) + " " + t("unit_m2")),
        row("frontage_m", number(p.frontage_m) + " " + t("unit_m")),
        row("land_use", label("land_use", p.land_use)), row("zoning_code", label("zone", p.zoning_code)))]);
      districtName(p.district_id).then(function (name) { district.textContent = name; });
      append(actions, el("button.action.primary", {type: "button", text: t("check_parcel"), on: {click: function () {
        A.openCheck && A.openCheck(feature);
      }}}));
    } else if (collection === "licenses") {
      var lang = cfg().lang;
      append(box, [el("h3", {tabindex: "-1", text: p["trade_name_" + lang]}), el("dl", {},
        row("license_no", p.license_no), row("activity", p["activity_" + lang]), row("isic_code", p.isic_code),
        [el("dt", {text: t("f_status")}), el("dd", {},
          el("span.badge", {style: "--badge: " + colour("license_status", p.status),
                            text: label("license_status", p.status)}))],
        row("issue_date", date(p.issue_date)), row("expiry_date", date(p.expiry_date)),
        row("shop_area_m2", number(p.shop_area_m2) + " " + t("unit_m2")))]);
    } else {
      var where = el("dd", {text: "…"});
      append(box, [el("h3", {tabindex: "-1", text: p["name_" + cfg().lang]}), el("dl", {},
        row("kind", label("facility_kind", p.kind)), row("opening_hours", p.opening_hours),
        [el("dt", {text: t("f_district")}), where])]);
      districtName(p.district_id).then(function (name) { where.textContent = name; });
    }
    append(actions, streetView);
    append(box, actions);
    return box;
  }

  /** A district: names, municipality, area and counts (GET districts/{id}), "Zoom to district". */
  function describeDistrict(feature) {
    var p = feature.properties, lang = cfg().lang, facts = {};
    ["municipality", "district_code", "area", "parcels", "licences"].forEach(function (name) {
      facts[name] = el("dd", {text: "…"});
    });
    var zoom = el("button.action.primary", {type: "button", text: t("zoom_to_district"), on: {click: function () {
      closePopupKeepSelection();          // the district stays outlined (and in the URL)
      S.map.fitBounds(L.geoJSON(feature).getBounds(), {maxZoom: 17});
      S.map.getContainer().focus({preventScroll: true});
    }}});
    var box = el("div.popup.popup-district", {dir: "auto"},
      el("p.popup-kind", {text: t("kind_district")}),
      el("h3", {tabindex: "-1", text: p["name_" + lang]}),
      el("dl", {}, Object.keys(facts).map(function (name) {
        return [el("dt", {text: t("f_" + name)}), facts[name]];
      })),
      el("div.popup-actions", {}, zoom));
    A.fetchJSON("districts/" + feature.id).then(function (d) {
      facts.municipality.textContent = d.municipality["name_" + lang];
      facts.district_code.textContent = d.code;
      facts.area.textContent = t("area_km2_ha", {km2: number(d.area_km2, 2), ha: number(d.area_ha, 1)});
      facts.parcels.textContent = number(d.parcels, 0);
      facts.licences.textContent = t("licences_active", {n: number(d.licenses, 0), active: number(d.active_licenses, 0)});
      box.setAttribute("data-loaded", "true");
    }).catch(function (error) {
      Object.keys(facts).forEach(function (name) { if (facts[name].textContent === "…") { facts[name].textContent = "—"; } });
      showError(error);
    });
    return box;
  }

  var districts = null;
  /** id -> {code, name_ar, name_en} of every district (one small request, made once). */
  A.districts = function () {
    districts = districts || A.fetchJSON("ogc/collections/districts/items?f=json&skipGeometry=true" +
      "&properties=code,name_ar,name_en&limit=10000").then(function (body) {
      var out = {};
      (body.features || []).forEach(function (f) { out[f.id] = f.properties; });
      return out;
    }).catch(function () { districts = null; return {}; });
    return districts;
  };

  function districtName(id) {
    return A.districts().then(function (all) {
      return all[id] ? all[id]["name_" + cfg().lang] : "—";
    });
  }

  function showError(error) {
    var status = document.getElementById("search-status");
    status.textContent = (error && error.message) || t("error");
  }
  A.showError = showError;

  // --- search ---------------------------------------------------------------------------------

  function initSearch() {
    var form = document.getElementById("search-form"), input = document.getElementById("search-input");
    var list = document.getElementById("search-results"), status = document.getElementById("search-status");
    var timer = null, seq = 0;

    function close() { list.hidden = true; input.setAttribute("aria-expanded", "false"); }

    function run(pickFirst) {
      var q = input.value.trim(), mine = ++seq;
      if (!q) { list.textContent = ""; close(); return; }
      var url = "search?lang=" + cfg().lang + "&limit=8&q=" + encodeURIComponent(q.slice(0, 100));
      A.fetchJSON(url).then(function (body) {
        if (mine !== seq) { return; }
        list.textContent = "";
        var results = body.results || [];
        status.textContent = results.length ? t("search_results", {n: results.length}) : t("search_none");
        if (!results.length) {
          list.appendChild(el("li.search-empty", {role: "option", "aria-disabled": "true", text: t("search_none")}));
        }
        results.forEach(function (r, i) {
          list.appendChild(el("li", {role: "presentation"}, el("button.search-result", {
            type: "button", role: "option", id: "search-option-" + i, "data-kind": r.kind,
            on: {click: function () { choose(r); }}},
            el("span.result-kind", {text: t("kind_" + r.kind)}),
            el("span.result-label", {text: r.label}),
            r.context || (r.ref && r.kind !== "parcel") ? el("span.result-context",
              {text: [r.kind === "license" ? r.ref : null, r.context].filter(Boolean).join(" · ")}) : null)));
        });
        list.hidden = false;
        input.setAttribute("aria-expanded", "true");
        if (pickFirst && results.length) { choose(results[0]); }
      }).catch(function (error) { status.textContent = error.message; });
    }

    function choose(r) {
      close();
      input.value = r.label;
      if (r.bbox) {
        S.map.fitBounds([[r.bbox[1], r.bbox[0]], [r.bbox[3], r.bbox[2]]], {maxZoom: r.kind === "parcel" ? 18 : 17});
      } else {
        S.map.setView([r.point[1], r.point[0]], Math.max(S.map.getZoom(), 18));
      }
      if (SELECTABLE.test(r.collection + ":" + r.id)) {
        if (!S.map.hasLayer(S.layers[r.collection])) { S.map.addLayer(S.layers[r.collection]); }
        selectById(r.collection + ":" + r.id, false);
      }
      S.map.getContainer().focus({preventScroll: true});
    }

    input.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(function () { run(false); }, 180);
    });
    form.addEventListener("submit", function (e) { e.preventDefault(); clearTimeout(timer); run(true); });
    input.addEventListener("keydown", function (e) {
      if (e.key === "ArrowDown" && !list.hidden) {
        var first = list.querySelector("button"); if (first) { e.preventDefault(); first.focus(); }
      } else if (e.key === "Escape") { close(); }
    });
    list.addEventListener("keydown", function (e) {
      var buttons = Array.prototype.slice.call(list.querySelectorAll("button"));
      var i = buttons.indexOf(document.activeElement);
      if (e.key === "ArrowDown" && i < buttons.length - 1) { e.preventDefault(); buttons[i + 1].focus(); }
      else if (e.key === "ArrowUp") { e.preventDefault(); (i > 0 ? buttons[i - 1] : input).focus(); }
      else if (e.key === "Escape") { close(); input.focus(); }
    });
    document.addEventListener("click", function (e) { if (!form.contains(e.target)) { close(); } });
  }
})();
