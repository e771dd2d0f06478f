/* Charts of the statistics dashboard (ECharts, vendored): yearly trend, comparison of units, a grid of units. */
(function () {
  "use strict";

  function data(el) { return JSON.parse(document.getElementById(el.dataset.source).textContent); }

  function base() {
    return { animation: false, textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
             tooltip: { trigger: "axis" }, grid: { left: 8, right: 16, top: 36, bottom: 8, containLabel: true } };
  }

  var draw = {
    trend: function (d) {
      var o = base();
      o.legend = { top: 0 };
      o.xAxis = { type: "category", data: d.labels };
      o.yAxis = { type: "value" };
      o.series = d.series.map(function (s) { return { name: s.name, type: "line", data: s.data }; });
      return o;
    },
    compare: function (d) {
      var o = base();
      o.legend = { top: 0 };
      o.xAxis = { type: "category", data: d.labels, axisLabel: { rotate: 45, interval: 0 } };
      o.yAxis = { type: "value" };
      o.series = d.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; });
      return o;
    },
    grid: function (d) {
      // A map-like grid: each unit a tile, coloured by its sex ratio at birth (normal 103–107).
      var cols = Math.ceil(Math.sqrt(d.labels.length)) || 1;
      var cells = d.labels.map(function (name, i) {
        return [i % cols, Math.floor(i / cols), d.srb[i] === null ? "-" : d.srb[i], name, d.births[i]];
      });
      return {
        animation: false,
        tooltip: { formatter: function (p) { return p.data[3] + "<br>" + d.srbLabel + ": " + p.data[2]; } },
        grid: { left: 4, right: 4, top: 4, bottom: 48 },
        xAxis: { type: "category", show: false, data: Array.from({ length: cols }, function (_, i) { return i; }) },
        yAxis: { type: "category", show: false, inverse: true,
                 data: Array.from({ length: Math.ceil(d.labels.length / cols) }, function (_, i) { return i; }) },
        visualMap: { min: 95, max: 125, calculable: false, orient: "horizontal", left: "center", bottom: 0,
                     inRange: { color: ["#3a6ea5", "#f2f2f2", "#c0504d"] } },
        series: [{ type: "heatmap", data: cells,
                   label: { show: true, formatter: function (p) { return p.data[3] + "\n" + p.data[2]; } } }]
      };
    }
  };

  function render() {
    if (!window.echarts) { return; }
    document.querySelectorAll("[data-stats-chart]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      el.dataset.rendered = "1";
      var chart = window.echarts.init(el, null, { renderer: "svg" });
      chart.setOption(draw[el.dataset.statsChart](data(el)));
      window.addEventListener("resize", function () { chart.resize(); });
    });
  }

  document.addEventListener("DOMContentLoaded", render);
})();
