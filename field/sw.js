/* Amanat field app: service worker (scope /field/). The app shell is kept in a cache named by
   its version (__VERSION__, replaced by the server) and answered from it first, so the app opens
   offline; vector tiles of the inspector's area are answered from the tiles cache the app fills
   (network when a tile is not kept, then kept). API calls are not touched here: the app keeps
   its data in IndexedDB and queues its writes itself. */
"use strict";

var VERSION = "__VERSION__";
var SHELL_CACHE = "field-shell-" + VERSION;
var TILES_CACHE = "field-tiles";
var SHELL = __SHELL__;

self.addEventListener("install", function (event) {
  event.waitUntil(caches.open(SHELL_CACHE).then(function (cache) {
    return cache.addAll(SHELL);
  }).then(function () { return self.skipWaiting(); }));
});

self.addEventListener("activate", function (event) {
  event.waitUntil(caches.keys().then(function (names) {
    return Promise.all(names.filter(function (name) {
      return name.indexOf("field-shell-") === 0 && name !== SHELL_CACHE;
    }).map(function (name) { return caches.delete(name); }));
  }).then(function () { return self.clients.claim(); }));
});

function fromShell(request) {
  var url = new URL(request.url);
  var key = request.mode === "navigate" && url.pathname === "/field/" ? "/field/" : request;
  return caches.open(SHELL_CACHE).then(function (cache) {
    return cache.match(key, {ignoreSearch: request.mode === "navigate"}).then(function (hit) {
      return hit || fetch(request);
    });
  });
}

function tile(request) {
  return caches.open(TILES_CACHE).then(function (cache) {
    return cache.match(request, {ignoreVary: true}).then(function (hit) {
      if (hit) { return hit; }
      return fetch(request).then(function (response) {
        if (response.ok) { cache.put(request, response.clone()).catch(function () {}); }
        return response;
      }, function () {     // offline and not kept: an empty tile (no layer), not an error
        return new Response(new ArrayBuffer(0), {status: 200, headers: {
          "Content-Type": "application/vnd.mapbox-vector-tile", "Cache-Control": "no-store"}});
      });
    });
  });
}

self.addEventListener("fetch", function (event) {
  var request = event.request;
  if (request.method !== "GET") { return; }
  var url = new URL(request.url);
  if (url.origin !== self.location.origin) { return; }
  if (url.pathname.indexOf("/ogc/tiles/") === 0) { event.respondWith(tile(request)); return; }
  if (url.pathname === "/field/" || url.pathname.indexOf("/field/static/") === 0 ||
      url.pathname.indexOf("/field/icons/") === 0 || url.pathname === "/field/manifest.webmanifest" ||
      url.pathname.indexOf("/static/") === 0) {
    event.respondWith(fromShell(request));
  }
});
