// Enhancements only: every page works without this file (forms post and redirect).
(function () {
  "use strict";
  document.documentElement.classList.add("js");

  // htmx requests carry the CSRF token the page was rendered with.
  document.addEventListener("htmx:configRequest", function (event) {
    var token = document.body.getAttribute("data-csrf-token");
    if (token) { event.detail.headers["X-CSRFToken"] = token; }
  });

  function onReady(fn) {
    if (document.readyState !== "loading") { fn(); } else { document.addEventListener("DOMContentLoaded", fn); }
  }

  function bindAutosubmit(root) {
    root.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
      if (select.dataset.bound) { return; }
      select.dataset.bound = "1";
      select.addEventListener("change", function () { select.form.submit(); });
    });
  }

  // Drag a file onto an evidence form: it lands in the form's file input, as if picked.
  function bindDropzones(root) {
    root.querySelectorAll("[data-dropzone]").forEach(function (zone) {
      if (zone.dataset.bound) { return; }
      zone.dataset.bound = "1";
      var input = zone.querySelector("input[type=file]");
      var label = zone.querySelector("[data-dropzone-name]");
      function show() { if (label && input.files.length) { label.textContent = input.files[0].name; } }
      input.addEventListener("change", show);
      zone.addEventListener("dragover", function (event) { event.preventDefault(); zone.classList.add("dragging"); });
      zone.addEventListener("dragleave", function () { zone.classList.remove("dragging"); });
      zone.addEventListener("drop", function (event) {
        event.preventDefault();
        zone.classList.remove("dragging");
        if (event.dataTransfer && event.dataTransfer.files.length) { input.files = event.dataTransfer.files; show(); }
      });
    });
  }

  // Decision conditions are rows; "add a condition" clones the template row with fresh field names.
  function bindConditionRows(root) {
    root.querySelectorAll("[data-add-condition]").forEach(function (button) {
      if (button.dataset.bound) { return; }
      button.dataset.bound = "1";
      button.addEventListener("click", function () {
        var table = document.getElementById(button.getAttribute("data-add-condition"));
        var rows = table.querySelectorAll("tbody tr");
        var clone = rows[rows.length - 1].cloneNode(true);
        var index = rows.length;
        clone.querySelectorAll("input, select, label").forEach(function (el) {
          ["name", "id", "for"].forEach(function (attr) {
            var value = el.getAttribute(attr);
            if (value) { el.setAttribute(attr, value.replace(/-\d+-/, "-" + index + "-")); }
          });
          if (el.tagName === "INPUT") { el.value = ""; }
        });
        table.querySelector("tbody").appendChild(clone);
        var total = document.querySelector("input[name=conditions-TOTAL_FORMS]");
        if (total) { total.value = String(index + 1); }
        var first = clone.querySelector("input");
        if (first) { first.focus(); }
      });
    });
  }

  function bindAll(root) { bindAutosubmit(root); bindDropzones(root); bindConditionRows(root); }
  onReady(function () { bindAll(document); });
  document.addEventListener("htmx:load", function (event) { bindAll(event.target); });
})();
