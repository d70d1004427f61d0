/* Phone helpers for the admin pages, so that Flask-Admin's templates stay as they are.
 * - Each cell of an admin list carries its column's name (data-label), which circle.css
 *   shows in front of the value when the list is laid out as cards on a phone; read from
 *   the header.
 * - The navbar's toggle gets a label in the page's language (Flask-Admin writes "Toggle
 *   navigation"); templates/admin/circle_base.html gives it in data-toggle-label. */
(function () {
  "use strict";

  var identity = document.querySelector("[data-toggle-label]");
  var toggler = document.querySelector(".navbar-toggler");
  if (identity && toggler) {
    toggler.setAttribute("aria-label", identity.getAttribute("data-toggle-label"));
  }

  document.querySelectorAll("table.model-list").forEach(function (table) {
    var labels = Array.prototype.map.call(
      table.querySelectorAll("thead th"),
      function (th) { return th.textContent.replace(/\s+/g, " ").trim(); });
    table.querySelectorAll("tr").forEach(function (row) {
      if (row.parentElement.tagName === "THEAD") {
        return;
      }
      Array.prototype.forEach.call(row.children, function (cell, index) {
        if (cell.tagName !== "TD" || cell.hasAttribute("colspan")) {
          return;
        }
        if (cell.querySelector("input.action-checkbox")) {
          cell.classList.add("list-checkbox-cell");
        } else if (labels[index]) {
          cell.setAttribute("data-label", labels[index]);
        }
      });
    });
  });
})();
