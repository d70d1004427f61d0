/* Each cell of an admin list carries its column's name (data-label), which circle.css shows
 * in front of the value when the list is laid out as cards on a phone. Read from the header
 * so that the list template (Flask-Admin's) stays as it is. */
(function () {
  "use strict";

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
