/* The global search box: arrow keys move from the box through the results and back,
 * Escape or a click elsewhere closes the results. htmx fills #search-results. */
(() => {
  const input = document.getElementById("global-search");
  const results = document.getElementById("search-results");
  if (!input || !results) {
    return;
  }
  const links = () => Array.from(results.querySelectorAll("a"));
  const close = () => {
    results.replaceChildren();
  };
  const move = (from, step) => {
    const items = links();
    if (!items.length) {
      return;
    }
    const next = items.indexOf(from) + step;
    if (next < 0) {
      input.focus();
    } else {
      items[Math.min(next, items.length - 1)].focus();
    }
  };
  input.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown") {
      event.preventDefault();
      move(null, 1);
    } else if (event.key === "Escape") {
      close();
    }
  });
  results.addEventListener("keydown", (event) => {
    if (event.key === "ArrowDown" || event.key === "ArrowUp") {
      event.preventDefault();
      move(document.activeElement, event.key === "ArrowDown" ? 1 : -1);
    } else if (event.key === "Escape") {
      close();
      input.focus();
    }
  });
  document.addEventListener("click", (event) => {
    if (!input.form.contains(event.target)) {
      close();
    }
  });
})();
