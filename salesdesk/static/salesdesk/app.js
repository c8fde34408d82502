/* Salesdesk's own small script: the service worker that makes it installable and shows the
 * offline page, and a message when an htmx request cannot reach the server. */
if ("serviceWorker" in navigator) {
  window.addEventListener("load", () => {
    navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch(() => undefined);
  });
}

document.addEventListener("htmx:sendError", () => {
  const messages = document.getElementById("messages");
  if (!messages || messages.querySelector("[data-offline]")) {
    return;
  }
  const alert = document.createElement("div");
  alert.className = "alert alert-warning";
  alert.setAttribute("role", "alert");
  alert.dataset.offline = "";
  alert.textContent = "The server cannot be reached: you may be offline. Nothing was saved; try again when you are back online.";
  messages.append(alert);
});
