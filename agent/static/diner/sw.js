// Tableside diner service worker, served at /t/sw.js so that it controls the table pages (/t/...).
// It keeps the app shell and the last menu, so a reload on flaky Wi-Fi still shows the menu.
// Orders, the bill, payments and the live stream always go to the network and are never stored.
const CACHE = "tableside-diner-v3";
const SLOW_MS = 4000;  // flaky Wi-Fi: after this long, the saved copy beats waiting
const TABLE_PAGE = /^\/t\/[^/]+$/;
const SHELL = ["app.js", "visit.js", "dom.js", "i18n.js", "money.js", "menu.js", "api.js", "cart.js", "menu-view.js",
  "item-sheet.js", "cart-view.js", "orders-view.js", "bill-view.js", "live.js", "vitals.js", "tabs.js", "visit-end.js",
  "diner.css", "icon.svg"]
  .map((f) => `/static/diner/${f}`);

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(CACHE).then((c) => c.addAll(SHELL)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim())
    .then(keepOpenTables));
});

/** The table page this phone has open was loaded before the worker existed: keep it now, so even a
 * first visit reloads offline (the menu rides inside the page). */
async function keepOpenTables() {
  const cache = await caches.open(CACHE);
  for (const client of await self.clients.matchAll({ type: "window" })) {
    const url = new URL(client.url);
    if (TABLE_PAGE.test(url.pathname)) await cache.add(url.pathname).catch(() => {});
  }
}

self.addEventListener("fetch", (event) => {
  const req = event.request;
  if (req.method !== "GET") return;
  const url = new URL(req.url);
  if (url.origin !== location.origin) return;
  if (url.pathname === "/api/v1/menu") event.respondWith(networkFirst(req, true));
  else if (req.mode === "navigate" && TABLE_PAGE.test(url.pathname)) event.respondWith(networkFirst(req, false));
  else if (url.pathname.startsWith("/static/diner/") || url.pathname.startsWith("/static/photos/")) {
    event.respondWith(staleWhileRevalidate(event, req));
  }
  // everything else (orders, bill, shares, events, pay) is not touched: straight to the network
});

/** The network's answer, kept for later; the kept one when the network fails or is too slow. */
async function networkFirst(req, mark) {
  const cache = await caches.open(CACHE);
  const net = fetch(req).then((res) => { if (res.ok) cache.put(req, res.clone()); return res; });
  try {
    return await Promise.race([net, new Promise((_, slow) => setTimeout(() => slow(new Error("slow")), SLOW_MS))]);
  } catch {
    const hit = await cache.match(req, { ignoreVary: true });  // kept by keepOpenTables with other headers
    if (!hit) return net;  // nothing saved: wait for the network after all
    const headers = new Headers(hit.headers);  // tell the page this copy is a saved one
    if (mark) {
      headers.set("X-Tableside-Offline", "1");
      return new Response(hit.body, { status: hit.status, headers });
    }
    const page = (await hit.text()).replace("<html ", '<html data-offline="1" ');
    headers.delete("Content-Length");
    return new Response(page, { status: hit.status, headers });
  }
}

async function staleWhileRevalidate(event, req) {
  const cache = await caches.open(CACHE);
  const hit = await cache.match(req);
  const fresh = fetch(req).then((res) => { if (res.ok) cache.put(req, res.clone()); return res; });
  if (hit) { event.waitUntil(fresh.catch(() => {})); return hit; }
  return fresh;
}
