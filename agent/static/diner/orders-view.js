// "Your orders": every round of this visit with its live status, and the two calls to staff.
import { $, el, announce } from "./dom.js";
import { t, locale } from "./i18n.js";
import { money } from "./money.js";
import { call, tableUrl } from "./api.js";

const STEPS = ["received", "preparing", "ready", "served"];
let orders = [];
const requests = new Map();  // kind -> {id, acknowledged}

let events = 0;  // order events seen: a load that raced one may be older than it, so it asks again

export async function loadOrders() {
  const seen = events;
  const fresh = (await call(tableUrl("/orders"))).orders;
  if (seen !== events) return loadOrders();
  orders = fresh;
  renderOrders();
}

const heard = new Map();  // order id -> the status the diner was last told

/** Say each status change once, whether it came by event or by a reload after a sleep. */
function tell() {
  for (const o of orders) {
    const before = heard.get(o.id);
    if (before && before !== o.status) announce("order-live", t("statusNow", o.number, t(o.status)));
    heard.set(o.id, o.status);
  }
}

/** An `order` event: replace or add it, and say its new status out loud. */
export function orderEvent(order) {
  events++;
  const i = orders.findIndex((o) => o.id === order.id);
  if (i >= 0) orders[i] = order; else orders.push(order);
  if (!heard.has(order.id)) heard.set(order.id, "received");  // a new round starts as received
  renderOrders();
}

export function resetOrders() { orders = []; requests.clear(); heard.clear(); renderOrders(); }

export function renderOrders() {
  const list = [...orders].sort((a, b) => b.number - a.number);
  $("orders-title").textContent = t("orders");
  $("orders-list").replaceChildren(...(list.length ? list.map(orderCard) : [el("p", { text: t("noOrders") })]));
  renderRequests();
  tell();
}

function orderCard(o) {
  const at = STEPS.indexOf(o.status);
  const time = new Date(o.created_at).toLocaleTimeString(locale(), { hour: "2-digit", minute: "2-digit" });
  return el("article", { class: "order", "aria-labelledby": `o-${o.id}`, "data-order": o.id },
    el("h3", { id: `o-${o.id}` }, el("span", { text: t("orderN", o.number) }), el("span", { class: "muted small", text: time })),
    el("p", { class: `status status-${o.status}`, "data-status": o.status, text: t(o.status) }),
    el("ol", { class: "steps", "aria-hidden": "true" }, STEPS.map((s, i) => el("li", { class: i <= at ? "done" : "", text: t(s) }))),
    el("ul", { class: "lines", role: "list" }, o.lines.map((l) => el("li", { class: l.voided ? "voided" : "" },
      el("span", { text: `${l.qty} × ${l.name}` }),
      l.modifiers.length ? el("span", { class: "muted small", text: l.modifiers.map((m) => m.name).join(", ") }) : null,
      l.note ? el("span", { class: "muted small", text: `“${l.note}”` }) : null,
      el("span", { class: "price", text: l.voided ? t("voided") : money(l.line_total_minor) })))),
    el("p", { class: "total" }, el("span", { text: t("total") }), el("strong", { text: money(o.total_minor) })));
}

export async function askStaff(kind) {
  const button = $(`req-${kind}`);
  button.disabled = true;
  try {
    const { request } = await call(tableUrl("/requests"), { method: "POST", body: { kind } });
    requests.set(kind, request);
    renderRequests();
    announce("req-live", request.acknowledged ? ackText(kind) : t("reqSent"));
  } catch (err) {
    announce("req-live", t("reqFailed", err.message));
  } finally {
    button.disabled = false;
  }
}

const ackText = (kind) => kind === "waiter" ? t("reqAckWaiter") : kind === "bill" ? t("reqAckBill") : t("reqAck");

/** A `request` event: staff acknowledged one of ours. */
export function requestEvent(req) {
  for (const [kind, mine] of requests) {
    if (mine.id === req.id) {
      const was = mine.acknowledged;
      requests.set(kind, req);
      renderRequests();
      if (req.acknowledged && !was) announce("req-live", ackText(kind));
    }
  }
}

function renderRequests() {
  for (const kind of ["waiter", "bill"]) {
    const r = requests.get(kind);
    $(`req-${kind}`).textContent = kind === "waiter" ? t("callWaiter") : t("askBill");
    $(`req-${kind}-state`).textContent = !r ? "" : r.acknowledged ? ackText(kind) : t("reqSent");
  }
}
