/* Amanat field app: what the device keeps. IndexedDB "amanat-field": `licences` (the
   inspector's area, by id), `queue` (inspections waiting to be sent, by their Idempotency-Key,
   photos as Blobs), `meta` (when the area was saved, its bounds). The session (token, user,
   expiry) in localStorage, so the app still knows who signed in after a reload offline. */
var FieldStore = (function () {
  "use strict";
  var NAME = "amanat-field", VERSION = 1, opened = null;
  var SESSION = "amanat.field.session";

  function open() {
    if (!opened) {
      opened = new Promise(function (resolve, reject) {
        var request = indexedDB.open(NAME, VERSION);
        request.onupgradeneeded = function () {
          var db = request.result;
          db.createObjectStore("licences", {keyPath: "id"});
          db.createObjectStore("queue", {keyPath: "key"});
          db.createObjectStore("meta");
        };
        request.onsuccess = function () { resolve(request.result); };
        request.onerror = function () { reject(request.error); };
      });
    }
    return opened;
  }

  /** Run `work(store)` in one transaction; resolves with the last request's result. */
  function transact(name, mode, work) {
    return open().then(function (db) {
      return new Promise(function (resolve, reject) {
        var tx = db.transaction(name, mode), last = work(tx.objectStore(name));
        tx.oncomplete = function () { resolve(last ? last.result : undefined); };
        tx.onerror = function () { reject(tx.error); };
        tx.onabort = function () { reject(tx.error || new DOMException("aborted", "AbortError")); };
      });
    });
  }

  return {
    all: function (name) { return transact(name, "readonly", function (s) { return s.getAll(); }); },
    get: function (name, key) { return transact(name, "readonly", function (s) { return s.get(key); }); },
    put: function (name, value, key) {
      return transact(name, "readwrite", function (s) { return key === undefined ? s.put(value) : s.put(value, key); });
    },
    remove: function (name, key) { return transact(name, "readwrite", function (s) { return s.delete(key); }); },
    /** Replace the kept licences with a new list (one transaction: all or nothing). */
    replaceLicences: function (list) {
      return transact("licences", "readwrite", function (s) {
        s.clear();
        var last = null;
        list.forEach(function (licence) { last = s.put(licence); });
        return last;
      });
    },
    session: function () {
      try { return JSON.parse(localStorage.getItem(SESSION) || "null"); } catch (e) { return null; }
    },
    saveSession: function (value) {
      if (value) { localStorage.setItem(SESSION, JSON.stringify(value)); } else { localStorage.removeItem(SESSION); }
    },
    isQuotaError: function (err) {
      return Boolean(err) && (err.name === "QuotaExceededError" ||
        (err.inner && err.inner.name === "QuotaExceededError"));
    }
  };
})();
