// The cart: a bar with the running total, a sheet to change quantities and choices, and Send.
import { $, el, announce, MOMENT_MS } from "./dom.js";
import { t } from "./i18n.js";
import { money } from "./money.js";
import { menu, unitPrice, loadMenu } from "./menu.js";
import { call, tableUrl } from "./api.js";
import { openItem, stepper } from "./item-sheet.js";
import * as cart from "./cart.js";

let sending = false;
let onOrdered = () => {};
let badLine = -1;  // the line the agent refused (sold out meanwhile), highlighted until changed

export function initCart(ordered) {
  onOrdered = ordered;
  $("cart-open").addEventListener("click", () => { renderCart(); $("cart").showModal(); });
  cart.onChange(() => { badLine = -1; renderBar(); if ($("cart").open) renderCart(); });
}

const total = () => cart.cart.lines.reduce((s, l) => s + unitPrice(l) * l.qty, 0);

export function renderBar() {
  const n = cart.count();
  $("cartbar").hidden = n === 0;
  $("cart-open").textContent = `${t("viewCart")} · ${n === 1 ? t("item1") : t("items", n)} · ${money(total())}`;
  $("cart-status").textContent = n ? `${t("cart")}: ${n === 1 ? t("item1") : t("items", n)}, ${t("total")} ${money(total())}` : "";
}

export function renderCart() {
  const lines = cart.cart.lines;
  const locked = cart.locked();
  const list = el("ul", { class: "lines", role: "list" }, lines.map((l, i) => {
    const it = menu.items.get(l.item_id);
    const name = it?.name ?? l.item_id;
    const mods = l.modifiers.map((id) => menu.mods.get(id)?.name ?? id).join(", ");
    // the menu says so the moment staff mark it (the live stream reloads the menu): not only on send
    const gone = !it || it.available === false || l.modifiers.some((id) => menu.mods.get(id)?.available === false);
    return el("li", { class: i === badLine || gone ? "line bad" : "line" },
      el("div", { class: "line-main" },
        el("p", { class: "line-name", text: name }),
        gone ? el("p", { class: "line-gone", role: "status", text: t("soldOutNamed", name) }) : null,
        mods ? el("p", { class: "muted small", text: mods }) : null,
        l.note ? el("p", { class: "muted small note", text: `“${l.note}”` }) : null,
        el("p", { class: "price", text: money(unitPrice(l) * l.qty) })),
      el("div", { class: "line-tools" },
        locked ? el("span", { text: `× ${l.qty}` }) : stepper(`q-${i}`, () => l.qty, (n) => cart.setQty(i, n), name),
        locked || !it || it.available === false ? null
          : el("button", { type: "button", class: "link", "aria-label": `${t("edit")}: ${name}`, text: t("edit"),
            onclick: () => { $("cart").close(); openItem(l.item_id, i); } }),
        locked ? null : el("button", { type: "button", class: "link", "aria-label": `${t("remove")}: ${name}`,
          text: t("remove"), onclick: () => cart.setQty(i, 0) })));
  }));
  $("cart-body").replaceChildren(
    lines.length ? list : el("p", { text: t("empty") }),
    el("p", { class: "total", id: "cart-total" }, el("span", { text: t("total") }), el("strong", { text: money(total()) })));
  const send = $("send");
  const soldOut = lines.some((l) => menu.items.get(l.item_id)?.available === false
    || l.modifiers.some((id) => menu.mods.get(id)?.available === false));
  send.disabled = sending || !lines.length || soldOut;
  send.textContent = sending ? t("sending") : t("send", money(total()));
}

/** The agent's words end without a full stop; a sentence here needs one. */
const sentence = (text) => (/[.!?]$/.test(text) ? text : `${text}.`);

/** One tap sends; the button is off while sending, and the key makes any second send a replay. */
export async function sendOrder() {
  if (sending || !cart.cart.lines.length) return;
  sending = true;
  renderCart();
  const key = cart.sendKey();
  const began = performance.now();
  try {
    const { order } = await call(tableUrl("/orders"), { method: "POST", body: cart.body(), key });
    performance.measure("order-confirmed", { start: began });  // vitals.js
    cart.settle(true);
    $("cart").close();
    announce("notice", t("sent", order.number), { fadeAfter: MOMENT_MS });
    onOrdered(order);
  } catch (err) {
    if (err.status === 0 || err.status >= 500) {
      announce("cart-alert", t("retry"));  // outcome unknown: keep the key, the retry replays
    } else {
      cart.settle(false);  // refused: nothing was ordered
      const at = /^lines\[(\d+)\]/.exec(err.field || "");
      badLine = at ? Number(at[1]) : -1;
      const line = cart.cart.lines[badLine];
      const what = line ? t("soldOutNamed", menu.items.get(line.item_id)?.name ?? line.item_id) : sentence(err.message);
      announce("cart-alert", err.code === "sold_out" ? t("unavailable", what) : t("failed", err.message));
      if (err.code === "sold_out") await loadMenu(menu.doc.restaurant.lang).then(() => document.dispatchEvent(new Event("menu-changed"))).catch(() => {});
    }
  } finally {
    sending = false;
    if ($("cart").open) renderCart();
  }
}
