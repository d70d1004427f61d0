/*
 * Register an issue: the searchable merchant picker and the 12345 work-order hint.
 *
 * Kept out of the page (no inline script) so that a Content-Security-Policy without
 * 'unsafe-inline' can be switched on. Translated texts come from data- attributes.
 */
(function ($) {
  "use strict";

  if (!$) {
    return;
  }

  function initMerchantPicker() {
    var $select = $("#merchant");
    if (!$select.length || !$.fn.select2) {
      return;
    }
    var url = $select.data("url");
    // select2 escapes result texts itself but inserts these messages as HTML.
    function text(name) {
      return $("<div>").text($select.data(name) || "").html();
    }
    var texts = {
      placeholder: $select.data("placeholder") || "",
      searching: text("searching"),
      noMatches: text("no-matches"),
      loadMore: text("load-more"),
      error: text("error")
    };

    if ($.fn.select2.amd) {
      // select2 4 binds AJAX lookups to the <select> itself.
      $select.select2({
        width: "100%",
        placeholder: texts.placeholder,
        ajax: {
          url: url,
          dataType: "json",
          delay: 250,
          data: function (params) {
            return {q: params.term || "", page: params.page || 1};
          }
        },
        language: {
          searching: function () { return texts.searching; },
          noResults: function () { return texts.noMatches; },
          loadingMore: function () { return texts.loadMore; },
          errorLoading: function () { return texts.error; }
        }
      });
      return;
    }

    // select2 3.5 (the version Flask-Admin ships) only does AJAX on a hidden input, so the
    // <select> is swapped for one carrying the same name, id and current value.
    var $chosen = $select.find("option:selected");
    var initial = $chosen.val() ? {id: $chosen.val(), text: $chosen.text()} : null;
    var invalid = $select.hasClass("is-invalid");
    var $input = $("<input type=\"hidden\">")
      .attr({name: $select.attr("name"), id: $select.attr("id"),
             "aria-describedby": $select.attr("aria-describedby")})
      // select2 copies the element's classes to its box; Bootstrap's is-invalid would pad
      // it narrower than the other controls, so the error shows through has-error instead.
      .addClass($select.attr("class")).removeClass("is-invalid")
      .val(initial ? initial.id : "");
    $select.replaceWith($input);
    $input.closest(".form-group").toggleClass("has-error", invalid);
    $input.select2({
      width: "100%",
      placeholder: texts.placeholder,
      minimumInputLength: 0,
      ajax: {
        url: url,
        dataType: "json",
        quietMillis: 250,
        data: function (term, page) {
          return {q: term, page: page};
        },
        results: function (data) {
          return {results: data.results, more: data.pagination && data.pagination.more};
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
  }

  function initWorkOrderHint() {
    var $source = $("#source");
    var $workOrder = $("#work_order_no");
    if (!$source.length || !$workOrder.length) {
      return;
    }
    function update() {
      var hotline = $source.find("option:selected").data("hotline") === 1;
      $workOrder.prop("required", hotline);
      $workOrder.closest(".form-group").toggleClass("work-order-required", hotline);
    }
    $source.on("change", update);
    update();
  }

  $(function () {
    initMerchantPicker();
    initWorkOrderHint();
  });
})(window.jQuery);
