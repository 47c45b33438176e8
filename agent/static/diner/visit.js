// Tableside diner app, second part: the cart, the screens after ordering (your orders, bill), the
// live stream, the table's visit (a new party starts fresh) and the service worker.
import { $, announce } from "./dom.js";
import { t, lang } from "./i18n.js";
import { call, tableUrl, token } from "./api.js";
import { renderMenu, apply } from "./menu-view.js";
import { initCart, renderBar, renderCart, sendOrder } from "./cart-view.js";
import { loadOrders, orderEvent, requestEvent, renderOrders, resetOrders, askStaff } from "./orders-view.js";
import { loadBill, billEvent, resetBill, setHubOnline } from "./bill-view.js";
import { connect, reconnect } from "./live.js";
import { startVitals } from "./vitals.js";
import { showTab } from "./tabs.js";
import { visitIs, showEnded, hasEnded, relabelEnd } from "./visit-end.js";
import * as cart from "./cart.js";

const SESSION = `tableside.session.${token}`;

function route() {
  if (showTab() !== "menu") refresh();
}

/** Reload what the stream may have missed: orders, bill, and whether the visit changed. */
// A reload whose answers may predate a live event that came meanwhile runs again, so a stale
// answer never undoes newer news (e.g. "ready" arriving while the page reloads after waking).
let reloading = null;
let stale = false;

function refresh() {
  if (reloading) { stale = true; return reloading; }
  reloading = (async () => {
    do {
      stale = false;
      await Promise.all([loadOrders(), loadBill(), loadTable()]).catch(() => {});
    } while (stale);
  })().finally(() => { reloading = null; });
  return reloading;
}

/** Wrap a live-event handler: apply it now, and have a reload under way fetch again. */
const news = (handler) => (data) => { if (reloading) stale = true; handler(data); };

let following;  // the visit the live stream follows (its hello); undefined before the first
let shown = null;  // the visit the table API last showed this phone

/** News of a visit this phone was not shown yet (someone else at the table started it): ask the
 * API, which gives the phone the visit's key while it is the table's current one. */
const ofVisit = (visitOf, handler) => news((data) => { if (visitOf(data) !== shown) refresh(); handler(data); });

async function loadTable() {
  const info = await call(tableUrl());
  $("table-name").textContent = info.table.name;
  const id = info.session?.id ?? null;
  shown = id;
  seenSession(id, !!info.ended);
  visitIs(info.session, info.ended);
  setHubOnline(info.hub_online);  // and the bill drawn again, with the receipt link once paid
  // the stream opened before this phone had its visit's key (its first load, or its first order):
  // open it again so that it follows this visit, also once the bill is paid
  if (following !== undefined && following !== id && !info.ended) reconnect();
}

/** The visit this phone shows changed: nothing of another visit stays on screen. */
function seenSession(id, ended) {
  const before = localStorage.getItem(SESSION);
  if (before && before !== id) {
    freshTable(!ended);
    if (reloading) stale = true;  // orders or bill of the new visit may have come in just before: again
  }
  if (id) localStorage.setItem(SESSION, id); else localStorage.removeItem(SESSION);
}

function freshTable(sayWelcome) {
  localStorage.removeItem(SESSION);
  cart.clear();
  resetOrders();
  resetBill();
  if (sayWelcome) announce("notice", t("closed"));
}

/** The party's visit is over (all served and a while later, or staff closed the table). */
function visitEnded() {
  refresh();  // the table API says so too, with the receipt; until it answers, say thank you now
  if (!hasEnded()) showEnded(null);
}

let liveTimer = null;
function connected(ok) {
  clearTimeout(liveTimer);
  if (ok && $("notice").textContent === t("offlineMenu")) {  // back online: the saved menu gives way
    $("notice").textContent = "";
    showMenuAgain();
  }
  if (ok) $("live-state").textContent = "";
  else liveTimer = setTimeout(() => { $("live-state").textContent = t("live"); }, 2500);
}

/** The language changed: say everything again in it. */
export function relabel() {
  renderBar(); renderOrders(); relabelEnd();
  if ($("cart").open) renderCart();
  loadBill().catch(() => {});
}

let showMenuAgain = () => {};

export function start(showMenu) {
  showMenuAgain = () => showMenu(lang).then(renderBar).catch(() => {});
  startVitals();
  initCart(() => { location.hash = "#orders"; refresh(); });
  renderBar();
  $("send").addEventListener("click", sendOrder);
  $("cart-close").addEventListener("click", () => $("cart").close());
  $("req-waiter").addEventListener("click", () => askStaff("waiter"));
  $("req-bill").addEventListener("click", () => askStaff("bill"));
  document.addEventListener("menu-changed", () => { renderMenu(); apply(); renderBar(); });
  addEventListener("hashchange", route);
  route();
  connect({
    hello: (h) => { following = h.session_id; refresh(); },
    refresh, connected,
    order: ofVisit((o) => o.session_id, orderEvent),
    bill: ofVisit((b) => b.id, billEvent),
    request: news(requestEvent),
    menu: () => showMenu(lang).then(() => { renderBar(); if ($("cart").open) renderCart(); }).catch(() => {}),
    session: (s) => { if (s.closed) visitEnded(); else refresh(); },
  });
  // the worker only helps the next visit: it must not slow this one
  if ("serviceWorker" in navigator) {
    const register = () => navigator.serviceWorker.register("/t/sw.js", { scope: "/t/" }).catch(() => {});
    document.readyState === "complete" ? register() : addEventListener("load", register);
  }
}
