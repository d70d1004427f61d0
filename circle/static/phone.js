/* Phone helpers for the admin pages, so that Flask-Admin's templates stay as they are.
 * - Each cell of an admin list carries its column's name (data-label), which circle.css
 *   shows in front of the value when the list is laid out as cards on a phone; read from
 *   the header.
 * - The navbar's toggle gets a label in the page's language (Flask-Admin writes "Toggle
 *   navigation"); templates/admin/circle_base.html gives it in data-toggle-label.
 * - Below 576 px a list's filters live in a drawer (templates/admin/model/layout.html):
 *   the toolbar's "Filters (n)" button opens it as a modal dialog; its close button, the
 *   backdrop and Escape close it, and focus goes back to the button. */
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

  var drawer = document.querySelector("[data-filter-drawer]");
  var opener = document.querySelector("[data-filter-drawer-open]");
  var phone = window.matchMedia("(max-width: 575.98px)");
  var FOCUSABLE = "a[href], button:not([disabled]), input:not([type=hidden]):not([disabled]), " +
    "select:not([disabled]), textarea:not([disabled]), [tabindex]:not([tabindex='-1'])";

  function drawerParts() {
    return document.querySelectorAll("[data-filter-drawer], .filter-drawer-backdrop");
  }

  function isOpen() {
    return drawer.classList.contains("is-open");
  }

  function visibleFocusable() {
    return Array.prototype.filter.call(drawer.querySelectorAll(FOCUSABLE), function (el) {
      return el.offsetParent !== null;
    });
  }

  function openDrawer() {
    drawerParts().forEach(function (el) { el.classList.add("is-open"); });
    drawer.setAttribute("role", "dialog");
    drawer.setAttribute("aria-modal", "true");
    opener.setAttribute("aria-expanded", "true");
    document.body.classList.add("filter-drawer-shown");
    (visibleFocusable()[0] || drawer).focus();
  }

  function closeDrawer() {
    if (!isOpen()) {
      return;
    }
    drawerParts().forEach(function (el) { el.classList.remove("is-open"); });
    drawer.removeAttribute("role");
    drawer.removeAttribute("aria-modal");
    opener.setAttribute("aria-expanded", "false");
    document.body.classList.remove("filter-drawer-shown");
    opener.focus();
  }

  if (drawer && opener) {
    opener.addEventListener("click", openDrawer);
    document.querySelectorAll("[data-filter-drawer-close]").forEach(function (el) {
      el.addEventListener("click", closeDrawer);
    });
    // Growing past the phone breakpoint turns the drawer back into an ordinary block.
    phone.addEventListener("change", function (event) {
      if (!event.matches) {
        closeDrawer();
      }
    });
    // Capture phase: an open menu or select box inside the drawer takes Escape first.
    document.addEventListener("keydown", function (event) {
      if (!isOpen()) {
        return;
      }
      if (event.key === "Escape") {
        if (!document.querySelector(".filter-drawer .dropdown-menu.show, " +
                                    ".select2-container--open, .select2-drop-active")) {
          closeDrawer();
        }
      } else if (event.key === "Tab" && drawer.contains(document.activeElement)) {
        // Keep Tab inside the dialog (aria-modal).
        var items = visibleFocusable();
        var first = items[0];
        var last = items[items.length - 1];
        if (event.shiftKey && document.activeElement === first) {
          event.preventDefault();
          last.focus();
        } else if (!event.shiftKey && document.activeElement === last) {
          event.preventDefault();
          first.focus();
        }
      }
    }, true);
  }
})();
