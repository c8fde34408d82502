/* The pipeline board: drag cards between stages (SortableJS), onto Won or Lost, or use a
 * card's "Move to…" menu. Every change is a POST the server answers with the fresh card and
 * the changed column headers (out of band, swapped by htmx); a refused change puts the card
 * back and shows why. */
(() => {
  "use strict";
  const board = document.getElementById("board");
  if (!board) {
    return;
  }
  const messages = document.getElementById("messages");
  const modalElement = document.getElementById("lose-modal");
  const modal = bootstrap.Modal.getOrCreateInstance(modalElement);
  const loseForm = document.getElementById("lose-form");
  const loseBody = document.getElementById("lose-form-body");
  const blankLoseForm = loseBody.innerHTML;
  const csrfToken = JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"];
  let losing = null; // {card, origin} while the Lost modal is open

  // The Won/Lost drop zones, and the board's filters so the server recounts what we show.
  const filters = () => ({ board: "1", owner: board.dataset.owner, team: board.dataset.team });

  async function post(url, data) {
    const body = data instanceof FormData ? data : new FormData();
    for (const [name, value] of Object.entries(filters())) {
      body.set(name, value);
    }
    try {
      const response = await fetch(url, {
        method: "POST",
        body,
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken, "HX-Request": "true" },
      });
      return { status: response.status, ok: response.ok, html: await response.text() };
    } catch (error) {
      return { status: 0, ok: false, html: "" };
    }
  }

  function showError(answer) {
    if ([400, 403, 409, 422].includes(answer.status) && answer.html.includes("alert")) {
      messages.innerHTML = answer.html;
    } else if (answer.status === 404) {
      messages.innerHTML = alertHtml("This deal no longer exists, or you cannot see it. Reload the board.");
    } else {
      messages.innerHTML = alertHtml("The change was not saved: the server could not be reached. Try again.");
    }
  }

  function alertHtml(text) {
    const alert = document.createElement("div");
    alert.className = "alert alert-danger";
    alert.setAttribute("role", "alert");
    alert.textContent = text;
    return alert.outerHTML;
  }

  function remember(card) {
    return { list: card.parentElement, next: card.nextElementSibling };
  }

  function putBack(card, origin) {
    if (origin && origin.list) {
      origin.list.insertBefore(card, origin.next && origin.next.parentElement === origin.list ? origin.next : null);
    }
  }

  function applyAnswer(card, answer, focus) {
    const id = card.id;
    htmx.swap(card, answer.html, { swapStyle: "outerHTML" });
    if (focus) {
      const fresh = document.getElementById(id);
      (fresh ? fresh.querySelector("a") : board.querySelector(".board-card a"))?.focus();
    }
  }

  async function move(card, list, origin, focus) {
    const answer = await post(`/deals/${card.dataset.deal}/move/`, formData({ stage: list.dataset.stage }));
    if (answer.ok) {
      applyAnswer(card, answer, focus);
    } else {
      putBack(card, origin);
      showError(answer);
    }
  }

  async function win(card, origin, focus) {
    const answer = await post(`/deals/${card.dataset.deal}/win/`, new FormData());
    if (answer.ok) {
      applyAnswer(card, answer, focus);
    } else {
      putBack(card, origin);
      showError(answer);
    }
  }

  function askLostReason(card, origin) {
    losing = { card, origin };
    loseBody.innerHTML = blankLoseForm;
    modalElement.querySelector("[data-deal-title]").textContent = card.dataset.title;
    modal.show();
  }

  function formData(values) {
    const data = new FormData();
    for (const [name, value] of Object.entries(values)) {
      data.set(name, value);
    }
    return data;
  }

  loseForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!losing) {
      return;
    }
    const { card, origin } = losing;
    const answer = await post(`/deals/${card.dataset.deal}/lose/`, new FormData(loseForm));
    if (answer.ok) {
      losing = null;
      modal.hide();
      applyAnswer(card, answer, false);
    } else if (answer.status === 422) {
      htmx.swap(loseBody, answer.html, { swapStyle: "innerHTML" });
      loseBody.querySelector("[aria-invalid=true]")?.focus();
    } else {
      losing = null;
      modal.hide();
      putBack(card, origin);
      showError(answer);
    }
  });

  modalElement.addEventListener("shown.bs.modal", () => loseBody.querySelector("select")?.focus());
  modalElement.addEventListener("hide.bs.modal", () => {
    if (losing) {
      putBack(losing.card, losing.origin); // cancelled: the deal stays where it was
      losing = null;
    }
  });

  // Dragging. On touch screens a card must be held briefly, so a swipe still scrolls.
  const dragOptions = {
    group: "deals",
    draggable: ".board-card",
    filter: ".board-card-actions",
    preventOnFilter: false,
    sort: false,
    animation: 150,
    delay: 200,
    delayOnTouchOnly: true,
    touchStartThreshold: 5,
    forceFallback: true,
    fallbackOnBody: true,
    ghostClass: "board-card-ghost",
    chosenClass: "board-card-chosen",
    onStart: (event) => {
      event.item.origin = remember(event.item);
      board.classList.add("is-dragging");
    },
    onEnd: () => board.classList.remove("is-dragging"),
  };
  for (const list of board.querySelectorAll(".board-cards")) {
    Sortable.create(list, {
      ...dragOptions,
      onAdd: (event) => move(event.item, event.to, event.item.origin, false),
    });
  }
  for (const list of board.querySelectorAll("[data-drop]")) {
    Sortable.create(list, {
      ...dragOptions,
      group: { name: "deals", pull: false, put: true },
      onAdd: (event) => {
        if (list.dataset.drop === "won") {
          win(event.item, event.item.origin, false);
        } else {
          askLostReason(event.item, event.item.origin);
        }
      },
    });
  }

  // "Move to…": the same moves without dragging (keyboards, small screens).
  board.addEventListener("click", (event) => {
    const button = event.target.closest("[data-move-to]");
    if (!button) {
      return;
    }
    const card = button.closest(".board-card");
    const target = button.dataset.moveTo;
    const origin = remember(card);
    if (target === "won") {
      win(card, origin, true);
    } else if (target === "lost") {
      askLostReason(card, null);
    } else {
      const list = document.getElementById(`stage-cards-${target}`);
      list.prepend(card);
      move(card, list, origin, true);
    }
  });

  // A page of cards can repeat one that was moved into its column meanwhile: keep the first.
  board.addEventListener("htmx:afterSettle", () => {
    const seen = new Set();
    for (const card of board.querySelectorAll(".board-card")) {
      if (seen.has(card.id)) {
        card.remove();
      }
      seen.add(card.id);
    }
  });
})();
