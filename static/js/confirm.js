// Confirmation of irreversible actions (sign, revoke, publish) in a <dialog>.
//
// A form with data-confirm="what will happen" asks before it submits. With
// data-confirm-by="<radio name>", the text is that of the element inside the form
// whose data-confirm-for is the checked value (each decision says what it does).
// data-confirm-button names the confirming button.
//
// Without JavaScript the form's own "I understand" tick (input[data-confirm-checkbox],
// checked by the server) is the confirmation; here it is hidden and ticked when the
// dialog is answered "yes", so the server check still holds. No inline script or
// style: the Content-Security-Policy forbids both.
(function () {
  "use strict";
  var forms = document.querySelectorAll("form[data-confirm]");
  if (!forms.length || typeof HTMLDialogElement !== "function") return;

  var dialog = document.createElement("dialog");
  dialog.className = "confirm-dialog";
  dialog.setAttribute("aria-labelledby", "confirm-dialog-title");
  dialog.setAttribute("aria-describedby", "confirm-dialog-text");
  dialog.setAttribute("data-testid", "confirm-dialog");
  var title = document.createElement("h2");
  title.id = "confirm-dialog-title";
  title.textContent = "Please confirm";
  var text = document.createElement("p");
  text.id = "confirm-dialog-text";
  var buttons = document.createElement("form");
  buttons.method = "dialog";
  buttons.className = "actions";
  var cancel = document.createElement("button");
  cancel.value = "cancel";
  cancel.textContent = "Cancel";
  var ok = document.createElement("button");
  ok.value = "ok";
  ok.className = "danger";
  buttons.append(cancel, ok);
  dialog.append(title, text, buttons);
  document.body.appendChild(dialog);

  var pending = null;

  function message(form) {
    var by = form.getAttribute("data-confirm-by");
    if (by) {
      var checked = form.querySelector('input[name="' + by + '"]:checked');
      if (checked) {
        var variants = form.querySelectorAll("[data-confirm-for]");
        for (var i = 0; i < variants.length; i += 1) {
          if (variants[i].getAttribute("data-confirm-for") === checked.value) {
            return variants[i].textContent.trim();
          }
        }
      }
    }
    return form.getAttribute("data-confirm");
  }

  forms.forEach(function (form) {
    var tick = form.querySelector("input[data-confirm-checkbox]");
    if (tick) {
      tick.required = false;
      var wrapper = tick.closest("[data-confirm-field]");
      if (wrapper) wrapper.hidden = true;
    }
    form.addEventListener("submit", function (event) {
      if (form.getAttribute("data-confirmed") === "yes") return;
      event.preventDefault();
      pending = { form: form, submitter: event.submitter || null };
      text.textContent = message(form);
      ok.textContent = form.getAttribute("data-confirm-button") || "Confirm";
      dialog.returnValue = "";
      dialog.showModal();
      cancel.focus();
    });
  });

  dialog.addEventListener("close", function () {
    var job = pending;
    pending = null;
    if (!job || dialog.returnValue !== "ok") return;
    var tick = job.form.querySelector("input[data-confirm-checkbox]");
    if (tick) tick.checked = true;
    var hidden = job.form.querySelector("input[data-confirm-input]");
    if (hidden) hidden.value = "yes";
    job.form.setAttribute("data-confirmed", "yes");
    if (job.submitter) job.form.requestSubmit(job.submitter);
    else job.form.requestSubmit();
  });
})();
