/* Charts of the pages, drawn with the vendored ECharts from data the page carries in a json_script element. */
(function () {
  "use strict";

  function pyramid(el) {
    var data = JSON.parse(document.getElementById(el.dataset.pyramid).textContent);
    var chart = window.echarts.init(el, null, { renderer: "svg" });
    var abs = function (v) { return Math.abs(v).toLocaleString(); };
    // Symmetric axis, so that the two sides compare at a glance.
    var top = Math.max.apply(null, data.men.concat(data.women, [1]));
    var half = Math.pow(10, Math.floor(Math.log10(top))) / 2;
    top = Math.ceil(top / half) * half;
    chart.setOption({
      animation: false,
      textStyle: { fontFamily: getComputedStyle(document.body).fontFamily },
      color: ["#3a6ea5", "#c0504d"],
      legend: { top: 0, data: [data.menLabel, data.womenLabel] },
      grid: { left: 8, right: 16, top: 32, bottom: 8, containLabel: true },
      tooltip: {
        trigger: "axis", axisPointer: { type: "shadow" },
        valueFormatter: abs
      },
      xAxis: { type: "value", min: -top, max: top, axisLabel: { formatter: abs } },
      yAxis: { type: "category", data: data.labels, axisTick: { show: false } },
      series: [
        { name: data.menLabel, type: "bar", stack: "total", barCategoryGap: "15%",
          data: data.men.map(function (v) { return -v; }) },
        { name: data.womenLabel, type: "bar", stack: "total", data: data.women }
      ]
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }

  function render(root) {
    if (!window.echarts) { return; }
    root.querySelectorAll("[data-pyramid]").forEach(function (el) {
      if (el.dataset.rendered) { return; }
      el.dataset.rendered = "1";
      pyramid(el);
    });
  }

  document.addEventListener("DOMContentLoaded", function () { render(document); });
  document.addEventListener("htmx:afterSettle", function () { render(document); });
})();
