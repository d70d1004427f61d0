/* Reports pages (satisfaction export, merchant import). Loaded as a file: the CSP allows no
 * inline script. Everything here is a convenience; the pages work without it. */
(function () {
  "use strict";

  // Export: offer only the business circles of the chosen community.
  var community = document.querySelector("#export-form select[name=community]");
  var circle = document.querySelector("#export-form select[name=circle]");
  if (community && circle) {
    var filterCircles = function () {
      var chosen = community.value;
      Array.prototype.forEach.call(circle.options, function (option) {
        var owner = option.getAttribute("data-community");
        var hidden = Boolean(chosen && owner && owner !== chosen);
        option.hidden = hidden;
        option.disabled = hidden;
        if (hidden && option.selected) {
          circle.value = "";
        }
      });
    };
    community.addEventListener("change", filterCircles);
    filterCircles();
  }

  // Import: one click imports once; a second click while the first is running does not.
  document.querySelectorAll("form.import-form").forEach(function (form) {
    form.addEventListener("submit", function () {
      form.querySelectorAll("button[type=submit]").forEach(function (button) {
        window.setTimeout(function () { button.disabled = true; }, 0);
      });
    });
  });
})();
