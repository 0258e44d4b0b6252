/* Amanat field app: the assignment page. An office (its own licences) or an admin assigns a
   licence to an inspector and withdraws open assignments, through /field/api/assignments, with
   the token the field app keeps (or a sign-in here). */
(function () {
  "use strict";
  var CFG = JSON.parse(document.getElementById("field-config").textContent);
  var lang = document.documentElement.lang, T = CFG.texts[lang];
  var $ = function (id) { return document.getElementById(id); };
  var KEY = "amanat.field.session";

  function session() { try { return JSON.parse(localStorage.getItem(KEY) || "null"); } catch (e) { return null; } }

  function call(method, path, body) {
    var headers = {"Authorization": "Bearer " + (session() || {}).token, "Accept-Language": lang};
    if (body) { headers["Content-Type"] = "application/json"; }
    return fetch(path, {method: method, headers: headers, body: body ? JSON.stringify(body) : undefined, cache: "no-store"})
      .then(function (r) {
        if (r.status === 401) { localStorage.removeItem(KEY); start(); throw new Error(T.session_expired); }
        if (r.status === 204) { return null; }
        return r.json().then(function (answer) {
          if (!r.ok) { throw new Error((answer.descriptions && answer.descriptions[lang]) || answer.description); }
          return answer;
        });
      });
  }

  function status(text) { $("assign-status").textContent = text; }

  function list() {
    return call("GET", "/field/api/assignments").then(function (answer) {
      var ul = $("assignments");
      ul.textContent = "";
      if (!answer.assignments.length) { var none = document.createElement("li"); none.textContent = T.none; ul.appendChild(none); }
      answer.assignments.forEach(function (a) {
        var li = document.createElement("li"), text = document.createElement("bdi"), button = document.createElement("button");
        li.setAttribute("data-assignment", String(a.id));
        text.textContent = a.license_no + " · " + (lang === "ar" ? a.trade_name_ar : a.trade_name_en) + " → " + a.inspector +
          (a.due_date ? " · " + a.due_date : "");
        button.type = "button"; button.textContent = T.withdraw; button.className = "small";
        button.addEventListener("click", function () {
          call("DELETE", "/field/api/assignments/" + a.id).then(list).catch(function (e) { status(T.error.replace("{reason}", e.message)); });
        });
        li.appendChild(text); li.appendChild(document.createTextNode(" ")); li.appendChild(button);
        ul.appendChild(li);
      });
    }).catch(function (e) { status(T.error.replace("{reason}", e.message)); });
  }

  function start() {
    var on = Boolean(session());
    $("signin-form").hidden = on;
    $("assign-form").hidden = !on;
    if (on) { list(); }
  }

  $("signin-form").addEventListener("submit", function (event) {
    event.preventDefault();
    fetch("/auth/token", {method: "POST", headers: {"Content-Type": "application/json", "Accept-Language": lang},
      body: JSON.stringify({username: $("signin-user").value, password: $("signin-password").value})})
      .then(function (r) { return r.json().then(function (a) {
        if (!r.ok) { throw new Error((a.descriptions && a.descriptions[lang]) || a.description); }
        localStorage.setItem(KEY, JSON.stringify({token: a.access_token, user: a.user, role: a.role,
                                                  expires: Date.now() + a.expires_in * 1000}));
        start();
      }); }).catch(function (e) { status(T.signin_failed.replace("{reason}", e.message)); });
  });

  $("assign-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var body = {license_id: Number($("a-licence").value), inspector: $("a-inspector").value.trim()};
    if ($("a-due").value) { body.due_date = $("a-due").value; }
    if ($("a-note").value) { body.note = $("a-note").value; }
    call("POST", "/field/api/assignments", body).then(function () { status(T.assigned_ok); return list(); })
      .catch(function (e) { status(T.error.replace("{reason}", e.message)); });
  });

  start();
})();
