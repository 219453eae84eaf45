// Live progress bars for audits in progress on the dashboard.
(function () {
  "use strict";
  document.querySelectorAll("[data-live-run]").forEach(function (bar) {
    var url = bar.getAttribute("data-live-run");
    var fill = bar.querySelector("span");
    var tick = function () {
      fetch(url, { credentials: "same-origin" }).then(function (r) { return r.json(); }).then(function (s) {
        fill.style.width = Math.round(s.progress * 100) + "%";
        if (!s.finished) setTimeout(tick, 2000); else fill.style.background = "var(--ok)";
      }).catch(function () { setTimeout(tick, 5000); });
    };
    setTimeout(tick, 1500);
  });
})();
