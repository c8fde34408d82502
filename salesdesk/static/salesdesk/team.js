// The team dashboard's chart: each rep's activities in the period, stacked by channel.
(function () {
  "use strict";
  const source = document.getElementById("team-chart-data");
  const canvas = document.getElementById("team-activity-chart");
  if (!source || !canvas || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const colours = ["#0d6efd", "#198754", "#fd7e14", "#6f42c1", "#20c997"];
  data.datasets.forEach((dataset, index) => {
    dataset.backgroundColor = colours[index % colours.length];
  });
  new Chart(canvas, {
    type: "bar",
    data: data,
    options: {
      maintainAspectRatio: false,
      responsive: true,
      scales: {
        x: {
          stacked: true,
          ticks: {
            // Long names are cut short under the bars; the tooltip shows them whole.
            callback: function (value) {
              const label = this.getLabelForValue(value);
              return label.length > 16 ? label.slice(0, 15) + "…" : label;
            },
          },
        },
        y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } },
      },
      plugins: { legend: { position: "bottom" } },
    },
  });
})();
