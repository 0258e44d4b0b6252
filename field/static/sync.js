/* Amanat field app: sending the queue. Each queued inspection is sent once per run, oldest
   first, with its own Idempotency-Key (made when its form was opened), so a retry after a lost
   answer, a second device tab or a double tap gives the same single inspection. Before sending,
   the licence is asked for with If-None-Match (its ETag when the area was saved): 304 goes on,
   a new ETag is a conflict the inspector resolves (send anyway or discard), 404 is a failure
   (the licence was deleted). A 401 stops the run and keeps everything: the app asks for a
   sign-in. Network errors and 5xx keep the item pending for the next run. */
var FieldSync = (function () {
  "use strict";
  var running = null;
  var AUTH = {auth: true};

  function reasonOf(response, lang) {
    return response.json().then(function (body) {
      var first = Array.isArray(body) ? body[0] : body;
      return (first.descriptions && first.descriptions[lang]) || first.description ||
        ("HTTP " + response.status);
    }).catch(function () { return "HTTP " + response.status; });
  }

  function save(item, state, reason) {
    item.state = state;
    item.reason = reason || "";
    item.updated = Date.now();
    // a full device must not stop the sending: the state is kept in memory for this run, and an
    // item whose "sent" could not be written is sent again later (replayed by its key)
    return FieldStore.put("queue", item).catch(function (err) {
      if (!FieldStore.isQuotaError(err)) { throw err; }
    });
  }

  function checkLicence(item, ctx) {
    if (item.force) { return Promise.resolve(true); }
    return fetch("/ogc/collections/licenses/items/" + item.licenceId + "?f=json", {
      headers: {"Authorization": "Bearer " + ctx.token(), "If-None-Match": item.licenceEtag,
                "Accept-Language": ctx.lang()},
      cache: "no-store"
    }).then(function (response) {
      if (response.status === 304) { return true; }
      if (response.status === 401) { throw AUTH; }
      if (response.status === 404) {
        return save(item, "failed", ctx.t("licence_gone")).then(function () { return false; });
      }
      if (!response.ok) { throw new Error("HTTP " + response.status); }
      if (response.headers.get("ETag") === item.licenceEtag) { return true; }
      return response.json().then(function (feature) {
        item.licenceNow = feature.properties || {};
        return save(item, "conflict", ctx.t("conflict_changed", {status: item.licenceNow.status}));
      }).then(function () { return false; });
    });
  }

  function post(item, ctx) {
    var form = new FormData();
    form.append("feature", new Blob([JSON.stringify(item.feature)], {type: "application/geo+json"}), "feature.json");
    item.photos.forEach(function (photo, index) {
      form.append("photo", photo, "photo-" + (index + 1) + ".jpg");
    });
    return fetch("/ogc/collections/inspections/items", {
      method: "POST", body: form, cache: "no-store",
      headers: {"Authorization": "Bearer " + ctx.token(), "Idempotency-Key": item.key,
                "Accept-Language": ctx.lang(), "Accept": "application/geo+json"}
    }).then(function (response) {
      ctx.reachable(true);
      if (response.status === 201) {
        return response.json().then(function (feature) {
          item.sentId = feature.id;
          item.photos = [];            // on the server now: free the device's storage
          item.photoCount = feature.links ? feature.links.filter(function (l) { return l.rel === "enclosure"; }).length : 0;
          return save(item, "sent");
        });
      }
      if (response.status === 401) { throw AUTH; }
      if (response.status >= 500 || response.status === 429) {
        return reasonOf(response, ctx.lang()).then(function (reason) { return save(item, "pending", reason); });
      }
      return reasonOf(response, ctx.lang()).then(function (reason) { return save(item, "failed", reason); });
    });
  }

  function sendOne(item, ctx) {
    return save(item, "sending").then(function () { return checkLicence(item, ctx); })
      .then(function (go) { return go ? post(item, ctx) : null; })
      .catch(function (err) {
        if (err === AUTH) { return save(item, "pending").then(function () { throw AUTH; }); }
        if (err instanceof TypeError) { ctx.reachable(false); }           // no network
        return save(item, "pending", String(err && err.message || err));   // offline: next run
      })
      .then(function () { ctx.changed(); });
  }

  /** Send every pending item (one run at a time); resolves with "auth" when sign-in is needed. */
  function run(ctx) {
    if (running) { return running; }
    if (!ctx.token()) { return Promise.resolve("auth"); }
    running = FieldStore.all("queue").then(function (items) {
      var waiting = items.filter(function (i) { return i.state === "pending" || i.state === "sending" ||
        (i.state === "conflict" && i.force); }).sort(function (a, b) { return a.created - b.created; });
      return waiting.reduce(function (chain, item) {
        return chain.then(function () { return sendOne(item, ctx); });
      }, Promise.resolve()).then(function () { return "done"; });
    }).catch(function (err) {
      if (err === AUTH) { ctx.authLost(); return "auth"; }
      throw err;
    }).finally(function () { running = null; ctx.changed(); });
    return running;
  }

  return {run: run};
})();
