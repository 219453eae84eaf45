// Move focus to what a page asks the reader to see first (an element with
// data-autofocus, e.g. the summary of a refused form), so keyboard and
// screen-reader users start there. The autofocus attribute alone is not applied
// to every element by every browser.
(function () {
  "use strict";
  var target = document.querySelector("[data-autofocus]");
  if (!target) return;
  if (!target.hasAttribute("tabindex")) target.setAttribute("tabindex", "-1");
  target.focus();
  if (target.scrollIntoView) target.scrollIntoView({ block: "start" });
})();
