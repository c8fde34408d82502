/* Salesdesk's own small script: the service worker that makes it installable and shows the
 * offline page, and a message in #messages when an htmx request fails: the server cannot be
 * reached, or it refused (403), could not find (404) or failed (5xx). htmx swaps nothing for
 * those (the htmx-config of base.html swaps 2xx and the 422 of a form with errors), so without
 * the message a click would seem to do nothing. */
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
  });
}

(() => {
  const FALLBACK = {
    403: "This was refused: you may not do this. Nothing was changed. If you were signed out, reload the page.",
    404: "This record no longer exists, or you cannot see it. Reload the page.",
    500: "Something went wrong on our side. Nothing was saved; try again in a moment.",
  };
  const MAX_LENGTH = 300;

  // The server's own words: a short text answer, a JSON {detail}, or an alert in an HTML page.
  const said = (xhr) => {
    const type = xhr.getResponseHeader("Content-Type") || "";
    const text = xhr.responseText || "";
    let found = "";
    if (type.startsWith("text/plain")) {
      found = text;
    } else if (type.startsWith("application/json")) {
      try {
        found = String(JSON.parse(text).detail || "");
      } catch (error) {
        found = "";
      }
    } else if (type.startsWith("text/html")) {
      const html = new DOMParser().parseFromString(text, "text/html");
      const alert = html.querySelector("#messages [role='alert'], .alert-danger, .invalid-feedback");
      if (alert) {
        found = alert.textContent;
      } else if (!html.body.querySelector("*")) {
        found = html.body.textContent; // a bare sentence such as "You cannot change this task."
      }
    }
    found = found.replace(/\s+/g, " ").trim();
    return found.length <= MAX_LENGTH ? found : "";
  };

  // One message per kind (`key`): a second failure replaces the first rather than piling up.
  const show = (text, { key, tone }) => {
    const messages = document.getElementById("messages");
    if (!messages) {
      return;
    }
    messages.querySelector(`[data-failure="${key}"]`)?.remove();
    const alert = document.createElement("div");
    alert.className = `alert alert-${tone} alert-dismissible fade show`;
    alert.setAttribute("role", "alert");
    alert.dataset.failure = key;
    alert.textContent = text;
    const close = document.createElement("button");
    close.type = "button";
    close.className = "btn-close";
    close.dataset.bsDismiss = "alert";
    close.setAttribute("aria-label", "Close");
    alert.append(close);
    messages.append(alert);
    // Bring it into sight below the sticky navigation bar when the page is scrolled.
    const nav = document.querySelector("body > nav");
    const top = alert.getBoundingClientRect().top - (nav ? nav.offsetHeight : 0);
    if (top < 0 || top > window.innerHeight) {
      window.scrollBy({ top: top - 8 });
    }
  };

  document.addEventListener("htmx:sendError", () => {
    show(
      "The server cannot be reached: you may be offline. Nothing was saved; try again when you are back online.",
      { key: "offline", tone: "warning" },
    );
  });

  document.addEventListener("htmx:responseError", (event) => {
    const { xhr } = event.detail;
    const status = xhr.status;
    const fallback = FALLBACK[status] || (status >= 500 ? FALLBACK[500] : `The request was refused (${status}). Reload the page and try again.`);
    show(said(xhr) || fallback, { key: "response", tone: "danger" });
  });
})();

/* A form marked data-submit-once is sent once: a second click while the next page loads does
 * nothing (sending an e-mail twice cannot be taken back). Coming back to the page (the back
 * button) allows it again. */
(() => {
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-submit-once")) {
      return;
    }
    if (form.dataset.submitted) {
      event.preventDefault();
      return;
    }
    form.dataset.submitted = "true";
    form.setAttribute("aria-busy", "true");
  });
  window.addEventListener("pageshow", () => {
    document.querySelectorAll("form[data-submit-once]").forEach((form) => {
      delete form.dataset.submitted;
      form.removeAttribute("aria-busy");
    });
  });
})();
