/* The global search box: htmx fills #search-results; the keyboard comes from picker.js. */
(() => {
  const input = document.getElementById("global-search");
  const results = document.getElementById("search-results");
  if (!input || !results || !window.Salesdesk) {
    return;
  }
  window.Salesdesk.typeahead(input, results, {
    items: "a",
    area: input.form,
    close: () => results.replaceChildren(),
  });
})();
