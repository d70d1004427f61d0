/* Behaviour Flask-Admin writes as inline handlers, which the Content-Security-Policy blocks:
 * delete confirmations, bulk actions, and placeholder "javascript:" links. */
(function () {
  "use strict";

  // Placeholder links: keep them from navigating (a javascript: URL would be a CSP violation).
  document.querySelectorAll('a[href^="javascript:"]').forEach(function (link) {
    link.setAttribute("href", "#");
    link.setAttribute("data-placeholder-link", "");
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest(
      "[data-confirm], [data-model-action], [data-add-inline], [data-placeholder-link]");
    if (!target) {
      return;
    }
    if (target.hasAttribute("data-confirm")) {
      if (!window.confirm(target.getAttribute("data-confirm"))) {
        event.preventDefault();
      }
      return;
    }
    event.preventDefault();
    if (target.hasAttribute("data-model-action") && window.modelActions) {
      window.modelActions.execute(target.getAttribute("data-model-action"));
    } else if (target.hasAttribute("data-add-inline") && window.faForm) {
      window.faForm.addInlineField(target, target.getAttribute("data-add-inline"));
    }
  });
})();
