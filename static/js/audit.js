// Audit page: follow a running audit's progress, then draw the report's charts.
(function () {
  "use strict";
  var box = document.querySelector("[data-audit-progress]");
  if (box) {
    var url = box.getAttribute("data-status-url");
    var bar = box.querySelector(".progress");
    var fill = bar.querySelector("span");
    var step = box.querySelector("[data-progress-step]");
    var pct = box.querySelector("[data-progress-pct]");
    var eta = box.querySelector("[data-progress-eta]");
    // The heading's badge was rendered when the page loaded (often "Queued"): it
    // follows the run's status too, so it never contradicts the moving bar.
    var badge = document.querySelector("[data-audit-status]");
    var poll = function () {
      fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.json(); })
        .then(function (s) {
          if (s.finished) { window.location.reload(); return; }
          var p = Math.round(s.progress * 100);
          fill.style.width = p + "%";
          bar.setAttribute("aria-valuenow", p);
          if (badge) {
            badge.textContent = s.status_label;
            badge.className = "badge status-" + s.status;
          }
          step.textContent = s.step || s.status_label;
          pct.textContent = p + "%";
          eta.textContent = s.eta_seconds !== null ? "· about " + s.eta_seconds + " s left" : "";
          setTimeout(poll, 1000);
        })
        .catch(function () { setTimeout(poll, 3000); });
    };
    setTimeout(poll, 1000);
  }
  if (window.Plotly) {
    document.querySelectorAll("[data-chart]").forEach(function (el) {
      var data = JSON.parse(document.getElementById(el.getAttribute("data-chart")).textContent);
      window.Plotly.newPlot(el, data.data, data.layout, { responsive: true, displaylogo: false });
    });
  }
})();
