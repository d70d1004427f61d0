/* A live character counter under every field with data-maxlength (circle/textlimits.py).
 * The browser never cuts the text: the counter turns red past the limit and the server
 * refuses it with a message, so a long paste is never shortened without anyone knowing. */
(function () {
  "use strict";

  function attach(field) {
    var max = parseInt(field.getAttribute("data-maxlength"), 10);
    if (!max) {
      return;
    }
    var counter = document.createElement("small");
    counter.className = "form-text text-muted text-counter";
    counter.setAttribute("aria-live", "polite");
    field.insertAdjacentElement("afterend", counter);
    function update() {
      var length = field.value.length;
      counter.textContent = length + " / " + max;
      var over = length > max;
      counter.classList.toggle("text-danger", over);
      counter.classList.toggle("text-muted", !over);
      field.classList.toggle("is-invalid", over);
    }
    field.addEventListener("input", update);
    update();
  }

  document.querySelectorAll("[data-maxlength]").forEach(attach);
})();
