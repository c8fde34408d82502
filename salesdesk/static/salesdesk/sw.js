/* Salesdesk's service worker, served at /sw.js so that it controls every page.
 *
 * The /sw.js view puts `self.SALESDESK = {version, offline, precache}` in front of this file.
 * Pages: network first; when the network fails, the cached offline page. Pages are never
 * cached (they hold private data). The precached static files: from the cache at once, then
 * refreshed in the background. API calls, POSTs and anything else pass straight through.
 */
const { version, offline, precache } = self.SALESDESK;
const CACHE = `salesdesk-${version}`;

self.addEventListener("install", (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      // Without cookies: the offline page must not show whoever was signed in.
      .then((cache) => cache.addAll(precache.map((url) => new Request(url, { credentials: "omit" }))))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) =>
        Promise.all(
          keys.filter((key) => key.startsWith("salesdesk-") && key !== CACHE).map((key) => caches.delete(key)),
        ),
      )
      .then(() => self.clients.claim()),
  );
});

async function fromCacheThenRefresh(event) {
  const cache = await caches.open(CACHE);
  const cached = await cache.match(event.request);
  const refresh = fetch(event.request).then((response) => {
    if (response.ok) {
      cache.put(event.request, response.clone());
    }
    return response;
  });
  if (cached) {
    event.waitUntil(refresh.catch(() => undefined));
    return cached;
  }
  return refresh;
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") {
    return;
  }
  const url = new URL(request.url);
  if (url.origin !== self.location.origin || url.pathname.startsWith("/api/")) {
    return;
  }
  if (request.mode === "navigate") {
    event.respondWith(
      fetch(request).catch(async () => {
        const cache = await caches.open(CACHE);
        return (await cache.match(offline)) || Response.error();
      }),
    );
    return;
  }
  if (precache.includes(url.pathname)) {
    event.respondWith(fromCacheThenRefresh(event));
  }
});
