// The revenue dashboard's charts. Clicking a bar or point opens the deals behind it.
(function () {
  "use strict";
  const source = document.getElementById("revenue-chart-data");
  if (!source || typeof Chart === "undefined") {
    return;
  }
  const data = JSON.parse(source.textContent);
  const months = data.months;
  const labels = months.map((month) => month.label);
  const colours = { won: "#198754", goal: "#212529", created: "#0d6efd", lost: "#dc3545", funnel: "#6f42c1" };

  function opener(urlOf) {
    // Chart.js onClick: go to the drill-down of the element under the pointer.
    return function (event, elements, chart) {
      if (!elements.length) {
        return;
      }
      const element = elements[0];
      const url = urlOf(element.index, chart.data.datasets[element.datasetIndex]);
      if (url) {
        window.location.href = url;
      }
    };
  }

  function pointer(event, elements) {
    event.native.target.style.cursor = elements.length ? "pointer" : "default";
  }

  const common = { maintainAspectRatio: false, responsive: true, onHover: pointer };

  const wonCanvas = document.getElementById("revenue-won-chart");
  if (wonCanvas) {
    new Chart(wonCanvas, {
      data: {
        labels: labels,
        datasets: [
          {
            type: "bar",
            label: "Won revenue",
            key: "won",
            data: months.map((month) => Number(month.won)),
            backgroundColor: months.map((month) => (month.in_period ? colours.won : "#a3cfbb")),
          },
          {
            type: "line",
            label: "Goal",
            key: "won",
            data: months.map((month) => (month.goal === null ? null : Number(month.goal))),
            borderColor: colours.goal,
            backgroundColor: colours.goal,
            spanGaps: false,
          },
        ],
      },
      options: Object.assign({}, common, {
        onClick: opener((index) => months[index].urls.won),
        scales: { y: { beginAtZero: true } },
        plugins: { legend: { position: "bottom" } },
      }),
    });
  }

  const flowCanvas = document.getElementById("revenue-flow-chart");
  if (flowCanvas) {
    new Chart(flowCanvas, {
      type: "bar",
      data: {
        labels: labels,
        datasets: [
          { label: "New", key: "created", data: months.map((m) => m.created_count), backgroundColor: colours.created },
          { label: "Won", key: "won", data: months.map((m) => m.won_count), backgroundColor: colours.won },
          { label: "Lost", key: "lost", data: months.map((m) => m.lost_count), backgroundColor: colours.lost },
        ],
      },
      options: Object.assign({}, common, {
        onClick: opener((index, dataset) => months[index].urls[dataset.key]),
        scales: { y: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { position: "bottom" } },
      }),
    });
  }

  const funnelCanvas = document.getElementById("revenue-funnel-chart");
  if (funnelCanvas && data.funnel.length) {
    new Chart(funnelCanvas, {
      type: "bar",
      data: {
        labels: data.funnel.map((step) => step.label),
        datasets: [{ label: "Deals", data: data.funnel.map((step) => step.count), backgroundColor: colours.funnel }],
      },
      options: Object.assign({}, common, {
        indexAxis: "y",
        onClick: opener((index) => data.funnel[index].url),
        scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
        plugins: { legend: { display: false } },
      }),
    });
  }
})();
