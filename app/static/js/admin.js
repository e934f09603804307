// Consultation builder: ask before removing a theme, question or option. Optional: without
// JavaScript the remove buttons work the same, just without the question.
document.addEventListener("submit", function (event) {
  var message = event.target.getAttribute("data-confirm");
  if (message && !window.confirm(message)) {
    event.preventDefault();
  }
});
