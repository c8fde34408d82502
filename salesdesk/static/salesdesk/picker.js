/* Lists of matches under a text box: the global search (search.js) and the pickers of forms.
 *
 * Salesdesk.typeahead(input, list, {items, area, close}) gives such a list its keyboard:
 * ArrowDown goes from the box into the list, the arrows, Home and End move through `items`,
 * typing goes back to the box, Escape or a click outside `area` closes. Enter follows the
 * focused link or presses the focused option, as links and buttons do.
 *
 * Pickers (includes/picker.html, salesdesk/core/widgets.py): htmx asks for the options
 * matching what was typed; choosing one fills the hidden input, or adds a chip with a remove
 * button to a multiple picker. Enter in the box chooses the first match. What the box shows
 * is what the form sends: leaving it with text that matches no choice brings back the chosen
 * name, emptying it chooses nothing. An opened list is scrolled into sight.
 */
(() => {
  const Salesdesk = (window.Salesdesk = window.Salesdesk || {});

  Salesdesk.typeahead = (input, list, { items, area, close }) => {
    const all = () => Array.from(list.querySelectorAll(items));
    const move = (from, step) => {
      const found = all();
      if (!found.length) {
        return false;
      }
      let next = found.indexOf(from) + step;
      if (step === "first") {
        next = 0;
      } else if (step === "last") {
        next = found.length - 1;
      }
      if (next < 0) {
        input.focus();
      } else {
        found[Math.min(next, found.length - 1)].focus();
      }
      return true;
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "ArrowDown" && move(null, 1)) {
        event.preventDefault();
      } else if (event.key === "Escape") {
        close();
      }
    });
    const steps = { ArrowDown: 1, ArrowUp: -1, Home: "first", End: "last" };
    list.addEventListener("keydown", (event) => {
      if (event.key in steps) {
        event.preventDefault();
        move(document.activeElement, steps[event.key]);
      } else if (event.key === "Escape") {
        event.preventDefault();
        close();
        input.focus();
      } else if (event.key.length === 1 && event.key !== " " && !event.ctrlKey && !event.metaKey) {
        input.focus(); // the key lands in the box: typing goes on
      }
    });
    document.addEventListener("click", (event) => {
      if (!area.contains(event.target)) {
        close();
      }
    });
  };

  const OPTION = '[role="option"]:not([aria-disabled="true"])';

  const picker = (root) => {
    if ("pickerReady" in root.dataset) {
      return;
    }
    root.dataset.pickerReady = "";
    const input = root.querySelector("[data-picker-input]");
    const list = root.querySelector('[role="listbox"]');
    const hidden = root.querySelector("[data-picker-value]");
    const chips = root.querySelector("[data-picker-chips]");
    const chipTemplate = root.querySelector("template[data-picker-chip]");
    let chosenLabel = input.value;

    const close = () => {
      list.replaceChildren();
      list.hidden = true;
      input.setAttribute("aria-expanded", "false");
    };
    const addChip = (value, label) => {
      if (Array.from(chips.querySelectorAll("input")).some((chip) => chip.value === value)) {
        return;
      }
      const chip = chipTemplate.content.firstElementChild.cloneNode(true);
      chip.querySelector("[data-picker-chip-label]").textContent = label;
      chip.querySelector("input").value = value;
      chip.querySelector("[data-picker-remove]").setAttribute("aria-label", `Remove ${label}`);
      chips.append(chip);
    };
    const choose = (option) => {
      const { value, label } = option.dataset;
      htmx.trigger(input, "htmx:abort"); // an answer still on its way must not reopen the list
      if (chips) {
        addChip(value, label);
        input.value = "";
      } else {
        hidden.value = value;
        input.value = label;
        chosenLabel = label;
      }
      close();
      input.focus();
      hidden?.dispatchEvent(new Event("change", { bubbles: true }));
    };
    const settle = () => {
      if (chips) {
        input.value = "";
      } else if (!input.value.trim()) {
        hidden.value = "";
        chosenLabel = "";
        input.value = "";
      } else {
        input.value = chosenLabel;
      }
    };

    Salesdesk.typeahead(input, list, { items: OPTION, area: root, close });
    root.addEventListener("htmx:configRequest", (event) => {
      event.detail.parameters.q = input.value;
    });
    root.addEventListener("htmx:afterSwap", () => {
      const open = list.children.length > 0 && document.activeElement === input;
      list.hidden = !open;
      input.setAttribute("aria-expanded", String(open));
      if (open) {
        // A box near the bottom of a phone's screen opens its list below the edge: scroll the
        // least that shows the whole list (nothing moves when it is in sight already).
        list.scrollIntoView({ block: "nearest" });
      } else {
        list.replaceChildren();
      }
    });
    input.addEventListener("input", () => {
      if (!input.value.trim()) {
        close();
      }
    });
    input.addEventListener("keydown", (event) => {
      const first = list.hidden ? null : list.querySelector(OPTION);
      if (event.key === "Enter" && first) {
        event.preventDefault(); // choose, do not submit the form
        choose(first);
      }
    });
    list.addEventListener("mousedown", (event) => event.preventDefault()); // keep the focus
    list.addEventListener("click", (event) => {
      const option = event.target.closest(OPTION);
      if (option) {
        choose(option);
      }
    });
    chips?.addEventListener("click", (event) => {
      const remove = event.target.closest("[data-picker-remove]");
      if (remove) {
        remove.closest("li").remove();
        input.focus();
      }
    });
    root.addEventListener("focusout", (event) => {
      if (!root.contains(event.relatedTarget)) {
        settle();
        close();
      }
    });
    input.form?.addEventListener("submit", settle);
  };

  const start = (scope) => {
    if (scope.matches?.("[data-picker]")) {
      picker(scope);
    }
    scope.querySelectorAll?.("[data-picker]").forEach(picker);
  };
  start(document);
  document.addEventListener("htmx:load", (event) => start(event.detail.elt));
})();
