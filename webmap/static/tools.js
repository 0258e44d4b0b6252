/* Amanat web map tools: "Check this parcel" (parcel-check), "Street view" (panorama.js) and the
   analysis panel (batch-compliance jobs). Uses the helpers map.js puts on window.Amanat. */
(function () {
  "use strict";

  var A = window.Amanat;
  var el = function () { return A.el.apply(null, arguments); };
  var t = function (key, vars) { return A.t(key, vars); };
  var STATUS_ORDER = {fail: 0, warn: 1, pass: 2, "not-applicable": 3};
  var PANORAMA_RADIUS_M = 60;
  var MAX_FINDINGS_BYTES = 15 * 1024 * 1024;

  A.initTools = function () {
    document.getElementById("analysis-open").addEventListener("click", openAnalysis);
  };

  function field(name, input) {
    return el("div.field", {}, el("label", {for: input.id, text: t("c_" + name)}), input);
  }

  function numberInput(name, min, max, step, value) {
    return el("input", {id: "check-" + name, name: name, type: "number", inputmode: "decimal", min: min,
                        max: max, step: step, value: value});
  }

  function message(kind, text) {
    return el("p.message." + kind, {role: kind === "error" ? "alert" : "status", text: text});
  }

  // --- parcel check ---------------------------------------------------------------------------

  A.openCheck = function (feature) {
    var p = feature.properties, lang = A.cfg().lang;
    var use = el("select", {id: "check-use", name: "use"}, A.cfg().landUses.map(function (value) {
      return el("option", {value: value, selected: value === p.land_use, text: A.label("land_use", value)});
    }));
    var activity = el("select", {id: "check-activity", name: "activity"},
      el("option", {value: "", text: t("c_none")}),
      A.cfg().activities.map(function (a) { return el("option", {value: a.code, text: a.code + " — " + a[lang]}); }));
    var footprint = Math.round(Number(p.area_m2) * 0.6);
    var result = el("div.check-result", {"aria-live": "polite"});
    var submit = el("button.action.primary", {type: "submit", text: t("c_submit")});
    var form = el("form.check-form", {on: {submit: function (e) {
      e.preventDefault();
      runCheck(p.parcel_no, form, submit, result);
    }}}, el("p.intro", {text: t("check_intro")}), field("use", use), field("activity", activity),
      el("div.field-row", {}, field("floors", numberInput("floors", 1, 200, 1, 2)),
         field("height_m", numberInput("height_m", 1, 1000, 0.5, 8))),
      field("footprint_area_m2", numberInput("footprint_area_m2", 1, 1000000, 1, footprint)), submit);
    A.openPanel(t("check_title") + " — " + p.parcel_no, [form, result], function () {
      A.state.evidence.clearLayers();
    });
  };

  function checkInputs(parcelNo, form) {
    var inputs = {parcel_no: parcelNo, use: form.elements.use.value};
    if (form.elements.activity.value) { inputs.activity = form.elements.activity.value; }
    ["floors", "height_m", "footprint_area_m2"].forEach(function (name) {
      var value = form.elements[name].value;
      if (value !== "") { inputs[name] = name === "floors" ? parseInt(value, 10) : Number(value); }
    });
    return inputs;
  }

  function runCheck(parcelNo, form, submit, result) {
    submit.disabled = true;
    result.textContent = "";
    result.appendChild(message("info", t("c_running")));
    A.state.evidence.clearLayers();
    A.fetchJSON("ogc/processes/parcel-check/execution", {
      method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json"},
      body: JSON.stringify({inputs: checkInputs(parcelNo, form)})
    }).then(function (doc) {
      result.textContent = "";
      result.appendChild(renderCheck(doc));
    }).catch(function (error) {
      result.textContent = "";
      result.appendChild(message("error", error.message));
    }).then(function () { submit.disabled = false; });
  }

  function renderCheck(doc) {
    var lang = A.cfg().lang, palette = A.cfg().palette.lines, layers = {};
    var group = A.state.evidence;
    if (doc.subject && doc.subject.parcel) {
      L.geoJSON(doc.subject.parcel, {interactive: false, style: {color: palette.selection, weight: 3, fill: false}})
        .addTo(group);
    }
    var rules = (doc.rules || []).slice().sort(function (a, b) { return STATUS_ORDER[a.status] - STATUS_ORDER[b.status]; });
    rules.forEach(function (rule) {
      if (!rule.evidence) { return; }
      var c = palette[rule.status] || palette.warn;
      layers[rule.rule] = L.geoJSON(rule.evidence, {interactive: false,
        style: {color: c, weight: 2, fillColor: c, fillOpacity: 0.35, dashArray: "4 3"},
        pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 6, color: c}); }}).addTo(group);
    });
    if (group.getLayers().length) { A.state.map.fitBounds(group.getBounds(), {maxZoom: 19, padding: [20, 20]}); }
    var applicable = rules.filter(function (r) { return r.status !== "not-applicable"; });
    var others = rules.filter(function (r) { return r.status === "not-applicable"; });
    var certificate = (doc.links || []).filter(function (l) { return l.rel === "alternate" && l.hreflang === lang; })[0];
    return el("div.check-doc", {},
      el("p.verdict.verdict-" + doc.verdict, {}, el("span", {text: t("c_verdict") + ": "}),
         el("strong", {text: doc.verdict_label ? doc.verdict_label[lang] : doc.verdict})),
      el("ul.rules", {}, applicable.map(function (r) { return ruleItem(r, layers[r.rule]); })),
      others.length ? el("details.rules-na", {}, el("summary", {text: t("c_show_na", {n: others.length})}),
        el("ul.rules", {}, others.map(function (r) { return ruleItem(r, null); }))) : null,
      certificate ? el("p", {}, el("a.action", {href: certificate.href, target: "_blank", rel: "noopener",
                                                text: t("c_certificate") + " (" + doc.id + ")"})) : null);
  }

  function ruleItem(rule, layer) {
    var lang = A.cfg().lang;
    var item = el("li.rule.rule-" + rule.status, {tabindex: layer ? "0" : null},
      el("span.status", {text: t("status_" + rule.status)}),
      el("span.rule-title", {text: rule.title[lang]}),
      el("span.rule-message", {text: rule.message[lang]}),
      rule.reference ? el("span.rule-reference", {text: rule.reference}) : null);
    if (layer) {
      var on = function () { layer.setStyle({weight: 4, fillOpacity: 0.6}); layer.bringToFront(); };
      var off = function () { layer.setStyle({weight: 2, fillOpacity: 0.35}); };
      item.addEventListener("mouseenter", on); item.addEventListener("focus", on);
      item.addEventListener("mouseleave", off); item.addEventListener("blur", off);
    }
    return item;
  }

  // --- street view ----------------------------------------------------------------------------

  var viewerModule = null;
  function loadViewer() {
    if (!viewerModule) {
      A.cfg().psvCss.forEach(function (href) {
        document.head.appendChild(el("link", {rel: "stylesheet", href: href}));
      });
      // a classic script resolves import() against its own URL: make it the page's
      viewerModule = import(new URL(A.cfg().panoramaModule, document.baseURI).href);
    }
    return viewerModule;
  }

  A.openStreetView = function (latlng) {
    var holder = el("div.streetview", {}, message("info", t("loading")));
    var viewer = null;
    A.openPanel(t("sv_title"), holder, function () { if (viewer) { viewer.destroy(); } A.state.evidence.clearLayers(); });
    var url = "panoramas/nearest?lon=" + latlng.lng.toFixed(7) + "&lat=" + latlng.lat.toFixed(7) +
      "&radius=" + PANORAMA_RADIUS_M;
    A.fetchJSON(url).then(function (pano) {
      return loadViewer().then(function (module) {
        holder.textContent = "";
        viewer = new module.PanoramaViewer(holder, {A: A, onMove: function (p) { markCamera(p); }});
        return viewer.show(pano.id);
      });
    }).catch(function (error) {
      holder.textContent = "";
      holder.appendChild(message(error.status === 404 ? "info" : "error",
        error.status === 404 ? t("sv_none", {r: PANORAMA_RADIUS_M}) : error.message));
    });
  };

  function markCamera(pano) {
    var group = A.state.evidence;
    group.clearLayers();
    L.circleMarker([pano.lat, pano.lon], {radius: 8, color: "#ffffff", weight: 3, fillColor: "#e65100",
                                          fillOpacity: 1, interactive: false}).addTo(group);
    if (!A.state.map.getBounds().contains([pano.lat, pano.lon])) { A.state.map.panTo([pano.lat, pano.lon]); }
  }

  // --- analysis (batch-compliance) ------------------------------------------------------------

  function openAnalysis() {
    var lang = A.cfg().lang;
    var district = el("select", {id: "an-district", name: "district"});
    A.districts().then(function (all) {
      Object.keys(all).map(function (id) { return all[id]; })
        .sort(function (a, b) { return a["name_" + lang].localeCompare(b["name_" + lang], lang); })
        .forEach(function (d) { district.appendChild(el("option", {value: d.code, text: d["name_" + lang] + " (" + d.code + ")"})); });
    });
    var radio = function (value, checked) {
      return el("label.choice", {}, el("input", {type: "radio", name: "area", value: value, checked: checked}),
                t("an_area_" + value));
    };
    var all = el("input", {type: "checkbox", id: "an-all", checked: true});
    var rules = el("div.rule-choices", {}, A.cfg().rules.map(function (r) {
      return el("label.choice", {}, el("input", {type: "checkbox", name: "rule", value: r.id, checked: true}),
                r.title[lang]);
    }));
    all.addEventListener("change", function () {
      rules.querySelectorAll("input").forEach(function (box) { box.checked = all.checked; });
    });
    // signed in (signin.js), the session's token is sent; an API key or token can still be pasted
    var token = el("input", {id: "an-token", type: "password", autocomplete: "off"});
    var status = el("div.job", {"aria-live": "polite"});
    var submit = el("button.action.primary", {type: "submit", text: t("an_run")});
    var form = el("form.analysis-form", {on: {submit: function (e) { e.preventDefault(); runBatch(form, submit, status); }}},
      el("p.intro", {text: t("an_intro")}),
      el("fieldset", {}, el("legend", {text: t("an_area")}), radio("district", true),
         el("div.field", {}, el("label.visually-hidden", {for: "an-district", text: t("an_district")}), district),
         radio("view", false), radio("city", false)),
      el("fieldset", {}, el("legend", {text: t("an_rules")}),
         el("label.choice.all", {}, all, t("an_all_rules")), rules),
      el("fieldset", {}, el("legend", {text: t("an_access")}), A.signin.note(t("si_panel_hint")),
         el("div.field.signed-out-only", {}, el("label", {for: "an-token", text: t("si_api_key")}), token,
            el("small.hint", {text: t("an_token_hint")}))), submit);
    A.openPanel(t("an_title"), [form, status], stopPolling);
  }

  function batchInputs(form) {
    var area = form.querySelector("input[name=area]:checked").value, inputs = {};
    if (area === "district") { inputs.area = {district: form.elements.district.value}; }
    if (area === "view") {
      var b = A.state.map.getBounds();
      inputs.area = {bbox: [b.getWest(), b.getSouth(), b.getEast(), b.getNorth()].map(function (v) { return Number(v.toFixed(6)); })};
    }
    var chosen = Array.prototype.slice.call(form.querySelectorAll("input[name=rule]:checked"))
      .map(function (box) { return box.value; });
    if (chosen.length && chosen.length < A.cfg().rules.length) { inputs.rules = chosen; }
    return inputs;
  }

  var polling = null;
  function stopPolling() { if (polling) { clearTimeout(polling); polling = null; } }

  function runBatch(form, submit, status) {
    stopPolling();
    submit.disabled = true;
    A.state.findings.clearLayers();
    status.textContent = "";
    var headers = {"Content-Type": "application/json", "Accept": "application/json",
                   "Prefer": "respond-async"};
    var token = form.elements["an-token"].value.trim();
    if (token) { A.signin.adopt(token); form.elements["an-token"].value = ""; }
    A.fetchResponse("ogc/processes/batch-compliance/execution", {
      method: "POST", headers: headers, body: JSON.stringify({inputs: batchInputs(form)})
    }).then(function (r) {
      var location = r.response.headers.get("Location") || "";
      var id = (r.data && r.data.jobID) || location.split("/jobs/")[1];
      if (!id) { throw new Error(t("error")); }
      poll(id.split(/[?#]/)[0], status, submit);
    }).catch(function (error) {
      var signIn = error.status === 401 || error.status === 403;   // a 401 also opens the sign-in
      status.appendChild(message("error", signIn ? t("si_needs_analyst") + " (" + error.message + ")"
                                                 : error.message));
      submit.disabled = false;
    });
  }

  function poll(id, status, submit) {
    A.fetchJSON("ogc/jobs/" + encodeURIComponent(id)).then(function (job) {
      showJob(job, status);
      if (job.status === "accepted" || job.status === "running") {
        polling = setTimeout(function () { poll(id, status, submit); }, 1000);
        return;
      }
      submit.disabled = false;
      if (job.status === "successful") { loadFindings(id, status); }
    }).catch(function (error) {
      status.appendChild(message("error", error.message));
      submit.disabled = false;
    });
  }

  function showJob(job, status) {
    var said = (job.messages && job.messages[A.cfg().lang]) || job.message;   // page's language
    status.textContent = "";
    status.appendChild(el("p.job-status", {}, el("span", {text: t("an_status") + ": "}),
      el("strong", {text: t("an_job_" + job.status)}), said ? " — " + said : ""));
    status.appendChild(el("progress", {max: "100", value: String(job.progress || 0),
                                       "aria-label": t("an_status")}));
    status.scrollIntoView({block: "nearest"});
  }

  /** Findings: the summary from the head of the GeoJSON, the features drawn when not too many. */
  function loadFindings(id, status) {
    var base = "ogc/jobs/" + encodeURIComponent(id) + "/results?f=";
    var downloads = el("p.downloads", {}, el("span", {text: t("an_download") + ": "}),
      ["geojson", "gpkg", "csv"].map(function (f) {
        return el("a.action", {href: base + f, download: "findings-" + id + "." + f, text: f.toUpperCase()});
      }));
    readLimited(base + "geojson", MAX_FINDINGS_BYTES).then(function (got) {
      var summary = got.complete ? JSON.parse(got.text).summary : headSummary(got.text);
      status.appendChild(renderSummary(summary || {}));
      if (got.complete) { drawFindings(JSON.parse(got.text)); status.appendChild(message("info", t("an_on_map"))); }
      else { status.appendChild(message("info", t("an_too_many"))); }
      status.appendChild(downloads);
    }).catch(function (error) { status.appendChild(message("error", error.message)); status.appendChild(downloads); });
  }

  function readLimited(url, limit) {
    return fetch(url).then(function (response) {
      if (!response.ok) { throw new Error(t("error")); }
      var reader = response.body.getReader(), chunks = [], size = 0;
      var decoder = new TextDecoder();
      function next() {
        return reader.read().then(function (part) {
          if (part.done) { return {text: chunks.join("") + decoder.decode(), complete: true}; }
          size += part.value.length;
          chunks.push(decoder.decode(part.value, {stream: true}));
          if (size > limit) { reader.cancel(); return {text: chunks.join(""), complete: false}; }
          return next();
        });
      }
      return next();
    });
  }

  function headSummary(text) {
    var end = text.indexOf(', "features": [');
    try { return end > 0 ? JSON.parse(text.slice(0, end) + "}").summary : null; } catch (e) { return null; }
  }

  function renderSummary(summary) {
    var lang = A.cfg().lang, rules = summary.rules || {}, checked = summary.checked || {};
    var rows = (summary.findings || []).map(function (f) {
      var title = rules[f.rule] && rules[f.rule].title ? rules[f.rule].title[lang] : f.rule;
      return el("tr", {}, el("td", {text: title}), el("td", {text: t("status_" + f.status)}),
                el("td.num", {text: A.number(f.count, 0)}));
    });
    return el("div.summary", {},
      el("p", {text: t("an_checked", {p: A.number(checked.parcels || 0, 0), l: A.number(checked.licences || 0, 0)})}),
      rows.length ? el("table.findings", {}, el("caption", {text: t("an_findings")}), el("tbody", {}, rows))
                  : message("info", t("an_none")));
  }

  function drawFindings(collection) {
    var red = A.cfg().palette.lines.finding, state = A.state;
    state.failing.parcels.clear(); state.failing.licenses.clear();
    (collection.features || []).forEach(function (f) {
      if (f.properties.status !== "fail") { return; }
      var set = f.properties.subject_type === "parcel" ? state.failing.parcels : state.failing.licenses;
      set.add(f.properties.subject_id);
    });
    var layer = L.geoJSON(collection, {interactive: false,
      filter: function (f) { return f.properties.status === "fail" && f.geometry; },
      style: {color: red, weight: 2.5, fill: true, fillOpacity: 0.15, fillColor: red},
      pointToLayer: function (f, ll) { return L.circleMarker(ll, {radius: 6, color: red, weight: 2.5}); }});
    state.findings.clearLayers();
    layer.addTo(state.findings);
    if (state.layers.parcels) { state.layers.parcels.redraw(); }
    if (state.layers.licenses) { state.layers.licenses.redraw(); }
    if (layer.getLayers().length) { state.map.fitBounds(layer.getBounds(), {maxZoom: 17, padding: [20, 20]}); }
  }
})();
