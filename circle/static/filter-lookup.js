/*
 * List filters over many rows (a district's business circles): a box that looks the rows
 * up as you type instead of a dropdown carrying all of them in every list page (issue #19).
 *
 * The page's filter data (#filter-groups-data, built by CircleModelView._get_filter_groups)
 * gives such a filter the type "circle-lookup", the URL of its lookup (Flask-Admin's
 * ajax_lookup: query, offset, limit → [[id, name], ...]) and the names of the rows its
 * active instances chose. Flask-Admin's filters.js draws a plain text input for it and calls
 * faForm.applyStyle(input, type): a field converter turns that input into the lookup for
 * filters added or whose operation changes later, and the inputs filters.js drew before
 * this script ran (the active filters) are turned on load.
 *
 * Loaded with data- attributes carrying the translated texts; no inline script.
 */
(function ($, script) {
  "use strict";

  var TYPE = "circle-lookup";
  var PAGE = 20;
  var raw = document.getElementById("filter-groups-data");
  if (!$ || !$.fn.select2 || !window.faForm || !script || !raw) {
    return;
  }

  // select2 escapes result texts itself but inserts these messages as HTML.
  function text(name) {
    return $("<div>").text(script.getAttribute("data-" + name) || "").html();
  }
  var texts = {
    placeholder: script.getAttribute("data-placeholder") || "",
    // An active filter's row that is not (or no longer) among the user's: said so, not
    // shown as a bare id.
    unknown: script.getAttribute("data-unknown") || "",
    searching: text("searching"),
    noMatches: text("no-matches"),
    loadMore: text("load-more"),
    error: text("error")
  };

  // Filter arg → its entry, for the lookup filters only.
  var lookups = {};
  $.each(JSON.parse(raw.textContent), function (label, filters) {
    $.each(filters, function (index, flt) {
      if (flt.type === TYPE) {
        lookups[flt.arg] = flt;
      }
    });
  });

  // filters.js names a filter's input flt<position>_<arg>.
  function lookupOf($field) {
    var match = /^flt\d+_(.+)$/.exec($field.attr("name") || "");
    return match && Object.prototype.hasOwnProperty.call(lookups, match[1])
      ? lookups[match[1]] : null;
  }

  function upgrade($field, flt) {
    var value = $field.val();
    var labels = flt.labels || {};
    var initial = value ? {id: value, text: Object.prototype.hasOwnProperty.call(labels, value)
      ? labels[value] : texts.unknown || value} : null;
    // select2 3.5 only does AJAX on a hidden input; the input stays the same element, so
    // the handlers filters.js bound to it (show the Apply button on change) still fire.
    $field.attr("type", "hidden").removeClass("form-control");
    $field.select2({
      width: "18em",
      placeholder: texts.placeholder,
      minimumInputLength: 0,
      ajax: {
        url: flt.url,
        dataType: "json",
        quietMillis: 250,
        data: function (term, page) {
          return {query: term, offset: (page - 1) * PAGE, limit: PAGE};
        },
        results: function (rows) {
          return {
            results: $.map(rows, function (row) { return {id: row[0], text: row[1]}; }),
            more: rows.length === PAGE
          };
        }
      },
      initSelection: function (element, callback) {
        callback(initial);
      },
      formatSearching: function () { return texts.searching; },
      formatNoMatches: function () { return texts.noMatches; },
      formatLoadMore: function () { return texts.loadMore; },
      formatAjaxError: function () { return texts.error; }
    });
    return true;
  }

  window.faForm.addFieldConverter(function ($el, name) {
    var flt = name === TYPE ? lookupOf($el) : null;
    return flt ? upgrade($el, flt) : false;
  });

  $("#filter_form .filter-val").each(function () {
    var $field = $(this);
    var flt = $field.is("input[type=text]") ? lookupOf($field) : null;
    if (flt) {
      upgrade($field, flt);
    }
  });
})(window.jQuery, document.currentScript);
