/* Amanat web map: signing in with a user name and password (POST auth/token) and the session
   that follows: a bearer token kept in this tab's sessionStorage ("amanat.token") with the
   user it belongs to. Amanat.fetchJSON / fetchResponse (map.js) are wrapped so that every call
   of the map sends the token, and a 401 from any of them ends the session and opens the
   sign-in dialog. The header's controls (#signin-open, #signout, #session-user) are rendered
   by webmap/page.py; the dialog is built here on first use (a native <dialog>: modal, Escape
   closes it, the focus goes back where it was). Elements with the class "signed-out-only" are
   hidden while signed in (map.css). */
(function () {
  "use strict";

  var A = window.Amanat;
  var TOKEN_KEY = "amanat.token";
  var USER_KEY = "amanat.user";
  var el = function () { return A.el.apply(null, arguments); };
  var t = function (key, vars) { return A.t(key, vars); };
  var dialog = null, fields = {}, returnFocus = null, fromPanel = false;

  // --- the session ----------------------------------------------------------------------------

  function token() { return sessionStorage.getItem(TOKEN_KEY); }

  function who() {
    try { return JSON.parse(sessionStorage.getItem(USER_KEY) || "null"); } catch (e) { return null; }
  }

  function begin(accessToken, user) {
    sessionStorage.setItem(TOKEN_KEY, accessToken);
    if (user) { sessionStorage.setItem(USER_KEY, JSON.stringify(user)); } else { sessionStorage.removeItem(USER_KEY); }
    render();
  }

  function end() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
    render();
  }

  /** The role in the page's language ("analyst", "محلل"). */
  function roleLabel(role) {
    var key = "si_role_" + role;
    return role && A.cfg().text[key] !== undefined ? t(key) : (role || "—");
  }

  /** "name (role)", the name isolated so that a Latin name stays whole in Arabic text. */
  function describe(user) {
    if (!user) { return el("span", {text: "…"}); }
    return el("span", {}, el("bdi", {text: user.user}), " (" + roleLabel(user.role) + ")");
  }

  function announce(text) {
    var status = document.getElementById("session-status");
    if (status) { status.textContent = text; }
  }

  /** Header, panel notes and the signed-in flag on <html> from what sessionStorage holds. */
  function render() {
    var on = Boolean(token()), user = who();
    document.documentElement.setAttribute("data-session", on ? "on" : "off");
    var name = document.getElementById("session-user");
    if (name) {
      name.textContent = "";
      if (on) { name.appendChild(describe(user)); }
      name.hidden = !on;
    }
    var open = document.getElementById("signin-open"), out = document.getElementById("signout");
    if (open) { open.hidden = on; }
    if (out) { out.hidden = !on; }
    Array.prototype.forEach.call(document.querySelectorAll(".session-note"), fillNote);
  }

  /** Ask the server who the token belongs to (its role may have changed since sign-in). */
  function refresh() {
    var sent = token();
    return A.fetchJSON("auth/me", {headers: {"Accept": "application/json"}}).then(function (me) {
      if (token() === sent) { sessionStorage.setItem(USER_KEY, JSON.stringify(me)); render(); }
      return me;
    }).catch(function () { return null; });
  }

  // --- every call of the map carries the token; a 401 ends the session -------------------------

  var plainFetch = A.fetchResponse;

  function sameOrigin(url) {
    try { return new URL(url, document.baseURI).origin === window.location.origin; } catch (e) { return false; }
  }

  function withToken(url, options) {
    var current = token();
    if (!current || !sameOrigin(url)) { return options; }
    var headers = new Headers((options && options.headers) || {});
    if (!headers.has("Authorization")) { headers.set("Authorization", "Bearer " + current); }
    return Object.assign({}, options, {headers: headers});
  }

  A.fetchResponse = function (url, options) {
    return plainFetch(url, withToken(url, options)).catch(function (error) {
      if (error.status === 401) { expired(); }
      throw error;
    });
  };
  A.fetchJSON = function (url, options) {
    return A.fetchResponse(url, options).then(function (r) { return r.data; });
  };

  function expired() {
    var had = Boolean(token());
    end();
    open(t(had ? "si_expired" : "si_needed"));
  }

  // --- the dialog -----------------------------------------------------------------------------

  function build() {
    fields.user = el("input", {id: "signin-user", name: "username", type: "text", autocomplete: "username",
                               maxlength: "64", spellcheck: "false", autocapitalize: "none", dir: "ltr",
                               required: true});
    fields.password = el("input", {id: "signin-password", name: "password", type: "password",
                                   autocomplete: "current-password", maxlength: "1024", dir: "ltr", required: true});
    fields.note = el("p.signin-note", {id: "signin-note", hidden: true});
    fields.error = el("p.message.error", {id: "signin-error", role: "alert", hidden: true});
    fields.submit = el("button.action.primary", {type: "submit", text: t("si_submit")});
    var cancel = el("button.action", {type: "button", text: t("si_cancel"), on: {click: close}});
    var form = el("form.signin-form", {novalidate: true, on: {submit: submit}},
      el("div.field", {}, el("label", {for: "signin-user", text: t("si_user")}), fields.user),
      el("div.field", {}, el("label", {for: "signin-password", text: t("si_password")}), fields.password),
      fields.error, el("div.dialog-actions", {}, fields.submit, cancel));
    dialog = el("dialog.signin-dialog", {id: "signin-dialog", "aria-labelledby": "signin-title",
                                         "aria-describedby": "signin-intro"},
      el("h2", {id: "signin-title", text: t("si_title")}), fields.note,
      el("p.intro", {id: "signin-intro", text: t("si_intro")}), form);
    // Escape closes the dialog only (map.js closes the side panel on an Escape it hears)
    dialog.addEventListener("keydown", function (e) {
      if (e.key === "Escape") { e.preventDefault(); e.stopPropagation(); close(); }
    });
    dialog.addEventListener("cancel", function (e) { e.preventDefault(); close(); });
    document.body.appendChild(dialog);
  }

  function showError(text) {
    fields.error.textContent = text || "";
    fields.error.hidden = !text;
    fields.user.setAttribute("aria-invalid", text && !fields.user.value.trim() ? "true" : "false");
    fields.password.setAttribute("aria-invalid", text ? "true" : "false");
  }

  /** Open the dialog; `reason` (optional) says why it opened (a session that ended). */
  function open(reason) {
    if (!dialog) { build(); }
    fields.note.textContent = reason || "";
    fields.note.hidden = !reason;
    if (dialog.open) { return; }
    returnFocus = document.activeElement;
    var panel = document.getElementById("panel");
    fromPanel = Boolean(panel && returnFocus && panel.contains(returnFocus));
    showError("");
    dialog.showModal();
    (fields.user.value ? fields.password : fields.user).focus();
  }

  function close() {
    if (!dialog || !dialog.open) { return; }
    fields.password.value = "";
    dialog.close();
    restoreFocus();
  }

  /** Back to what had the focus; if it is gone or hidden now, to the panel's action or the header. */
  function restoreFocus() {
    var target = returnFocus;
    if (!target || !document.contains(target) || !target.getClientRects().length) {
      var panel = document.getElementById("panel");
      target = (fromPanel && panel && !panel.hidden && panel.querySelector("button[type=submit]")) ||
        document.getElementById(token() ? "signout" : "signin-open");
    }
    returnFocus = null;
    if (target && target.focus) { target.focus(); }
  }

  function refusal(response) {
    if (response.status === 401) { return t("si_wrong"); }
    if (response.status === 400) { return t("si_incomplete"); }
    if (response.status === 429) {
      var seconds = parseInt(response.headers.get("Retry-After"), 10) || 60;
      return t("si_throttled", {m: Math.max(1, Math.ceil(seconds / 60))});
    }
    return t("error");
  }

  function submit(e) {
    e.preventDefault();
    var name = fields.user.value.trim(), password = fields.password.value;
    if (!name || !password) {
      showError(t("si_incomplete"));
      (name ? fields.password : fields.user).focus();
      return;
    }
    fields.submit.disabled = true;
    fields.submit.textContent = t("si_busy");
    showError("");
    // plain fetch: a 401 here is a wrong password, not an ended session
    fetch("auth/token", {method: "POST", headers: {"Content-Type": "application/json", "Accept": "application/json"},
                         body: JSON.stringify({username: name, password: password})})
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (body) {
          if (!response.ok || !body || !body.access_token) {
            var refused = new Error(refusal(response));
            refused.localized = true;
            throw refused;
          }
          begin(body.access_token, {user: body.user, role: body.role, office: body.office});
          close();
          announce(t("si_signed_in_as") + " " + body.user + " (" + roleLabel(body.role) + ")");
        });
      })
      .catch(function (error) {
        showError(error && error.localized ? error.message : t("error"));
        fields.password.value = "";
        fields.password.focus();
      })
      .then(function () { fields.submit.disabled = false; fields.submit.textContent = t("si_submit"); });
  }

  function signOut() {
    end();
    announce(t("si_signed_out"));
    var button = document.getElementById("signin-open");
    if (button) { button.focus(); }
  }

  // --- what other scripts use -----------------------------------------------------------------

  /** A note for a panel: who is signed in, or `hint` and a "Sign in" button; kept up to date. */
  function fillNote(node) {
    node.textContent = "";
    if (token()) {
      node.appendChild(el("p", {}, t("si_signed_in_as") + " ", describe(who())));
      return;
    }
    node.appendChild(el("p", {text: node.getAttribute("data-hint") || ""}));
    node.appendChild(el("button.action", {type: "button", text: t("si_open"), on: {click: function () { open(); }}}));
  }

  A.signin = {
    token: token,
    user: who,
    open: open,
    /** Use a pasted API key or access token as the session (advanced), then ask who it is. */
    adopt: function (pasted) { begin(pasted, null); return refresh(); },
    note: function (hint) {
      var node = el("div.session-note", {"data-hint": hint});
      fillNote(node);
      return node;
    }
  };

  function start() {
    var openButton = document.getElementById("signin-open"), out = document.getElementById("signout");
    if (openButton) { openButton.addEventListener("click", function () { open(); }); }
    if (out) { out.addEventListener("click", signOut); }
    render();
    if (token()) { refresh(); }
  }

  if (document.readyState === "loading") { document.addEventListener("DOMContentLoaded", start); } else { start(); }
})();
