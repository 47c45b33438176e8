// Tableside diner app, second part: the cart, the screens after ordering (your orders, bill), the
// live stream, the table's visit (a new party starts fresh) and the service worker.
import { $, announce } from "./dom.js";
import { t, lang } from "./i18n.js";
import { call, tableUrl, token } from "./api.js";
import { renderMenu, apply } from "./menu-view.js";
import { initCart, renderBar, renderCart, sendOrder } from "./cart-view.js";
import { loadOrders, orderEvent, requestEvent, renderOrders, resetOrders, askStaff } from "./orders-view.js";
import { loadBill, billEvent, resetBill, setHubOnline } from "./bill-view.js";
import { connect } from "./live.js";
import { startVitals } from "./vitals.js";
import * as cart from "./cart.js";

const SESSION = `tableside.session.${token}`;

function route() {
  const view = ["#orders", "#bill"].includes(location.hash) ? location.hash.slice(1) : "menu";
  for (const v of ["menu", "orders", "bill"]) {
    $(`view-${v}`).hidden = v !== view;
    const tab = $(`tab-${v}`);
    v === view ? tab.setAttribute("aria-current", "page") : tab.removeAttribute("aria-current");
  }
  if (view !== "menu") refresh();
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

async function loadTable() {
  const info = await call(tableUrl());
  $("table-name").textContent = info.table.name;
  setHubOnline(info.hub_online);
  seenSession(info.session?.id ?? null);
}

/** The party's visit ended (bill settled, table closed): forget everything of it on this phone. */
function seenSession(id) {
  const before = localStorage.getItem(SESSION);
  if (before && before !== id) freshTable();
  if (id) localStorage.setItem(SESSION, id); else localStorage.removeItem(SESSION);
}

function freshTable() {
  localStorage.removeItem(SESSION);
  cart.clear();
  resetOrders();
  resetBill();
  announce("notice", t("closed"));
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
  renderBar(); renderOrders();
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
    hello: (h) => { seenSession(h.session_id); refresh(); },
    refresh, connected,
    order: news(orderEvent),
    bill: news(billEvent),
    request: news(requestEvent),
    menu: () => showMenu(lang).then(() => { renderBar(); if ($("cart").open) renderCart(); }).catch(() => {}),
    session: (s) => { if (s.closed) freshTable(); refresh(); },
  });
  // the worker only helps the next visit: it must not slow this one
  if ("serviceWorker" in navigator) {
    const register = () => navigator.serviceWorker.register("/t/sw.js", { scope: "/t/" }).catch(() => {});
    document.readyState === "complete" ? register() : addEventListener("load", register);
  }
}
