/* Amanat field app: views, sign-in, the inspector's area, the map, licence details, the
   inspection form (checked on the device with the server's rules from #field-config) and the
   sync state. Everything shown comes from IndexedDB (FieldStore), so it opens offline. */
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("field-config").textContent);
  var RULES = CFG.rules, LANG_KEY = "amanat.field.lang";
  var state = {lang: pickLang(), view: "signin", licence: null, form: null, map: null, marks: null};

  function pickLang() {
    var asked = new URLSearchParams(location.search).get("lang");
    if (asked === "ar" || asked === "en") { localStorage.setItem(LANG_KEY, asked); return asked; }
    return localStorage.getItem(LANG_KEY) || document.documentElement.lang || "ar";
  }

  function t(key, vars) {
    var text = CFG.texts[state.lang][key] || key;
    return text.replace(/\{(\w+)\}/g, function (_, name) { return vars && vars[name] !== undefined ? vars[name] : ""; });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (name) {
      if (name === "text") { node.textContent = attrs[name]; } else if (name.indexOf("on") === 0) {
        node.addEventListener(name.slice(2), attrs[name]);
      } else { node.setAttribute(name, attrs[name]); }
    });
    (children || []).forEach(function (child) { if (child) { node.appendChild(child); } });
    return node;
  }

  var $ = function (id) { return document.getElementById(id); };

  function notice(text) {
    var box = $("notice");
    box.textContent = text || "";
    box.hidden = !text;
  }

  // --- language ------------------------------------------------------------------------------
  function applyLang() {
    var html = document.documentElement;
    html.lang = state.lang;
    html.dir = state.lang === "ar" ? "rtl" : "ltr";
    document.title = t("app_name");
    Array.prototype.forEach.call(document.querySelectorAll("[data-t]"), function (node) {
      node.textContent = t(node.getAttribute("data-t"));
    });
    $("photos-label").textContent = t("photos", {max: RULES.maxPhotos});
    renderNet();
    render();
  }

  // --- session -------------------------------------------------------------------------------
  function session() { return FieldStore.session(); }
  function token() { var s = session(); return s ? s.token : null; }

  function signIn(event) {
    event.preventDefault();
    var body = JSON.stringify({username: $("signin-user").value, password: $("signin-password").value});
    $("signin-error").textContent = "";
    fetch("/auth/token", {method: "POST", body: body, cache: "no-store",
      headers: {"Content-Type": "application/json", "Accept-Language": state.lang}})
      .then(function (response) {
        return response.json().then(function (answer) {
          if (!response.ok) {
            throw new Error((answer.descriptions && answer.descriptions[state.lang]) || answer.description || response.status);
          }
          FieldStore.saveSession({token: answer.access_token, user: answer.user, role: answer.role,
                                  expires: Date.now() + answer.expires_in * 1000});
          $("signin-password").value = "";
          notice("");
          show(state.afterSignIn || "licences");
          syncNow();
        });
      }).catch(function (err) { $("signin-error").textContent = t("signin_failed", {reason: err.message}); });
  }

  function signOut() { FieldStore.saveSession(null); show("signin"); }

  function authLost() {
    FieldStore.saveSession(null);
    notice(t("session_expired"));
    state.afterSignIn = "queue";
    show("signin");
  }

  // --- views ---------------------------------------------------------------------------------
  function show(view) {
    if (view !== "signin" && !token()) { view = "signin"; }
    state.view = view;
    Array.prototype.forEach.call(document.querySelectorAll(".view"), function (node) {
      node.hidden = node.id !== "view-" + view;
    });
    $("tabs").hidden = view === "signin";
    $("signout").hidden = !token();
    render();
  }

  function render() {
    if (state.view === "licences") { renderLicences(); }
    if (state.view === "map") { renderMap(); }
    if (state.view === "details") { renderDetails(); }
    if (state.view === "queue") { renderQueue(); }
    if (state.view === "form") { renderForm(); }
    renderSyncChip();
  }

  function renderNet() {
    var on = navigator.onLine && state.reachable !== false;
    $("net").textContent = on ? t("online") : t("offline");
    $("net").className = "chip " + (on ? "ok" : "off");
    document.documentElement.setAttribute("data-online", on ? "yes" : "no");
  }

  // --- the area ------------------------------------------------------------------------------
  function position(timeout) {
    return new Promise(function (resolve) {
      if (!navigator.geolocation) { resolve(null); return; }
      navigator.geolocation.getCurrentPosition(function (p) {
        resolve({lon: p.coords.longitude, lat: p.coords.latitude, accuracy: Math.round(p.coords.accuracy)});
      }, function () { resolve(null); }, {enableHighAccuracy: true, timeout: timeout || 8000, maximumAge: 60000});
    });
  }

  function api(path) {
    return fetch(path, {cache: "no-store", headers: {"Authorization": "Bearer " + token(), "Accept-Language": state.lang}})
      .then(function (response) {
        if (response.status === 401) { authLost(); throw new Error(t("session_expired")); }
        if (!response.ok) {
          return response.json().then(function (b) { throw new Error(b.descriptions ? b.descriptions[state.lang] : response.status); });
        }
        return response.json();
      });
  }

  function refreshArea() {
    $("area-status").textContent = t("refreshing");
    return position().then(function (here) {
      var query = here ? "?near=" + here.lon.toFixed(6) + "," + here.lat.toFixed(6) + "&radius=" + CFG.radius : "";
      return api("/field/api/licences" + query);
    }).then(function (answer) {
      return FieldStore.replaceLicences(answer.licences).then(function () {
        return keepTiles(answer.licences);
      }).then(function (tiles) {
        FieldStore.put("meta", {at: Date.now(), licences: answer.licences.length, tiles: tiles}, "area");
        $("area-status").textContent = t("area_saved", {licences: answer.licences.length, tiles: tiles});
        renderLicences();
      });
    }).catch(function (err) {
      $("area-status").textContent = FieldStore.isQuotaError(err) ? t("err_quota") : t("error", {reason: err.message});
    });
  }

  function tileRange(bounds, z) {
    var n = Math.pow(2, z);
    function x(lon) { return Math.floor((lon + 180) / 360 * n); }
    function y(lat) { var r = lat * Math.PI / 180; return Math.floor((1 - Math.log(Math.tan(r) + 1 / Math.cos(r)) / Math.PI) / 2 * n); }
    return {x0: x(bounds[0]), x1: x(bounds[2]), y0: y(bounds[3]), y1: y(bounds[1])};
  }

  /** Put the vector tiles around the licences (zooms CFG.zooms) into Cache Storage. */
  function keepTiles(licences) {
    if (!licences.length || !window.caches) { return Promise.resolve(0); }
    var pad = 0.004, b = [180, 90, -180, -90];
    licences.forEach(function (l) {
      b = [Math.min(b[0], l.lon - pad), Math.min(b[1], l.lat - pad), Math.max(b[2], l.lon + pad), Math.max(b[3], l.lat + pad)];
    });
    var urls = [];
    for (var z = CFG.zooms[0]; z <= CFG.zooms[1]; z++) {
      var r = tileRange(b, z);
      for (var x = r.x0; x <= r.x1; x++) { for (var y = r.y0; y <= r.y1; y++) {
        urls.push(CFG.tiles.replace("{z}", z).replace("{x}", x).replace("{y}", y));
      } }
    }
    urls = urls.slice(0, 3000);
    return caches.open("field-tiles").then(function (cache) {
      var next = 0, done = 0;
      function worker() {
        if (next >= urls.length) { return Promise.resolve(); }
        var url = urls[next++];
        return cache.match(url, {ignoreVary: true}).then(function (hit) {
          return hit ? null : fetch(url).then(function (r) { return r.ok ? cache.put(url, r) : null; });
        }).then(function () { done++; return worker(); });
      }
      return Promise.all([worker(), worker(), worker(), worker()]).then(function () { return done; });
    });
  }

  function licenceName(l) { return (state.lang === "ar" ? l.trade_name_ar : l.trade_name_en) || l.license_no; }

  function licenceItem(l) {
    var sub = l.due_date ? t("due", {date: l.due_date}) : (l.last_visit ? t("last_visit", {date: l.last_visit.slice(0, 10)}) : t("never_visited"));
    return el("li", {}, [el("button", {"type": "button", "class": "row", "data-licence": String(l.id),
      onclick: function () { openLicence(l.id); }},
      [el("bdi", {text: licenceName(l)}), el("small", {text: l.license_no + " · " + sub})])]);
  }

  function renderLicences() {
    FieldStore.all("licences").then(function (list) {
      var assigned = $("list-assigned"), nearby = $("list-nearby");
      assigned.textContent = ""; nearby.textContent = "";
      list.filter(function (l) { return l.assigned; }).forEach(function (l) { assigned.appendChild(licenceItem(l)); });
      list.filter(function (l) { return !l.assigned; }).forEach(function (l) { nearby.appendChild(licenceItem(l)); });
      if (!list.length) { assigned.appendChild(el("li", {"class": "muted", text: t("no_licences")})); }
      FieldStore.get("meta", "area").then(function (meta) {
        if (meta && !$("area-status").textContent) {
          $("area-status").textContent = t("area_saved", {licences: meta.licences, tiles: meta.tiles});
        }
      });
    });
  }

  // --- the map -------------------------------------------------------------------------------
  var STYLES = {
    districts: {weight: 2, color: "#006847", fill: false},
    streets: {weight: 2, color: "#9a9a9a"},
    parcels: {weight: 0.6, color: "#b0a48a", fill: true, fillColor: "#f4efe4", fillOpacity: 0.6},
    licenses: {radius: 3, color: "#555", fill: true, fillOpacity: 0.6, weight: 1}
  };

  var mapFiles = null;

  /** Leaflet and VectorGrid, loaded the first time the map is opened (the shell does not wait
      for 200 KB it may not need; the service worker keeps them for offline use). */
  function loadMap() {
    if (!mapFiles) {
      mapFiles = CFG.map.reduce(function (chain, url) {
        return chain.then(function () {
          return new Promise(function (resolve, reject) {
            var css = /\.css$/.test(url), node = css ? el("link", {rel: "stylesheet", href: url}) : el("script", {src: url});
            node.onload = resolve;
            node.onerror = function () { mapFiles = null; reject(new Error(url)); };
            document.head.appendChild(node);
          });
        });
      }, Promise.resolve());
    }
    return mapFiles;
  }

  function renderMap() {
    if (!window.L || !L.vectorGrid) { loadMap().then(renderMap, function () {}); return; }
    if (!state.map) {
      L.DomEvent.fakeStop = L.DomEvent.fakeStop || function () { return true; };
      state.map = L.map("map", {zoomControl: true, attributionControl: false, maxZoom: 19, minZoom: CFG.zooms[0]});
      L.vectorGrid.protobuf(CFG.tiles, {rendererFactory: L.canvas.tile, vectorTileLayerStyles: STYLES,
        interactive: false, maxNativeZoom: CFG.zooms[1], minZoom: CFG.zooms[0], maxZoom: 19}).addTo(state.map);
      state.marks = L.layerGroup().addTo(state.map);
    }
    setTimeout(function () { state.map.invalidateSize(); }, 0);
    FieldStore.all("licences").then(function (list) {
      state.marks.clearLayers();
      var points = list.map(function (l) {
        var mark = L.circleMarker([l.lat, l.lon], {radius: 9, color: "#fff", weight: 2, fillOpacity: 1,
          fillColor: l.assigned ? "#c0392b" : "#006847"});
        mark.on("click", function () { openLicence(l.id); });
        mark.bindTooltip(licenceName(l));
        state.marks.addLayer(mark);
        return [l.lat, l.lon];
      });
      if (points.length) { state.map.fitBounds(points, {padding: [30, 30], maxZoom: 17}); } else { state.map.setView([26.43, 50.1], 14); }
    });
  }

  // --- details and history ------------------------------------------------------------------
  function openLicence(id) {
    FieldStore.get("licences", id).then(function (l) { state.licence = l; show("details"); });
  }

  function fact(label, value) {
    return el("div", {"class": "fact"}, [el("dt", {text: label}), el("dd", {}, [el("bdi", {text: value || "—"})])]);
  }

  function renderDetails() {
    var l = state.licence, box = $("details");
    if (!l) { return; }
    box.textContent = "";
    box.appendChild(el("h2", {}, [el("bdi", {text: licenceName(l)})]));
    box.appendChild(el("dl", {"class": "facts"}, [
      fact("#", l.license_no), fact(t("status"), l.status),
      fact(t("activity"), state.lang === "ar" ? l.activity_ar : l.activity_en),
      fact(t("district"), state.lang === "ar" ? l.district_ar : l.district_en),
      fact(t("expiry"), l.expiry_date),
      l.due_date ? fact(t("due_date"), l.due_date) : null]));
    var list = $("history");
    list.textContent = "";
    if (!navigator.onLine) { list.appendChild(el("li", {"class": "muted", text: t("history_offline")})); return; }
    api("/field/api/licences/" + l.id + "/history").then(function (answer) {
      list.textContent = "";
      if (!answer.inspections.length) { list.appendChild(el("li", {"class": "muted", text: t("no_history")})); }
      answer.inspections.forEach(function (i) {
        list.appendChild(el("li", {}, [el("strong", {text: i.visited_at.slice(0, 16) + " · " + t("result_" + i.result)}),
          el("small", {text: [i.violations, i.notes, t("photos_n", {n: i.photos})].filter(Boolean).join(" · ")})]));
      });
    }).catch(function () { list.textContent = ""; list.appendChild(el("li", {"class": "muted", text: t("history_offline")})); });
  }

  // --- the inspection form ------------------------------------------------------------------
  function uuid() {
    if (crypto.randomUUID) { return crypto.randomUUID(); }
    var b = crypto.getRandomValues(new Uint8Array(16)), h = Array.prototype.map.call(b, function (x) { return (x + 256).toString(16).slice(1); }).join("");
    return h.slice(0, 8) + "-" + h.slice(8, 12) + "-" + h.slice(12, 16) + "-" + h.slice(16, 20) + "-" + h.slice(20);
  }

  function openForm() {
    var l = state.licence;
    state.form = {key: uuid(), photos: [], position: null, licence: l};
    $("inspection-form").reset();
    $("form-errors").textContent = "";
    show("form");
    position(6000).then(function (here) {
      if (state.form && state.form.licence === l) { state.form.position = here; renderPosition(); }
    });
  }

  function renderForm() {
    var f = state.form;
    if (!f) { return; }
    $("form-title").textContent = licenceName(f.licence);
    var results = $("results"), chosen = (document.querySelector("input[name=result]:checked") || {}).value;
    Array.prototype.slice.call(results.querySelectorAll("label")).forEach(function (n) { n.remove(); });
    RULES.results.forEach(function (code) {
      var input = el("input", {type: "radio", name: "result", value: code});
      input.checked = code === chosen;
      results.appendChild(el("label", {"class": "choice"}, [input, el("span", {text: t("result_" + code)})]));
    });
    var box = $("violations"), ticked = picked();
    Array.prototype.slice.call(box.querySelectorAll("label")).forEach(function (n) { n.remove(); });
    CFG.violations.forEach(function (v) {
      var input = el("input", {type: "checkbox", name: "violation", value: v.code});
      input.checked = ticked.indexOf(v.code) >= 0;
      box.appendChild(el("label", {"class": "choice"}, [input, el("span", {text: v[state.lang]})]));
    });
    renderThumbs();
    renderPosition();
  }

  function picked() {
    return Array.prototype.map.call(document.querySelectorAll("input[name=violation]:checked"), function (n) { return n.value; });
  }

  function renderPosition() {
    var f = state.form;
    if (!f) { return; }
    $("position").textContent = f.position ? t("position_gps", {m: f.position.accuracy}) : t("position_licence");
  }

  function renderThumbs() {
    var box = $("thumbs");
    box.textContent = "";
    (state.form ? state.form.photos : []).forEach(function (blob, index) {
      var img = el("img", {alt: String(index + 1), src: URL.createObjectURL(blob)});
      box.appendChild(el("button", {type: "button", "class": "thumb", title: t("discard"),
        onclick: function () { state.form.photos.splice(index, 1); renderThumbs(); }}, [img]));
    });
  }

  function canvasBlob(canvas, quality) {
    return new Promise(function (resolve) { canvas.toBlob(resolve, "image/jpeg", quality); });
  }

  /** A photo scaled to RULES.photoMaxEdge and JPEG-encoded under RULES.maxPhotoBytes (no EXIF:
      the canvas writes none). */
  function compress(file) {
    if (!/^image\//.test(file.type)) { return Promise.reject(new Error(t("err_photo_type", {name: file.name}))); }
    return createImageBitmap(file, {imageOrientation: "from-image"}).catch(function () {
      throw new Error(t("err_photo_type", {name: file.name}));
    }).then(function (bitmap) {
      var scale = Math.min(1, RULES.photoMaxEdge / Math.max(bitmap.width, bitmap.height));
      var canvas = document.createElement("canvas");
      canvas.width = Math.max(1, Math.round(bitmap.width * scale));
      canvas.height = Math.max(1, Math.round(bitmap.height * scale));
      canvas.getContext("2d").drawImage(bitmap, 0, 0, canvas.width, canvas.height);
      var qualities = [0.82, 0.7, 0.55, 0.4];
      function attempt(i) {
        return canvasBlob(canvas, qualities[i]).then(function (blob) {
          if (blob.size <= RULES.maxPhotoBytes) { return blob; }
          if (i + 1 < qualities.length) { return attempt(i + 1); }
          throw new Error(t("err_photo_big", {name: file.name}));
        });
      }
      return attempt(0);
    });
  }

  function addPhotos() {
    var files = Array.prototype.slice.call($("photos").files), errors = [];
    if (state.form.photos.length + files.length > RULES.maxPhotos) {
      errors.push(t("err_photos_many", {max: RULES.maxPhotos}));
      files = files.slice(0, Math.max(0, RULES.maxPhotos - state.form.photos.length));
    }
    return files.reduce(function (chain, file) {
      return chain.then(function () {
        return compress(file).then(function (blob) { state.form.photos.push(blob); })
          .catch(function (err) { errors.push(err.message); });
      });
    }, Promise.resolve()).then(function () {
      $("photos").value = "";
      showErrors(errors);
      renderThumbs();
    });
  }

  function showErrors(errors) {
    var list = $("form-errors");
    list.textContent = "";
    errors.forEach(function (e) { list.appendChild(el("li", {text: e})); });
  }

  /** The form's problems by the server's rules (layers.feature_rules InspectionSpec). */
  function check(f, result, notes, violations, now) {
    var errors = [];
    if (RULES.results.indexOf(result) < 0) { errors.push(t("err_result")); }
    if (notes.length > RULES.notesMax) { errors.push(t("err_notes", {max: RULES.notesMax})); }
    if (!new RegExp(RULES.violationPattern).test(violations)) { errors.push(t("err_violation_needed")); }
    if (f.photos.length > RULES.maxPhotos) { errors.push(t("err_photos_many", {max: RULES.maxPhotos})); }
    if (f.licence.issue_date && now.toISOString().slice(0, 10) < f.licence.issue_date) { errors.push(t("error", {reason: "visited_at < issue_date"})); }
    return errors;
  }

  function saveInspection(event) {
    event.preventDefault();
    var f = state.form, button = $("save");
    if (!f || button.disabled) { return; }
    var result = (document.querySelector("input[name=result]:checked") || {}).value || "";
    var notes = $("notes").value, violations = picked().join(","), now = new Date();
    var errors = check(f, result, notes, violations, now);
    showErrors(errors);
    if (errors.length) { return; }
    button.disabled = true;
    var where = f.position || {lon: f.licence.lon, lat: f.licence.lat};
    var item = {key: f.key, user: (session() || {}).user, licenceId: f.licence.id, licenceEtag: f.licence.etag,
      licenceName: licenceName(f.licence), created: Date.now(), state: "pending", reason: "", photos: f.photos.slice(),
      photoCount: f.photos.length,
      feature: {type: "Feature", geometry: {type: "Point", coordinates: [where.lon, where.lat]},
        properties: {license_id: f.licence.id, visited_at: now.toISOString(), result: result,
                     notes: notes, violations: violations}}};
    FieldStore.get("queue", item.key).then(function (already) {
      return already ? null : FieldStore.put("queue", item);   // a second tap: the same key, kept once
    }).then(function () {
      state.form = null;
      notice(t("saved"));
      show("queue");
      syncNow();
    }).catch(function (err) {
      showErrors([FieldStore.isQuotaError(err) ? t("err_quota") : t("error", {reason: err.message})]);
    }).finally(function () { button.disabled = false; });
  }

  // --- the queue -----------------------------------------------------------------------------
  var ctx = {token: token, lang: function () { return state.lang; }, t: t, authLost: authLost,
             reachable: function (ok) { reachable(ok); },
             changed: function () { renderSyncChip(); if (state.view === "queue") { renderQueue(); } }};

  function syncNow() { return FieldSync.run(ctx); }

  /** Whether the server answers (navigator.onLine alone says nothing of a dead Wi-Fi): set
      by every sync call and by a probe every 5 s; coming back sends what is waiting. */
  function reachable(ok) {
    var back = ok && state.reachable === false;
    state.reachable = ok;
    renderNet();
    if (back) { syncNow(); }
  }

  function probe() {
    fetch("/healthz", {method: "HEAD", cache: "no-store"}).then(function (r) { reachable(r.status < 500); },
      function () { reachable(false); });
    FieldStore.all("queue").then(function (items) {
      if (state.reachable && items.some(function (i) { return i.state === "pending"; })) { syncNow(); }
    });
  }

  function counts(items) {
    var c = {pending: 0, sending: 0, sent: 0, failed: 0, conflict: 0};
    items.forEach(function (i) { c[i.state] = (c[i.state] || 0) + 1; });
    c.pending += c.sending;
    return c;
  }

  function renderSyncChip() {
    FieldStore.all("queue").then(function (items) {
      var c = counts(items), chip = $("sync-chip");
      chip.textContent = "⇅ " + c.pending + (c.failed + c.conflict ? " ⚠ " + (c.failed + c.conflict) : "");
      chip.setAttribute("data-pending", String(c.pending));
      chip.setAttribute("aria-label", t("sync_summary", c));
    });
  }

  function act(item, what) {
    if (what === "discard") { return FieldStore.remove("queue", item.key).then(ctx.changed); }
    item.state = "pending";
    if (what === "force") { item.force = true; }
    return FieldStore.put("queue", item).then(syncNow).then(ctx.changed);
  }

  function queueItem(item) {
    var buttons = [];
    if (item.state === "conflict") {
      buttons.push(el("button", {type: "button", "class": "small", "data-act": "force", text: t("send_anyway"), onclick: function () { act(item, "force"); }}));
    }
    if (item.state === "failed") {
      buttons.push(el("button", {type: "button", "class": "small", "data-act": "retry", text: t("retry"), onclick: function () { act(item, "retry"); }}));
    }
    if (item.state === "conflict" || item.state === "failed") {
      buttons.push(el("button", {type: "button", "class": "small", "data-act": "discard", text: t("discard"), onclick: function () { act(item, "discard"); }}));
    }
    return el("li", {"class": "queued state-" + item.state, "data-key": item.key, "data-state": item.state}, [
      el("strong", {}, [el("bdi", {text: item.licenceName}), el("span", {"class": "chip", text: " " + t("state_" + item.state)})]),
      el("small", {text: item.feature.properties.visited_at.slice(0, 16) + " · " + t("result_" + item.feature.properties.result) +
        " · " + t("photos_n", {n: item.photoCount})}),
      item.reason ? el("p", {"class": "reason", text: item.reason}) : null,
      buttons.length ? el("div", {"class": "actions"}, buttons) : null]);
  }

  function renderQueue() {
    FieldStore.all("queue").then(function (items) {
      var list = $("queue");
      list.textContent = "";
      items.sort(function (a, b) { return b.created - a.created; }).forEach(function (item) { list.appendChild(queueItem(item)); });
      $("sync-summary").textContent = items.length ? t("sync_summary", counts(items)) : t("sync_empty");
    });
  }

  // --- start ---------------------------------------------------------------------------------
  function start() {
    document.addEventListener("click", function (event) {
      var target = event.target.closest("[data-view]");
      if (target) { show(target.getAttribute("data-view")); }
    });
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", signOut);
    $("lang").addEventListener("click", function () {
      state.lang = state.lang === "ar" ? "en" : "ar";
      localStorage.setItem(LANG_KEY, state.lang);
      applyLang();
    });
    $("refresh").addEventListener("click", refreshArea);
    $("inspect").addEventListener("click", openForm);
    $("photos").addEventListener("change", function () { addPhotos(); });
    $("inspection-form").addEventListener("submit", saveInspection);
    $("sync-now").addEventListener("click", function () { syncNow(); });
    window.addEventListener("online", function () { renderNet(); syncNow(); });
    window.addEventListener("offline", renderNet);
    if ("serviceWorker" in navigator) {
      navigator.serviceWorker.register("/field/sw.js", {scope: "/field/"}).catch(function () {});
    }
    if (navigator.storage && navigator.storage.persist) { navigator.storage.persist().catch(function () {}); }
    applyLang();
    show(token() ? "licences" : "signin");
    probe();
    setInterval(probe, 5000);
    window.FieldApp = {sync: syncNow, state: state, refreshArea: refreshArea};
  }

  start();
})();
