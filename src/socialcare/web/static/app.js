/* socialcare: small page behaviours. No inline scripts (the Content-Security-Policy forbids them). */
(function () {
  "use strict";
  function showError(html) {
    var box = document.getElementById("htmx-error");
    if (!box) return;
    box.innerHTML = html;
    box.hidden = false;
    box.focus && box.focus();
  }
  document.addEventListener("htmx:responseError", function (evt) {
    var xhr = evt.detail.xhr;
    var text = xhr && xhr.responseText ? xhr.responseText : "";
    // error responses to HTMX are small HTML fragments rendered by the server (escaped there)
    showError(text || "The request failed (" + (xhr ? xhr.status : "?") + "). Reload the page and try again.");
  });
  document.addEventListener("htmx:sendError", function () {
    showError("<p>The server could not be reached. Check your connection and try again.</p>");
  });
  document.addEventListener("htmx:beforeRequest", function () {
    var box = document.getElementById("htmx-error");
    if (box) { box.hidden = true; box.innerHTML = ""; }
  });
  // confirm() for buttons marked data-confirm="..." (destructive actions)
  document.addEventListener("submit", function (evt) {
    var msg = evt.target.getAttribute && evt.target.getAttribute("data-confirm");
    if (msg && !window.confirm(msg)) evt.preventDefault();
  });
})();
