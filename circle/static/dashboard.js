/* The dashboard's charts, drawn with the vendored Chart.js from the data-chart attribute of
 * each <canvas data-chart-kind="...">: the Content-Security-Policy allows no inline script,
 * so the numbers travel as JSON in an attribute. The tables beside each chart carry the same
 * numbers; without JavaScript (or if Chart.js is missing) the page loses only the pictures. */
(function () {
  "use strict";

  if (typeof window.Chart === "undefined") {
    return;
  }

  // One colour per series key, the same on every chart (red for the red business circle).
  var COLOURS = {
    reported: "#c0392b",
    resolved: "#2c7be5",
    settled: "#2c7be5",
    satisfaction: "#e0a800"
  };
  var FALLBACK_COLOUR = "#6c757d";

  var reduceMotion = window.matchMedia &&
    window.matchMedia("(prefers-reduced-motion: reduce)").matches;

  function readData(canvas) {
    try {
      var data = JSON.parse(canvas.getAttribute("data-chart"));
      return data && Array.isArray(data.labels) && Array.isArray(data.datasets) ? data : null;
    } catch (error) {
      return null;
    }
  }

  function dataset(series, indexAxis) {
    var colour = COLOURS[series.key] || FALLBACK_COLOUR;
    var item = {
      type: series.kind === "line" ? "line" : "bar",
      label: series.label,
      data: series.data,
      backgroundColor: series.kind === "line" ? colour : colour + "cc",
      borderColor: colour,
      borderWidth: series.kind === "line" ? 2 : 0,
      // Weeks without a rated callback have no rate (null): bridge them, don't drop to 0.
      spanGaps: true,
      tension: 0.2,
      pointRadius: 3
    };
    if (indexAxis === "y") {
      item.xAxisID = series.axis;
    } else {
      item.yAxisID = series.axis;
    }
    return item;
  }

  function percentTick(value) {
    return value + "%";
  }

  function trendOptions() {
    return {
      scales: {
        count: {type: "linear", position: "left", beginAtZero: true, ticks: {precision: 0}},
        rate: {
          type: "linear", position: "right", min: 0, max: 100,
          grid: {drawOnChartArea: false}, ticks: {callback: percentTick}
        }
      }
    };
  }

  function categoryOptions(canvas, data) {
    // Horizontal bars: long category names stay readable on a phone. The box grows with
    // the number of categories so that bars keep their thickness.
    var box = canvas.parentElement;
    if (box) {
      box.style.height = Math.max(180, data.labels.length * 34 + 70) + "px";
    }
    return {
      indexAxis: "y",
      scales: {
        count: {type: "linear", position: "bottom", beginAtZero: true, ticks: {precision: 0}},
        y: {ticks: {autoSkip: false}}
      }
    };
  }

  function draw(canvas) {
    var data = readData(canvas);
    if (!data) {
      return;
    }
    var kind = canvas.getAttribute("data-chart-kind");
    var specific = kind === "category" ? categoryOptions(canvas, data) : trendOptions();
    var options = {
      responsive: true,
      maintainAspectRatio: false,
      interaction: {mode: "index", intersect: false},
      plugins: {legend: {position: "bottom"}},
      indexAxis: specific.indexAxis || "x",
      scales: specific.scales
    };
    if (reduceMotion) {
      options.animation = false;
    }
    new window.Chart(canvas, {
      type: "bar",
      data: {
        labels: data.labels,
        datasets: data.datasets.map(function (series) {
          return dataset(series, options.indexAxis);
        })
      },
      options: options
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
