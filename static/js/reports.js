// Draws each report chart from the table it stands beside (the table is the figure; this is only
// the picture of it). <canvas data-chart data-table="#id" data-chart-type="bar|line">; the table's
// columns are the series (data-series="rows": its rows are), data-columns="1,2" picks columns.
(function () {
  "use strict";

  function cells(row) {
    return Array.from(row.children).map(function (cell) { return cell.textContent.trim(); });
  }

  function draw(canvas) {
    var table = document.querySelector(canvas.dataset.table);
    if (!table || typeof Chart === "undefined") return;
    var header = cells(table.tHead.rows[0]);
    var rows = Array.from(table.tBodies[0].rows).filter(function (row) { return row.cells.length > 1; }).map(cells);
    var labels, datasets;
    if (canvas.dataset.series === "rows") {
      labels = header.slice(1);
      datasets = rows.map(function (row) {
        return { label: row[0], data: row.slice(1).map(Number) };
      });
    } else {
      var picked = canvas.dataset.columns
        ? canvas.dataset.columns.split(",").map(Number)
        : header.map(function (_, index) { return index; }).slice(1);
      labels = rows.map(function (row) { return row[0]; });
      datasets = picked.map(function (column) {
        return { label: header[column], data: rows.map(function (row) { return Number(row[column]) || 0; }) };
      });
    }
    var stacked = canvas.hasAttribute("data-stacked");
    new Chart(canvas, {
      type: canvas.dataset.chartType || "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        animation: false,
        maintainAspectRatio: false,
        scales: { x: { stacked: stacked }, y: { stacked: stacked, beginAtZero: true } },
      },
    });
  }

  document.querySelectorAll("canvas[data-chart]").forEach(draw);
})();
