/* Amanat web map: "Report a problem / Suggest" (Open311 GeoReport v2, POST
   open311/v2/requests.json) at any point (right-click or long-press on the map, a button in a
   feature's popup, or the map's centre from the corner control) and the "was this useful?"
   rating of the page (GET/POST feedback, a signed form with a honeypot). Every text from the
   server or the citizen is inserted as text (Amanat.el / textContent), never as markup. The
   API's errors come in Arabic and English: the page's language is shown. */
(function () {
  "use strict";

  var A = window.Amanat;
  var el = function () { return A.el.apply(null, arguments); };
  var t = function (key, vars) { return A.t(key, vars); };
  var MAX_DESCRIPTION = 4000, MAX_COMMENT = 1000;
  var FORM_TYPE = {"Content-Type": "application/x-www-form-urlencoded"};
  var spot = null;

  function lang() { return A.cfg().lang; }

  /** fetch JSON; rejects with an Error whose message is the server's, in the page's language. */
  function call(url, options) {
    return fetch(url, options).then(function (response) {
      return response.text().then(function (body) {
        var data = null;
        try { data = body ? JSON.parse(body) : null; } catch (e) { data = null; }
        if (response.ok) { return data; }
        var first = Array.isArray(data) ? data[0] : data;       // Open311: a list of errors
        var texts = first && first.descriptions;
        throw new Error((texts && texts[lang()]) || (first && first.description) || t("error"));
      });
    });
  }

  function post(url, fields) {
    return call(url + (url.indexOf("?") < 0 ? "?" : "&") + "lang=" + lang(),
                {method: "POST", headers: FORM_TYPE, body: new URLSearchParams(fields).toString()});
  }

  // --- the report panel -----------------------------------------------------------------------

  /** Open the report panel for a point: its categories first (refused outside every district). */
  function openReport(latlng) {
    var map = A.state.map;
    if (spot) { map.removeLayer(spot); }
    spot = L.circleMarker(latlng, {radius: 9, color: "#b3261e", weight: 3, fill: false,
                                   interactive: false}).addTo(map);
    var place = el("p.report-place", {dir: "ltr", text: latlng.lat.toFixed(6) + ", " + latlng.lng.toFixed(6)});
    var slot = el("div.report-slot");
    var status = el("p.report-status", {role: "status", "aria-live": "polite", text: t("loading")});
    A.openPanel(t("rp_title"), el("div.report", {}, place, slot, status), function () {
      if (spot) { map.removeLayer(spot); spot = null; }
    });
    var url = "open311/v2/services.json?lat=" + latlng.lat.toFixed(7) + "&long=" +
      latlng.lng.toFixed(7) + "&lang=" + lang();
    call(url).then(function (services) {
      status.textContent = "";
      slot.appendChild(reportForm(latlng, services || [], status));
    }).catch(function (error) { refuse(status, error); });
  }
  A.openReport = openReport;

  function refuse(status, error) {
    status.textContent = error.message;
    status.className = "report-status report-error";
    status.style.color = "#b3261e";
    status.setAttribute("role", "alert");
  }

  function field(id, label, input, hint) {
    return el("div.field", {}, el("label", {for: id, text: label}), input,
              hint ? el("small.field-hint", {id: id + "-hint", text: hint}) : null);
  }

  function reportForm(latlng, services, status) {
    var category = el("select", {id: "rp-category", name: "service_code", required: true},
      el("option", {value: "", text: t("rp_choose")}),
      services.map(function (s) { return el("option", {value: s.service_code, text: s.service_name}); }));
    var attributes = el("div.report-attributes");
    category.addEventListener("change", function () { showAttributes(category.value, services, attributes); });
    var description = el("textarea", {id: "rp-description", name: "description", rows: 5, required: true, dir: "auto",
      maxlength: MAX_DESCRIPTION, "aria-describedby": "rp-description-hint",
      style: "font: inherit; width: 100%; box-sizing: border-box; resize: vertical"});
    var counter = el("small.field-hint", {id: "rp-description-hint", "aria-live": "polite"});
    var count = function () { counter.textContent = t("rp_count", {n: description.value.length, max: MAX_DESCRIPTION}); };
    description.addEventListener("input", count);
    count();
    var button = el("button.action.primary", {type: "submit", text: t("rp_send")});
    var form = el("form.report-form", {novalidate: true},
      field("rp-category", t("rp_category"), category), attributes,
      el("div.field", {}, el("label", {for: "rp-description", text: t("rp_description")}), description, counter),
      contactFields(), el("div.popup-actions", {}, button));
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      send(form, latlng, button, status);
    });
    return form;
  }

  function contactFields() {
    var input = function (name, type, auto) {
      return field("rp-" + name, t("rp_" + name), el("input", {id: "rp-" + name, name: name, type: type,
        autocomplete: auto, maxlength: name === "email" ? 254 : 100,
        dir: type === "text" ? "auto" : "ltr"}));
    };
    return el("fieldset.report-contact", {style: "border: 1px solid #c9d0d5; border-radius: 5px; margin: 0 0 10px"},
      el("legend", {text: t("rp_contact")}),
      el("p.field-hint", {text: t("rp_private")}),
      input("first_name", "text", "given-name"), input("last_name", "text", "family-name"),
      input("email", "email", "email"), input("phone", "tel", "tel"));
  }

  /** The fields of a category's attributes (GET services/{code}.json when it has any). */
  function showAttributes(code, services, holder) {
    holder.textContent = "";
    var service = services.filter(function (s) { return s.service_code === code; })[0];
    if (!service || !service.metadata) { return; }
    call("open311/v2/services/" + encodeURIComponent(code) + ".json?lang=" + lang()).then(function (definition) {
      if (holder.dataset.code !== undefined && holder.dataset.code !== code) { return; }
      (definition.attributes || []).filter(function (a) { return a.variable; })
        .sort(function (a, b) { return a.order - b.order; })
        .forEach(function (a) { holder.appendChild(attributeField(a)); });
    }).catch(function (error) { holder.appendChild(el("p.report-error", {role: "alert", text: error.message})); });
    holder.dataset.code = code;
  }

  function attributeField(a) {
    var id = "rp-attr-" + a.code, name = "attribute[" + a.code + "]";
    var label = a.description + (a.required ? " *" : "");
    if (a.datatype === "multivaluelist") {
      return el("fieldset.field", {style: "border: 0; padding: 0; margin: 0 0 10px"}, el("legend", {text: label}),
        a.values.map(function (v) {
          return el("label.choice", {}, el("input", {type: "checkbox", name: name, value: v.key}), " ", v.name);
        }));
    }
    var input;
    if (a.datatype === "singlevaluelist") {
      input = el("select", {id: id, name: name, required: a.required},
        el("option", {value: "", text: t("rp_choose")}),
        a.values.map(function (v) { return el("option", {value: v.key, text: v.name}); }));
    } else if (a.datatype === "text") {
      input = el("textarea", {id: id, name: name, rows: 3, maxlength: 500, required: a.required,
                              style: "font: inherit; width: 100%; box-sizing: border-box"});
    } else {
      var type = {number: "number", datetime: "datetime-local"}[a.datatype] || "text";
      input = el("input", {id: id, name: name, type: type, required: a.required, maxlength: 500});
    }
    return field(id, label, input);
  }

  /** POST the report; the tracking number and a link to its status page, or the API's refusal. */
  function send(form, latlng, button, status) {
    var fields = [["lat", latlng.lat.toFixed(7)], ["long", latlng.lng.toFixed(7)]];
    new FormData(form).forEach(function (value, name) {
      if (typeof value === "string" && (value.trim() || name === "service_code" || name === "description")) {
        fields.push([name, value]);
      }
    });
    button.disabled = true;
    status.className = "report-status";
    status.style.color = "";
    status.setAttribute("role", "status");
    status.textContent = t("rp_sending");
    post("open311/v2/requests.json", fields).then(function (answer) {
      var number = answer && answer[0] && answer[0].service_request_id;
      var link = el("a.action.primary", {id: "rp-track", href: "track?" + new URLSearchParams({lang: lang(), number: number}),
                                         text: t("rp_follow")});
      var done = el("div.report-done", {role: "status"},
        el("p", {text: t("rp_received")}),
        el("p", {}, t("rp_number") + " ", el("strong", {id: "rp-number", dir: "ltr", text: number})),
        answer[0].service_notice ? el("p.field-hint", {text: answer[0].service_notice}) : null, link);
      form.replaceWith(done);
      status.textContent = "";
      link.focus();
    }).catch(function (error) {
      button.disabled = false;
      refuse(status, error);
    });
  }

  // --- "was this useful?" and the corner control ----------------------------------------------

  function feedbackBox() {
    var signed = null, shownAt = 0;
    var status = el("p.report-status", {role: "status", "aria-live": "polite"});
    var choice = function (value, text) {
      return el("label.choice", {}, el("input", {type: "radio", name: "useful", value: value, required: true}), " ", text);
    };
    var trap = el("div", {"aria-hidden": "true", style: "position: absolute; left: -10000px; width: 1px; height: 1px; overflow: hidden"});
    var comment = el("textarea", {id: "fb-comment", name: "comment", rows: 2, maxlength: MAX_COMMENT, dir: "auto",
                                  style: "font: inherit; width: 100%; box-sizing: border-box"});
    var button = el("button.action.primary", {type: "submit", text: t("fb_send")});
    var form = el("form.feedback-form", {},
      el("fieldset", {style: "border: 0; padding: 0; margin: 0 0 6px"}, el("legend.visually-hidden", {text: t("fb_question")}),
        choice("yes", t("fb_yes")), " ", choice("no", t("fb_no"))),
      field("fb-comment", t("fb_comment"), comment), trap, button);
    var box = el("details.feedback", {id: "feedback", style: "padding: 0 10px 6px; max-width: 260px"},
      el("summary", {text: t("fb_question"), style: "cursor: pointer; padding: 6px 0; font-weight: 700"}), form, status);
    box.addEventListener("toggle", function () {
      if (!box.open || signed) { return; }
      call("feedback?path=/&lang=" + lang()).then(function (answer) {
        signed = answer;
        shownAt = Date.now();
        trap.appendChild(el("input", {type: "text", name: answer.honeypot, tabindex: "-1", autocomplete: "off"}));
      }).catch(function (error) { refuse(status, error); });
    });
    form.addEventListener("submit", function (e) {
      e.preventDefault();
      if (!signed) { return; }
      var fields = new FormData(form);
      fields.append("path", signed.path);
      fields.append("form", signed.form);
      button.disabled = true;
      post("feedback", fields).then(function (answer) {
        form.remove();
        status.className = "report-status";
        status.style.color = "";
        status.textContent = answer.message;
      }).catch(function (error) {
        button.disabled = false;
        refuse(status, error);
      });
    });
    return box;
  }

  function cornerControl(map) {
    var control = L.control({position: A.cfg().dir === "rtl" ? "bottomright" : "bottomleft"});
    control.onAdd = function () {
      var report = el("button.action", {id: "report-centre", type: "button", text: t("rp_centre"),
        style: "margin: 8px 10px 4px", on: {click: function () { openReport(map.getCenter()); }}});
      var box = el("div.legend-control.report-control", {dir: A.cfg().dir}, report, feedbackBox());
      L.DomEvent.disableClickPropagation(box);
      L.DomEvent.disableScrollPropagation(box);
      return box;
    };
    control.addTo(map);
  }

  /** A "report here" button in every feature's popup. */
  function popupButton(e) {
    var box = e.popup.getElement(), actions = box && box.querySelector(".popup-actions");
    if (!actions || actions.querySelector(".report-here")) { return; }
    var at = e.popup.getLatLng();
    actions.appendChild(el("button.action.report-here", {type: "button", text: t("rp_here"), on: {click: function () {
      openReport(at);
    }}}));
  }

  var start = A.start;
  A.start = function (map) {
    start.apply(this, arguments);
    map.on("contextmenu", function (e) { openReport(e.latlng); });
    map.on("popupopen", popupButton);
    cornerControl(map);
  };
})();
