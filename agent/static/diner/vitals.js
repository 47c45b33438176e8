// What this phone measured of the visit (real-user monitoring), sent in one small beacon each time
// the page is hidden: Largest Contentful Paint, Interaction to Next Paint, Cumulative Layout Shift,
// the menu's first paint (app.js marks it) and each order from send to confirmed (cart-view.js
// measures it). Numbers only: no table, no token. Nothing is sent offline, and nothing here may ever
// disturb the page (the agent keeps the numbers as histograms: agent/web/diner/vitals_api.py).
const page = new Map();   // lcp, inp, cls, menu_paint: once per page visit
const orders = [];        // order_confirmed, each
let pageSent = false;
const watching = [];  // [observer, onEntries]: what they hold but have not delivered yet is taken at flush

function watch(type, onEntries, options = {}) {
  try {
    const observer = new PerformanceObserver((list) => onEntries(list.getEntries()));
    observer.observe({ type, buffered: true, ...options });
    watching.push([observer, onEntries]);
  } catch { /* a browser without this entry type measures less */ }
}

function flush() {
  // an observer's callback comes in a task of its own, which a busy page may not have run yet
  // (an order confirmed just before the diner switched apps): take those entries now
  for (const [observer, onEntries] of watching) onEntries(observer.takeRecords());
  const vitals = (pageSent ? [] : [...page].map(([name, value]) => ({ name, value })))
    .concat(orders.splice(0, 3).map((value) => ({ name: "order_confirmed", value })));
  if (!vitals.length || !navigator.onLine || !navigator.sendBeacon) return;
  const body = new Blob([JSON.stringify({ vitals: vitals.map((v) => ({ ...v, value: Math.round(v.value * 1000) / 1000 })) })],
    { type: "application/json" });
  try {
    if (navigator.sendBeacon("/api/v1/vitals", body)) pageSent = pageSent || page.size > 0;
  } catch { /* dropped: a beacon is never worth an error */ }
}

export function startVitals() {
  watch("largest-contentful-paint", (entries) => { const last = entries.at(-1); if (last) page.set("lcp", last.startTime); });
  let shift = 0;
  watch("layout-shift", (entries) => {
    for (const e of entries) if (!e.hadRecentInput) shift += e.value;
    page.set("cls", shift);
  });
  let slowest = 0;
  watch("event", (entries) => {
    for (const e of entries) if (e.interactionId) slowest = Math.max(slowest, e.duration);
    if (slowest) page.set("inp", slowest);
  }, { durationThreshold: 16 });
  watch("mark", (entries) => {
    for (const e of entries) if (e.name === "menu-paint" && !page.has("menu_paint")) page.set("menu_paint", e.startTime);
  });
  watch("measure", (entries) => {
    for (const e of entries) if (e.name === "order-confirmed") orders.push(e.duration);
  });
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "hidden") flush(); });
  addEventListener("pagehide", flush);
}
