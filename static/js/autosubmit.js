// Filter lists: a <select data-autosubmit> submits its form when changed
// (an inline onchange handler would need 'unsafe-inline' in the CSP).
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
})();
