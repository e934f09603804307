// Paper forms: keyboard-first entry (Enter moves on) and the import progress bar.
(function () {
  "use strict";

  function focusable(form) {
    return Array.prototype.filter.call(
      form.querySelectorAll("input, select, textarea, button"),
      function (el) { return el.type !== "hidden" && !el.disabled && el.offsetParent !== null; }
    );
  }

  // Enter moves to the next field, as Tab does; on the button it saves.
  function enterMovesOn(form) {
    form.addEventListener("keydown", function (event) {
      var target = event.target;
      if (event.key !== "Enter" || target.tagName === "BUTTON" || target.tagName === "TEXTAREA") {
        return;
      }
      event.preventDefault();
      var fields = focusable(form);
      var next = fields[fields.indexOf(target) + 1];
      if (next) { next.focus(); }
    });
  }

  // A supervisor typing what the paper says: the same keys, the cursor on the first field in
  // error, else on the first field.
  var typed = document.getElementById("typed-form");
  if (typed) {
    enterMovesOn(typed);
    var typedError = typed.querySelector(".has-error input, .has-error select");
    (typedError || focusable(typed)[0]).focus();
  }

  var entry = document.getElementById("entry-form");
  if (entry) {
    var municipalities = {};
    try { municipalities = JSON.parse(entry.dataset.municipalities || "{}"); } catch (e) { municipalities = {}; }
    var serial = document.getElementById("serial");
    var shown = document.getElementById("serial-municipality");
    var showMunicipality = function () {
      var match = /^(\d{5})-\d{6}$/.exec(serial.value.trim());
      shown.textContent = match ? (municipalities[match[1]] || match[1]) : "";
    };
    serial.addEventListener("input", showMunicipality);
    showMunicipality();
    enterMovesOn(entry);
    // After an error the cursor goes to the first field in error, otherwise to the serial.
    var firstError = entry.querySelector(".has-error input, .has-error select");
    (firstError || serial).focus();
  }

  var upload = document.getElementById("import-form");
  if (upload) {
    upload.addEventListener("submit", function () {
      document.getElementById("import-progress").hidden = false;
    });
  }

  // A queued import's page: poll the job's state (read from the database, so any server
  // answers the same) and reload the page when the job has ended.
  var job = document.getElementById("job-progress");
  if (job && window.fetch) {
    var bar = document.getElementById("import-bar");
    var phase = document.getElementById("import-phase");
    var poll = function () {
      fetch(job.dataset.stateUrl, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (response) { return response.json(); })
        .then(function (state) {
          if (state.state === "succeeded" || state.state === "failed") {
            window.location.reload();
            return;
          }
          if (state.total > 0) {
            // Checking is the first half of the bar, storing the second.
            var share = Math.min(state.done / state.total, 1) * 50;
            bar.value = state.phase === "store" ? 50 + share : share;
          }
          phase.textContent = bar.dataset[state.phase] || phase.textContent;
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
  }
})();
