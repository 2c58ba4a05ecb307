/* socialcare: small page behaviours. No inline scripts (the Content-Security-Policy forbids them). */
(function () {
  "use strict";
  function showError(html, near) {
    // an error appears where the user acted: in the form (or row) that sent the request
    var box = null;
    if (near && near.closest) {
      var host = near.closest("form, tr, section, .panel");
      if (host) {
        box = host.querySelector(":scope > .inline-error.htmx-error");
        if (!box) {
          box = document.createElement("div");
          box.className = "inline-error htmx-error";
          box.setAttribute("role", "alert");
          if (host.tagName === "TR") { (host.lastElementChild || host).appendChild(box); } else { host.insertBefore(box, host.firstChild); }
        }
      }
    }
    if (!box) box = document.getElementById("htmx-error");
    if (!box) return;
    box.innerHTML = html;
    box.hidden = false;
  }
  function busy(el, on) {
    if (!el) return;
    var buttons = el.tagName === "BUTTON" ? [el] : el.querySelectorAll("button[type=submit], button:not([type])");
    Array.prototype.forEach.call(buttons, function (b) {
      if (on) {
        b.disabled = true; b.setAttribute("aria-busy", "true");
        if (!b.dataset.label) { b.dataset.label = b.textContent; }
        b.textContent = (document.documentElement.lang === "es" ? "Trabajando…" : "Working…");
      } else if (b.getAttribute("aria-busy") === "true") {
        b.disabled = false; b.removeAttribute("aria-busy");
        if (b.dataset.label) { b.textContent = b.dataset.label; delete b.dataset.label; }
      }
    });
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = xhr && xhr.responseText ? xhr.responseText : "";
    // error responses to HTMX are small HTML fragments rendered by the server (escaped there)
    showError(text || "The request failed (" + (xhr ? xhr.status : "?") + "). Reload the page and try again.", evt.detail.elt);
  });
  document.addEventListener("htmx:sendError", function (evt) {
    showError("<p>The server could not be reached. Check your connection and try again.</p>", evt.detail.elt);
  });
  document.addEventListener("htmx:beforeRequest", function (evt) {
    var box = document.getElementById("htmx-error");
    if (box) { box.hidden = true; box.innerHTML = ""; }
    var elt = evt.detail.elt;
    if (elt && elt.querySelectorAll) {
      Array.prototype.forEach.call(elt.querySelectorAll(".htmx-error"), function (b) { b.remove(); });
      if (elt.tagName === "FORM" && evt.detail.requestConfig && evt.detail.requestConfig.verb !== "get") busy(elt, true);
    }
  });
  document.addEventListener("htmx:afterRequest", function (evt) {
    var elt = evt.detail.elt;
    if (elt && elt.tagName === "FORM" && document.body.contains(elt)) busy(elt, false);
  });
  // confirm() for forms marked data-confirm="..." (consequential steps); then the buttons show progress
  document.addEventListener("submit", function (evt) {
    var form = evt.target;
    var msg = form.getAttribute && form.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) { evt.preventDefault(); return; }
    if (form.getAttribute("method") && form.getAttribute("method").toLowerCase() === "post" && !form.hasAttribute("hx-post")) {
      window.setTimeout(function () { busy(form, true); }, 0);  // after the browser read the form
    }
  });
  // coming back with the back button: buttons usable again
  window.addEventListener("pageshow", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form"), function (f) { busy(f, false); });
  });
  document.addEventListener("click", function (evt) {
    var t = evt.target.closest && evt.target.closest("[data-print]");
    if (t) { evt.preventDefault(); window.print(); }
  });
})();
/* pickers: choosing a row fills the hidden field (and any field the row names in data-pick-also) */
(function () {
  "use strict";
  document.addEventListener("click", function (evt) {
    var b = evt.target.closest && evt.target.closest("button.pick");
    if (!b) return;
    var form = b.closest("form");
    var box = b.closest(".picker");
    function fill(name, value, label) {
      var scope = form || document;
      var hidden = scope.querySelector('input[type=hidden][name="' + name + '"]');
      if (hidden) hidden.value = value;
      var shown = scope.querySelector('input[name="' + name + '__q"]');
      if (shown) shown.value = label || value;
    }
    fill(b.getAttribute("data-pick-target"), b.getAttribute("data-pick-value"), b.getAttribute("data-pick-label"));
    var also = b.getAttribute("data-pick-also");
    if (also) {
      try { var extra = JSON.parse(also); Object.keys(extra).forEach(function (k) { fill(k, extra[k], null); }); } catch (e) { /* ignore */ }
    }
    if (box) { var res = box.querySelector("[id$=-results]"); if (res) res.innerHTML = ""; var q = box.querySelector("input[type=search]"); if (q) q.focus(); }
  });
  // typing a value by hand (e.g. a member id) still works: the hidden field follows the box until a pick
  document.addEventListener("input", function (evt) {
    var t = evt.target;
    if (!t.name || t.name.slice(-3) !== "__q") return;
    var scope = t.closest("form") || document;
    var hidden = scope.querySelector('input[type=hidden][name="' + t.name.slice(0, -3) + '"]');
    if (hidden) hidden.value = t.value.trim();
  });
})();
