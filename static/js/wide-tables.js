// A table (or a version's diagram of linked tables) wider than its box scrolls
// inside it (app.css, narrow screens). So that a keyboard user can scroll it
// too, such a table joins the tab order
// (tabindex=0) with a name taken from the nearest heading; it leaves the tab
// order again when the window grows wide enough to show it whole.
(function () {
  "use strict";
  function nameFor(table) {
    var caption = table.querySelector("caption");
    if (caption) { return null; }
    var section = table.closest("section, .card, main");
    var heading = section && section.querySelector("h1, h2, h3");
    var kind = table.tagName === "TABLE" ? "table" : "diagram";
    return (heading ? heading.textContent.trim() + ": " : "") + kind + ", scrolls sideways";
  }
  function update() {
    document.querySelectorAll("main table, main figure.diagram").forEach(function (table) {
      var scrolls = table.scrollWidth > table.clientWidth + 1 &&
        /auto|scroll/.test(getComputedStyle(table).overflowX);
      if (scrolls && !table.hasAttribute("tabindex")) {
        table.setAttribute("tabindex", "0");
        table.dataset.scrollFocus = "1";
        var name = nameFor(table);
        if (name && !table.hasAttribute("aria-label")) {
          table.setAttribute("aria-label", name);
          table.dataset.scrollLabel = "1";
        }
      } else if (!scrolls && table.dataset.scrollFocus) {
        table.removeAttribute("tabindex");
        delete table.dataset.scrollFocus;
        if (table.dataset.scrollLabel) {
          table.removeAttribute("aria-label");
          delete table.dataset.scrollLabel;
        }
      }
    });
  }
  var pending = null;
  window.addEventListener("resize", function () {
    clearTimeout(pending);
    pending = setTimeout(update, 150);
  });
  update();
  // Pages that fill tables after load (charts, live status) settle later.
  window.addEventListener("load", update);
})();
