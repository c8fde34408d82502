// The forecast page's charts: each period by method with the goal, and past months' forecasts
// against what was won. The tables next to them hold the same figures.
(function () {
  "use strict";
  const source = document.getElementById("forecast-chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const colours = {
    committed: "#198754",
    weighted: "#0d6efd",
    best_case: "#adb5bd",
    commit: "#fd7e14",
    historical: "#6f42c1",
    goal: "#212529",
    actual: "#198754",
  };
  const numbers = (values) => values.map((value) => (value === null ? null : Number(value)));
  const common = {
    maintainAspectRatio: false,
    responsive: true,
    scales: { y: { beginAtZero: true } },
    plugins: { legend: { position: "bottom" } },
  };

  const forecastCanvas = document.getElementById("forecast-chart");
  if (forecastCanvas) {
    const datasets = Object.entries(data.series).map(([method, series]) => ({
      type: "bar",
      label: series.label,
      data: numbers(series.data),
      backgroundColor: colours[method],
    }));
    if (data.goal.some((value) => value !== null)) {
      datasets.push({
        type: "line",
        label: "Goal",
        data: numbers(data.goal),
        borderColor: colours.goal,
        backgroundColor: colours.goal,
        showLine: false,
        pointStyle: "line",
        pointRadius: 14,
        pointBorderWidth: 3,
      });
    }
    new Chart(forecastCanvas, { data: { labels: data.labels, datasets: datasets }, options: common });
  }

  const historyCanvas = document.getElementById("forecast-history-chart");
  if (historyCanvas && data.history) {
    const datasets = [
      {
        type: "bar",
        label: "Won",
        data: numbers(data.history.actual),
        backgroundColor: colours.actual,
      },
    ];
    Object.entries(data.history.series).forEach(([method, series]) => {
      datasets.push({
        type: "line",
        label: series.label,
        data: numbers(series.data),
        borderColor: colours[method],
        backgroundColor: colours[method],
        spanGaps: true,
      });
    });
    new Chart(historyCanvas, { data: { labels: data.history.labels, datasets: datasets }, options: common });
  }
})();
