// The live board: one card per order not yet served, oldest first. Orders and single lines move
// received -> preparing -> ready -> served; the diner's page follows. A new order beeps and glows.
import { age, busy, el, errorText, heading, messageBox, say, sayOnce } from "./dom.js";
import { freshReload, onRefresh } from "./live.js";
import { beep } from "./sound.js";

export const STATUSES = ["received", "preparing", "ready", "served"];
const LABEL = { received: "Received", preparing: "Preparing", ready: "Ready", served: "Served" };
const FRESH_MS = 10000;

const nextStatus = (status) => STATUSES[STATUSES.indexOf(status) + 1];

export function mount(section, ctx) {
  const errors = messageBox("alert");
  const news = el("p", { class: "vh", role: "status", "aria-live": "polite" });
  const grid = el("ol", { class: "board", "aria-label": "Open orders, oldest first" });
  const empty = el("p", { class: "empty", text: "No open orders. New orders appear here by themselves." });
  heading(section, "Board");
  section.append(errors, news, empty, grid);

  const orders = new Map();
  const fresh = new Map(); // order id -> time it arrived
  let loaded = false;

  function arrived(order) {
    fresh.set(order.id, Date.now());
    setTimeout(() => { fresh.delete(order.id); render(); }, FRESH_MS);
    beep(880);
    say(news, `New order #${order.number} from ${order.table.name}`);
  }

  function take(order) {
    const known = orders.has(order.id);
    if (order.status === "served") orders.delete(order.id);
    else orders.set(order.id, order);
    if (!known && loaded && order.status !== "served") arrived(order);
  }

  async function reload() {
    try {
      const { orders: open } = await ctx.api("GET", "/api/v1/staff/orders");
      const ids = new Set(open.map((o) => o.id));
      for (const id of [...orders.keys()]) if (!ids.has(id)) orders.delete(id);
      for (const order of open) take(order);
      loaded = true;
      render();
    } catch (err) {
      sayOnce(errors, errorText(err));
    }
  }

  async function move(button, path, status) {
    await busy(button, async () => {
      try {
        const { order } = await ctx.api("POST", path, { status });
        errors.textContent = "";
        take(order);
        render();
      } catch (err) {
        say(errors, errorText(err));
      }
    });
  }

  function lineView(order, line) {
    const next = nextStatus(line.status);
    const what = `${line.qty} × ${line.name}`;
    return el("li", { class: `line status-${line.status}${line.voided ? " voided" : ""}` },
      el("div", { class: "line-main" },
        el("span", { class: "line-name", text: what }),
        line.modifiers.length ? el("span", { class: "mods", text: line.modifiers.map((m) => m.name).join(", ") }) : null,
        line.note ? el("span", { class: "note", text: `Note: ${line.note}` }) : null),
      line.voided ? el("span", { class: "pill", text: "Voided" })
        : el("span", { class: `pill pill-${line.status}`, text: LABEL[line.status] }),
      !line.voided && next ? el("button", {
        type: "button", class: "step", "data-key": `${order.id}:${line.position}`,
        "aria-label": `${what}: mark ${LABEL[next].toLowerCase()}`, text: `→ ${LABEL[next]}`,
        onclick: (e) => move(e.currentTarget, `/api/v1/staff/orders/${order.id}/lines/${line.position}/status`, next),
      }) : null);
  }

  function card(order) {
    const next = nextStatus(order.status);
    const title = `${order.table.name} · #${order.number}`;
    return el("li", { class: `card order status-${order.status}${fresh.has(order.id) ? " fresh" : ""}`,
      "data-order": order.id, "aria-label": title },
    el("header", {},
      el("h3", { text: title }),
      el("time", { datetime: order.created_at, class: "age", "data-age": order.created_at, text: age(order.created_at) }),
      el("span", { class: `pill pill-${order.status}`, text: LABEL[order.status] })),
    el("ul", { class: "lines" }, order.lines.map((line) => lineView(order, line))),
    next ? el("button", {
      type: "button", class: "primary", "data-key": order.id, text: `Mark ${LABEL[next].toLowerCase()}`,
      "aria-label": `${title}: mark all ${LABEL[next].toLowerCase()}`,
      onclick: (e) => move(e.currentTarget, `/api/v1/staff/orders/${order.id}/status`, next),
    }) : null);
  }

  function render() {
    const focused = document.activeElement?.dataset?.key;
    const sorted = [...orders.values()].sort((a, b) => a.number - b.number);
    grid.replaceChildren(...sorted.map(card));
    empty.hidden = sorted.length > 0;
    // a re-drawn card must not throw a keyboard user's focus back to the top of the page
    if (focused) grid.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }

  const loads = freshReload(reload);
  ctx.on("order", (order) => { loads.changed(); take(order); render(); });
  onRefresh(ctx.on, loads.reload);
  setInterval(() => {
    for (const t of grid.querySelectorAll("[data-age]")) t.textContent = age(t.dataset.age);
  }, 30000);
  loads.reload();
}
