// Upload with a progress bar: send the form with XMLHttpRequest (fetch has no
// upload progress), then follow the server's redirect or show its errors.
(function () {
  "use strict";
  var form = document.querySelector("form[data-upload]");
  if (!form || !window.FormData) return;
  var box = form.querySelector(".upload-progress");
  var bar = box.querySelector(".progress");
  var fill = bar.querySelector("span");
  var status = box.querySelector("[data-upload-status]");
  var button = form.querySelector("button[type=submit]");

  function mb(bytes) { return (bytes / 1e6).toFixed(1) + " MB"; }

  function showErrors(errors, choices) {
    form.querySelectorAll(".error.js").forEach(function (el) { el.remove(); });
    Object.keys(errors).forEach(function (field) {
      var anchor = form.querySelector("[name=" + field + "]") || button;
      errors[field].forEach(function (message) {
        var div = document.createElement("div");
        div.className = "error js";
        div.setAttribute("role", "alert");
        div.textContent = message;
        anchor.parentNode.insertBefore(div, anchor.nextSibling);
      });
    });
    if (choices && choices.length) {
      var div = document.createElement("div");
      div.className = "error js";
      div.textContent = "Detected encodings: " + choices.join(", ") + ". Choose one below and upload again.";
      form.querySelector("[name=encoding]").parentNode.prepend(div);
    }
  }

  // Suggest "?" as a missing-value marker when the first rows of a plain CSV hold
  // cells that are exactly "?" (UCI Adult writes missing values so). Only a hint:
  // the curator decides; a compressed or Parquet file is not looked into.
  var markers = form.querySelector("[name=missing_markers]");
  var suggestion = form.querySelector("[data-marker-suggestion]");
  var fileInput = form.querySelector("input[type=file][name=file]");
  var SNIFF_BYTES = 64 * 1024;

  function declared() {
    return markers.value.split(",").map(function (m) { return m.trim(); }).filter(Boolean);
  }

  function hasQuestionMarkCells(text) {
    var lines = text.split(/\r?\n/);
    if (lines.length > 1) lines.pop();  // the last line may be cut mid-row
    var header = lines[0] || "";
    var delimiter = [",", ";", "\t", "|"].reduce(function (best, d) {
      return header.split(d).length > header.split(best).length ? d : best;
    }, ",");
    return lines.slice(1).some(function (line) {
      return line.split(delimiter).some(function (cell) {
        return cell.trim().replace(/^"(.*)"$/, "$1").trim() === "?";
      });
    });
  }

  function sniff() {
    if (suggestion) suggestion.hidden = true;
    var file = fileInput && fileInput.files && fileInput.files[0];
    if (!file || !markers || !suggestion || !file.slice) return;
    if (/\.(parquet|gz|bz2|xz|zip)$/i.test(file.name)) return;
    file.slice(0, SNIFF_BYTES).text().then(function (text) {
      if (hasQuestionMarkCells(text) && declared().indexOf("?") === -1) suggestion.hidden = false;
    }).catch(function () { /* unreadable here: the server checks the file */ });
  }

  if (fileInput) fileInput.addEventListener("change", sniff);
  if (suggestion) {
    suggestion.querySelector("[data-marker-add]").addEventListener("click", function (event) {
      var marker = event.currentTarget.getAttribute("data-marker-add");
      var current = declared();
      if (current.indexOf(marker) === -1) current.push(marker);
      markers.value = current.join(", ");
      suggestion.hidden = true;
      markers.focus();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action || window.location.href);
    xhr.setRequestHeader("X-Requested-With", "XMLHttpRequest");
    box.hidden = false;
    button.disabled = true;
    var started = Date.now();
    xhr.upload.addEventListener("progress", function (e) {
      if (!e.lengthComputable) return;
      var pct = Math.round((100 * e.loaded) / e.total);
      var secs = (Date.now() - started) / 1000;
      var rate = e.loaded / Math.max(secs, 0.1);
      var left = Math.round((e.total - e.loaded) / Math.max(rate, 1));
      fill.style.width = pct + "%";
      bar.setAttribute("aria-valuenow", pct);
      status.textContent = "Uploading " + mb(e.loaded) + " of " + mb(e.total) + " (" + pct + "%), about " + left + " s left";
    });
    xhr.upload.addEventListener("load", function () {
      status.textContent = "Uploaded. Checking the file, counting rows and inferring the schema…";
    });
    xhr.addEventListener("load", function () {
      var data = {};
      try { data = JSON.parse(xhr.responseText); } catch (err) { data = {}; }
      if (xhr.status < 300 && data.redirect) { window.location.assign(data.redirect); return; }
      button.disabled = false;
      box.hidden = true;
      showErrors(data.errors || {"file": ["The server could not store the file (HTTP " + xhr.status + "). Nothing was stored; try again."]},
                 data.encoding_choices);
    });
    xhr.addEventListener("error", function () {
      button.disabled = false;
      status.textContent = "The connection failed before the upload finished. Nothing was stored; try again.";
    });
    xhr.send(new FormData(form));
  });
})();
