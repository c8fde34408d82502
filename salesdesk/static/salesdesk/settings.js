/* Settings and account pages: stage order by drag (SortableJS + htmx), copy-to-clipboard. */
(function () {
  "use strict";

  // Each list marked .js-sortable becomes draggable by its handle; after a drop its form
  // is told "stages-reordered", and htmx posts the stage ids in their new order.
  function initSortables(root) {
    if (typeof Sortable === "undefined") return;
    root.querySelectorAll(".js-sortable").forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      Sortable.create(list, {
        handle: list.dataset.handle || null,
        animation: 150,
        ghostClass: "sortable-ghost",
        onEnd: function (event) {
          if (event.oldIndex === event.newIndex) return;
          var form = list.closest("form");
          if (form) htmx.trigger(form, "stages-reordered");
        },
      });
    });
  }

  // After an arrow button re-renders the list, keep keyboard focus on the same button,
  // or on its sibling when it became disabled at the top or bottom.
  var focusedId = null;
  document.addEventListener("htmx:beforeSwap", function () {
    var active = document.activeElement;
    focusedId = active && active.id ? active.id : null;
  });
  document.addEventListener("htmx:afterSettle", function () {
    if (!focusedId) return;
    var again = document.getElementById(focusedId);
    if (again && again.disabled) {
      var other = focusedId.endsWith("-up") ? focusedId.replace(/-up$/, "-down") : focusedId.replace(/-down$/, "-up");
      again = document.getElementById(other);
    }
    if (again) again.focus();
    focusedId = null;
  });

  if (typeof htmx !== "undefined") {
    htmx.onLoad(initSortables);
  } else {
    document.addEventListener("DOMContentLoaded", function () { initSortables(document); });
  }

  // On a phone the section menu scrolls sideways: bring the current section into view.
  document.addEventListener("DOMContentLoaded", function () {
    var current = document.querySelector(".settings-nav .active");
    if (current && current.parentElement.parentElement.scrollWidth > current.parentElement.parentElement.clientWidth) {
      current.scrollIntoView({ block: "nearest", inline: "center" });
    }
  });

  // Copy buttons: data-copy-target names the input whose value is copied.
  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy-target]");
    if (!button) return;
    var input = document.getElementById(button.dataset.copyTarget);
    if (!input) return;
    var done = function () {
      var label = button.textContent;
      button.textContent = button.dataset.copiedText || "Copied";
      setTimeout(function () { button.textContent = label; }, 2000);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () { input.select(); });
    } else {
      input.select();
      document.execCommand("copy");
      done();
    }
  });
})();
