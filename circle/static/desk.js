/* The issue desk: small conveniences on top of forms that work without JavaScript.
 *
 * - A field marked data-depends-on="outcome" data-depends-values="resolved" is shown only
 *   while that radio of the same form has one of those values (the server checks anyway).
 * - After a failed submission, the first error is scrolled into view.
 * - A form cannot be sent twice by a double tap on a slow connection.
 * - Photos over the limits are refused on the phone, before a long upload (the photos kept
 *   from a failed submission count against the number allowed).
 * - A form shown again with its errors was answered at its action's address: the desk's own
 *   address goes back into the address bar, so a reload or a copied link opens the desk.
 */
(function () {
  "use strict";

  var desk = document.querySelector("[data-replace-url]");
  if (desk && window.history && window.history.replaceState) {
    window.history.replaceState(null, "", desk.getAttribute("data-replace-url") +
                                window.location.hash);
  }

  function fieldValue(form, name) {
    var checked = form.querySelector('input[name="' + name + '"]:checked');
    return checked ? checked.value : "";
  }

  function applyDependencies(form) {
    form.querySelectorAll("[data-depends-on]").forEach(function (el) {
      var values = el.getAttribute("data-depends-values").split(" ");
      var show = values.indexOf(fieldValue(form, el.getAttribute("data-depends-on"))) !== -1;
      // Never hide a field that carries an error message.
      el.hidden = !show && !el.querySelector(".invalid-feedback");
    });
  }

  // Photo limits come from the server (data-* attributes on the file input).
  function checkPhotos(input) {
    var files = Array.prototype.slice.call(input.files || []);
    var maxBytes = parseInt(input.getAttribute("data-max-bytes"), 10);
    var maxFiles = parseInt(input.getAttribute("data-max-files"), 10);
    var maxTotal = parseInt(input.getAttribute("data-max-total"), 10);
    var total = files.reduce(function (sum, file) { return sum + file.size; }, 0);
    // Photos kept from a failed submission count too, unless their remove box is ticked.
    var form = input.form;
    var kept = form ? form.querySelectorAll('input[name="kept_photos"]').length -
      form.querySelectorAll('input[name="remove_photos"]:checked').length : 0;
    var message = "";
    if (maxFiles && files.length + kept > maxFiles) {
      message = input.getAttribute("data-count-message");
    } else if (maxBytes && files.some(function (file) { return file.size > maxBytes; })) {
      message = input.getAttribute("data-size-message");
    } else if (maxTotal && total > maxTotal) {
      message = input.getAttribute("data-total-message");
    }
    input.setCustomValidity(message || "");
    if (message) { input.reportValidity(); }
  }

  function init() {
    document.querySelectorAll("input[type=file][data-max-bytes]").forEach(function (input) {
      input.addEventListener("change", function () { checkPhotos(input); });
    });
    document.querySelectorAll("form.desk-form").forEach(function (form) {
      applyDependencies(form);
      form.addEventListener("change", function () { applyDependencies(form); });
      form.addEventListener("submit", function () {
        var button = form.querySelector('button[type="submit"]');
        if (button) {
          window.setTimeout(function () { button.disabled = true; }, 0);
        }
      });
    });
    var firstError = document.querySelector(".desk-form-error, .desk-action .invalid-feedback");
    if (firstError) {
      var details = firstError.closest("details");
      if (details) { details.open = true; }
      firstError.scrollIntoView({ block: "center" });
    }
  }

  // Coming back with the Back button restores the page with its buttons disabled.
  window.addEventListener("pageshow", function () {
    document.querySelectorAll("form.desk-form button[type=submit]").forEach(function (b) {
      b.disabled = false;
    });
  });

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
