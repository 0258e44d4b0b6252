// The management dashboard (indicators/dashboard.py): fetches /indicators/... and draws the
// choropleth (Leaflet), the charts (Chart.js) and the tables. No external request.
(function () {
  "use strict";
  const config = JSON.parse(document.getElementById("dashboard-config").textContent);
  const t = config.text, rtl = config.lang === "ar";
  const form = document.getElementById("filters");
  const field = (name) => form.elements[name];
  const COLOURS = ["#f1eef6", "#bdc9e1", "#74a9cf", "#2b8cbe", "#045a8d"];
  const charts = {};
  let layer = null;
  const number = new Intl.NumberFormat(rtl ? "ar-SA" : "en-GB", {maximumFractionDigits: 1});
  const label = (value) => config.labels[value] || value;

  function option(select, value, text, chosen) {
    const item = document.createElement("option");
    item.value = value; item.textContent = text; item.selected = value === chosen;
    select.appendChild(item);
  }

  function fillFilters() {
    const f = config.filters;
    for (const [id, one] of Object.entries(config.indicators)) option(field("indicator"), id, one.title, f.indicator);
    option(field("municipality"), "", t.all, f.municipality);
    for (const [code, name] of Object.entries(config.municipalities)) option(field("municipality"), code, name, f.municipality);
    fillDistricts();
    field("period").value = f.period;
  }

  function fillDistricts() {
    const select = field("district"), chosen = select.value || config.filters.district;
    const municipality = field("municipality").value;
    select.replaceChildren();
    option(select, "", t.all, chosen);
    for (const [code, one] of Object.entries(config.districts)) {
      if (!municipality || one.municipality === municipality) option(select, code, one.name, chosen);
    }
  }

  function current() {
    const out = {};
    for (const name of ["municipality", "district", "period"]) if (field(name).value) out[name] = field(name).value;
    return out;
  }

  // The query of one indicator: only the filters it has (period only for a monthly one).
  function query(id, extra) {
    const dims = config.indicators[id].dimensions, params = new URLSearchParams();
    for (const [name, value] of Object.entries(current())) {
      if (dims.includes(name === "period" ? "month" : name)) params.set(name, value);
    }
    for (const [name, value] of Object.entries(extra || {})) params.set(name, value);
    const text = params.toString();
    return text ? "?" + text : "";
  }

  async function get(path) {
    const answer = await fetch(path, {headers: {"Accept-Language": config.lang}});
    if (!answer.ok) throw new Error(path + ": " + answer.status);
    return answer.json();
  }

  function sums(rows, key, value) {
    const out = {};
    for (const row of rows) out[row[key]] = (out[row[key]] || 0) + row[value || "value"];
    return out;
  }

  function bar(id, totals, unit) {
    const names = Object.keys(totals), canvas = document.getElementById(id);
    canvas.parentElement.dataset.empty = names.length ? "" : t.empty;
    const data = {labels: names.map(label), datasets: [{label: unit, data: names.map((n) => totals[n]), backgroundColor: "#2b8cbe"}]};
    const options = {animation: false, responsive: true, maintainAspectRatio: false, locale: rtl ? "ar-SA" : "en-GB",
      plugins: {legend: {display: false, rtl: rtl, textDirection: rtl ? "rtl" : "ltr"},
                tooltip: {rtl: rtl, textDirection: rtl ? "rtl" : "ltr"}},
      scales: {x: {reverse: rtl}, y: {beginAtZero: true, position: rtl ? "right" : "left"}}};
    if (charts[id]) { charts[id].data = data; charts[id].update(); return; }
    charts[id] = new Chart(canvas, {type: "bar", data: data, options: options});
  }

  function colour(value, top) {
    if (value === null || value === undefined) return "#ccc";
    return COLOURS[Math.min(COLOURS.length - 1, Math.floor((value / (top || 1)) * COLOURS.length))];
  }

  function drawMap(map, document_) {
    const values = document_.features.map((f) => f.properties.value).filter((v) => v !== null);
    const top = Math.max(0, ...values);
    if (layer) map.removeLayer(layer);
    layer = L.geoJSON(document_, {
      style: (f) => ({color: "#334e68", weight: 1, fillOpacity: 0.75, fillColor: colour(f.properties.value, top)}),
      onEachFeature: (f, shape) => {
        const name = config.districts[f.properties.district]?.name || f.properties.district;
        shape.bindTooltip(name + ": " + (f.properties.value === null ? t.empty : number.format(f.properties.value)));
        shape.on("click", () => drill(f.properties.district, shape.getBounds()));
      }}).addTo(map);
    if (layer.getBounds().isValid()) map.fitBounds(layer.getBounds());
    fillTable(document_);
  }

  function cell(row, text, numeric) {
    const td = document.createElement("td");
    td.textContent = text; if (numeric) td.className = "number";
    row.appendChild(td);
  }

  function fillTable(document_) {
    const body = document.querySelector("#district-table tbody");
    body.replaceChildren();
    for (const f of document_.features) {
      const p = f.properties, row = document.createElement("tr"), one = config.districts[p.district] || {};
      row.dataset.district = p.district;
      const link = document.createElement("a");
      link.href = "#drill"; link.textContent = one.name || p.district;
      link.addEventListener("click", (e) => { e.preventDefault(); drill(p.district, layerBounds(p.district)); });
      const td = document.createElement("td"); td.appendChild(link); row.appendChild(td);
      cell(row, config.municipalities[one.municipality] || "");
      cell(row, p.value === null ? t.empty : number.format(p.value), true);
      body.appendChild(row);
    }
  }

  function layerBounds(code) {
    let found = null;
    layer.eachLayer((shape) => { if (shape.feature.properties.district === code) found = shape.getBounds(); });
    return found;
  }

  async function drill(code, bounds) {
    const section = document.getElementById("drill"), body = document.querySelector("#drill-table tbody");
    const answer = await get("/indicators/licences_by_status?district=" + encodeURIComponent(code));
    body.replaceChildren();
    for (const row of answer.rows) {
      const tr = document.createElement("tr");
      cell(tr, row.activity); cell(tr, label(row.status)); cell(tr, number.format(row.value), true);
      body.appendChild(tr);
    }
    document.getElementById("drill-title").textContent = t.drill + ": " + (config.districts[code]?.name || code);
    const bbox = bounds ? [bounds.getWest(), bounds.getSouth(), bounds.getEast(), bounds.getNorth()].map((v) => v.toFixed(6)).join(",") : "";
    document.getElementById("drill-items").href = "/ogc/collections/licenses/items?f=html&bbox=" + bbox;
    for (const tr of document.querySelectorAll("#district-table tr")) tr.classList.toggle("chosen", tr.dataset.district === code);
    section.hidden = false;
  }

  async function reload(map) {
    const id = field("indicator").value, status = document.getElementById("status");
    status.textContent = t.loading;
    const chosen = config.indicators[id];
    document.getElementById("map-title").textContent = t.map + ": " + chosen.title + " (" + chosen.unit + ")";
    document.getElementById("csv").href = "/indicators/" + id + ".csv" + query(id);
    try {
      const [geo, licences, coverage, inspections, refusals] = await Promise.all([
        get("/indicators/" + id + ".geojson" + query(id)),
        get("/indicators/licences_by_status" + query("licences_by_status")),
        get("/indicators/facility_coverage" + query("facility_coverage", {parcels_of: "all"})),
        get("/indicators/inspections_by_result" + query("inspections_by_result")),
        get("/indicators/permit_check_outcomes" + query("permit_check_outcomes", {outcome: "fail"}))]);
      drawMap(map, geo);
      const byStatus = sums(licences.rows, "status");
      document.getElementById("total-licences").textContent = number.format(Object.values(byStatus).reduce((a, b) => a + b, 0));
      document.getElementById("computed-at").textContent = new Date(licences.computed_at).toLocaleString(rtl ? "ar-SA" : "en-GB");
      bar("chart-status", byStatus, licences.unit);
      const covered = sums(coverage.rows, "facility", "covered"), parcels = sums(coverage.rows, "facility", "parcels");
      const shares = {};
      for (const k of Object.keys(parcels)) shares[k] = parcels[k] ? Math.round(1000 * covered[k] / parcels[k]) / 10 : 0;
      bar("chart-coverage", shares, coverage.unit);
      bar("chart-inspections", sums(inspections.rows, "result"), inspections.unit);
      bar("chart-refusals", sums(refusals.rows, "rule"), refusals.unit);
      status.textContent = "";
      const times = Number(document.body.dataset.loaded || 0) + 1;
      if (times === 1) performance.mark("amanat-dashboard-drawn");   // scripts/bench_dashboard.py
      document.body.dataset.loaded = String(times);
    } catch (error) {
      status.textContent = t.load_failed;
      console.warn(error);
    }
  }

  function syncUrl() {
    const params = new URLSearchParams({lang: config.lang, indicator: field("indicator").value, ...current()});
    history.replaceState(null, "", "/dashboard?" + params.toString());
    document.getElementById("other-lang").href = "/dashboard?" + new URLSearchParams({...Object.fromEntries(params), lang: rtl ? "en" : "ar"});
  }

  fillFilters();
  const map = L.map("map", {attributionControl: false, zoomSnap: 0.25});
  form.addEventListener("change", (event) => {
    if (event.target.name === "municipality") fillDistricts();
    syncUrl(); reload(map);
  });
  form.addEventListener("submit", (event) => { event.preventDefault(); syncUrl(); reload(map); });
  document.getElementById("print").addEventListener("click", () => window.print());
  window.addEventListener("beforeprint", () => { for (const c of Object.values(charts)) c.resize(); });
  syncUrl();
  reload(map);
}());
