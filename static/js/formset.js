// "Add a row" for a Django formset without saving first.
//
// Markup: a container [data-formset="<prefix>"] holding the rows' parent
// [data-formset-rows] and a <template data-formset-empty> with the formset's
// empty_form rendered in it (Django writes __prefix__ where the row's index
// goes; our templates write __number__ where the reader's row number goes);
// a button [data-formset-add="<prefix>"] (hidden until this script runs) and a
// [data-formset-fallback] note for readers without JavaScript, who get empty
// rows added on each save instead. Each new row takes the next index and the
// management form's TOTAL_FORMS follows, so the server reads it like the others.
(function () {
  "use strict";
  document.querySelectorAll("[data-formset]").forEach(function (box) {
    var prefix = box.getAttribute("data-formset");
    var form = box.closest("form");
    var total = form && form.querySelector('input[name="' + prefix + '-TOTAL_FORMS"]');
    var max = form && form.querySelector('input[name="' + prefix + '-MAX_NUM_FORMS"]');
    var rows = box.querySelector("[data-formset-rows]");
    var empty = box.querySelector("template[data-formset-empty]");
    var add = document.querySelector('[data-formset-add="' + prefix + '"]');
    if (!total || !rows || !empty || !add) return;
    var fallback = box.parentNode.querySelector("[data-formset-fallback]");
    if (fallback) fallback.hidden = true;
    add.hidden = false;
    add.addEventListener("click", function () {
      var index = parseInt(total.value, 10);
      if (max && index >= parseInt(max.value, 10)) return;
      var html = empty.innerHTML
        .replace(/__prefix__/g, String(index))
        .replace(/__number__/g, String(index + 1));
      rows.insertAdjacentHTML("beforeend", html);
      total.value = String(index + 1);
      var added = rows.lastElementChild;
      var first = added && added.querySelector("input, select, textarea");
      if (first) first.focus();
    });
  });
})();
