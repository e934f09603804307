// Progressive enhancement of the answer form; the form works the same without it.
(function () {
  "use strict";
  var form = document.getElementById("answer-form");

  // Move focus to the error summary so screen readers and keyboards start there.
  var summary = document.getElementById("error-summary");
  if (summary) { summary.focus(); }

  if (!form) { return; }

  // A search box that narrows the municipality list (the select stays usable on its own).
  var select = document.getElementById("municipality");
  if (select) {
    var wrapper = document.createElement("div");
    wrapper.className = "municipality-filter";
    var label = document.createElement("label");
    label.htmlFor = "municipality-filter";
    label.textContent = select.getAttribute("data-filter-label");
    var input = document.createElement("input");
    input.type = "search";
    input.id = "municipality-filter";
    input.autocomplete = "off";
    input.setAttribute("aria-controls", "municipality");
    input.setAttribute("aria-describedby", "municipality-filter-count");
    var count = document.createElement("p");
    count.id = "municipality-filter-count";
    count.className = "hint";
    count.setAttribute("aria-live", "polite");
    wrapper.appendChild(label);
    wrapper.appendChild(input);
    wrapper.appendChild(count);
    select.parentNode.insertBefore(wrapper, select);

    var fold = function (text) {
      return text.normalize("NFD").replace(/[\u0300-\u036f]/g, "").toLowerCase().trim();
    };
    var filter = function () {
      var query = fold(input.value);
      var matches = [];
      Array.prototype.forEach.call(select.querySelectorAll("optgroup"), function (group) {
        var visible = 0;
        Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
          var show = !query || fold(option.textContent).indexOf(query) !== -1;
          option.hidden = !show;
          option.disabled = !show && !option.selected;
          if (show) { visible += 1; matches.push(option); }
        });
        group.hidden = visible === 0;
      });
      if (query && matches.length === 1) { matches[0].selected = true; }
      var message = matches.length === 0 ? "data-filter-none"
        : matches.length === 1 ? "data-filter-one" : "data-filter-many";
      count.textContent = query
        ? select.getAttribute(message).replace("{n}", String(matches.length))
        : "";
    };
    input.addEventListener("input", filter);
    input.addEventListener("keydown", function (event) {
      // Enter chooses the first match instead of sending the form.
      if (event.key === "Enter") {
        event.preventDefault();
        var first = select.querySelector("optgroup:not([hidden]) option:not([hidden])");
        if (first) { first.selected = true; }
        select.focus();
      }
    });
  }

  // Character counters for text answers (the server checks the limit too).
  Array.prototype.forEach.call(form.querySelectorAll("textarea[data-max-length]"), function (area) {
    var max = parseInt(area.getAttribute("data-max-length"), 10);
    var counter = document.createElement("p");
    counter.className = "char-count";
    counter.id = area.id + "-count";
    counter.setAttribute("aria-live", "polite");
    area.parentNode.insertBefore(counter, area.nextSibling);
    var described = area.getAttribute("aria-describedby");
    area.setAttribute("aria-describedby", (described ? described + " " : "") + counter.id);
    var update = function () {
      var length = Array.from(area.value.trim()).length;
      var over = length - max;
      counter.classList.toggle("over", over > 0);
      counter.textContent = over > 0
        ? area.getAttribute(over === 1 ? "data-over-one" : "data-over-many")
            .replace("{over}", String(over))
        : area.getAttribute("data-count-template").replace("{count}", String(length))
            .replace("{max}", String(max));
    };
    area.addEventListener("input", update);
    update();
  });

  // The header's language links would reload the page empty: re-render the typed answers.
  Array.prototype.forEach.call(
    document.querySelectorAll(".language-switch a[href*='/language/']"),
    function (link) {
      link.addEventListener("click", function (event) {
        var code = link.getAttribute("href").split("/language/")[1].split("?")[0];
        var button = form.querySelector(
          'button[name="switch_language"][value="' + code + '"]');
        if (button) { event.preventDefault(); button.click(); }
      });
    });

  // One click sends once; the server stores one response per form anyway.
  var sending = false;
  form.addEventListener("submit", function (event) {
    var language = event.submitter && event.submitter.name === "switch_language";
    if (sending) { event.preventDefault(); return; }
    if (!language) { sending = true; }
  });
  // Coming back with the Back button must not leave the form unable to send.
  window.addEventListener("pageshow", function () { sending = false; });
})();
