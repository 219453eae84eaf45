// Live completeness meter: the same rule as the server (three words or more),
// over the sections the page shows: those that apply to the dataset's kind (a real
// dataset's page has no generation method, real sources or watermarking).
(function () {
  "use strict";
  var form = document.querySelector("form[data-datasheet]");
  if (!form) return;
  var sections = form.querySelectorAll("[data-datasheet-section]");
  var meter = document.getElementById("datasheet-meter");
  var fill = meter.querySelector("span");
  var label = document.querySelector("[data-datasheet-percent]");
  function update() {
    var answered = 0;
    sections.forEach(function (el) {
      if (el.value.trim().split(/\s+/).filter(Boolean).length >= 3) answered += 1;
    });
    var pct = Math.round((100 * answered) / sections.length);
    fill.style.width = pct + "%";
    meter.setAttribute("aria-valuenow", pct);
    label.textContent = pct + "%";
  }
  form.addEventListener("input", update);
  update();
})();
