// The bill: its lines, what is paid and what is left; paying all of it, an equal share, chosen
// items (or part of one), or an amount, plus a tip; then over to the hub's pay page.
import { $, el, announce, fill, MOMENT_MS } from "./dom.js";
import { t, lang } from "./i18n.js";
import { money, parseMoney, percentOf } from "./money.js";
import { call, tableUrl, uuid, token } from "./api.js";
import { stepper } from "./item-sheet.js";
import { receiptLink } from "./visit-end.js";

const PENDING = `tableside.share.${token}`;  // a share handed to the pay page, until paid or released
const TIPS = [0, 5, 10, 15];
let bill = null;
let hubOnline = true;
let shape = "";  // what the pay form was built for; rebuilt only when this changes
const choice = { kind: "remaining", parts: 2, items: new Map(), amount: "", tip: 0, tipText: "" };

let events = 0;  // bill events seen: a load that raced one may be older than it, so it asks again

export async function loadBill() {
  const seen = events;
  const data = await call(tableUrl("/bill"));
  if (seen !== events) return loadBill();
  showBill(data.bill, data.pay.hub_online);
}

// A bill event is the bill's totals and version, not its lines (a long tab's would be large):
// the page fetches the bill when it shows it and the version is not the one shown. Hidden, it
// fetches when the bill tab opens (visit.js route -> refresh).
export function billEvent(data) {
  events++;
  if (bill && bill.version === data.version) return;
  if (!$("view-bill").hidden) loadBill().catch(() => {});
}
export function setHubOnline(online) { if (bill) showBill(bill, online); else hubOnline = online; }
export function resetBill() { sessionStorage.removeItem(PENDING); bill = null; shape = ""; choice.items.clear(); $("bill-box").replaceChildren(); $("pay-box").replaceChildren(); }

function showBill(b, online) {
  bill = b;
  hubOnline = online;
  $("bill-title").textContent = t("bill");
  $("bill-box").replaceChildren(...summary(b));
  const next = JSON.stringify([b.left_minor, b.lines.map((l) => [l.id, l.left_minor]), online, document.documentElement.lang]);
  if (next !== shape) { shape = next; $("pay-box").replaceChildren(...payForm(b)); }
  updateTotal();
  pendingNotice(b);
}

function row(name, value, cls = "") {
  return el("div", { class: `row ${cls}` }, el("dt", { text: name }), el("dd", { text: value }));
}

function summary(b) {
  if (!b.lines.length) return [el("p", { text: t("billEmpty") })];
  const lines = el("ul", { class: "lines bill-lines", role: "list" }, b.lines.map((l) =>
    el("li", { class: l.voided ? "voided" : l.left_minor === 0 ? "settled" : "" },
      el("span", { text: `${l.qty} × ${l.name}` }),
      l.options?.length ? el("span", { class: "small muted options", text: l.options.join(", ") }) : null,
      el("span", { class: "price", text: l.voided ? t("voided") : money(l.amount_minor) }),
      l.paid_minor ? el("span", { class: "small ok", text: `${t("paid")} ${money(l.paid_minor)}` }) : null,
      l.held_minor ? el("span", { class: "small muted", text: `${t("held")} ${money(l.held_minor)}` }) : null)));
  const taxes = b.taxes.map((x) => row(t(b.tax_mode === "inclusive" ? "taxIncl" : "tax", `${x.rate_bp / 100}%`), money(x.tax_minor), "muted"));
  return [lines, el("dl", { class: "totals" },
    b.tax_mode === "exclusive" ? row(t("subtotal"), money(b.subtotal_minor)) : null,
    ...taxes,
    row(t("total"), money(b.total_minor), "strong"),
    b.paid_minor ? row(t("paid"), money(b.paid_minor), "ok") : null,
    b.held_minor ? row(t("held"), money(b.held_minor)) : null,
    b.tips_minor ? row(t("tips"), money(b.tips_minor), "muted") : null,
    row(t("left"), money(b.left_minor), "strong left")),
  b.settled ? el("div", { class: "paid-note" }, el("p", { class: "ok", role: "status", text: t("settled") }), receiptLink()) : null,
  b.held_minor && !b.settled ? inProgress(b) : null].filter(Boolean);
}

/** Someone at the table is paying part of the bill right now: say so, and when it frees itself. */
function inProgress(b) {
  const held = b.shares.filter((s) => s.status === "held");
  const until = held.map((s) => s.expires_at).sort().at(-1);
  const time = until ? new Date(until).toLocaleTimeString(lang, { hour: "2-digit", minute: "2-digit" }) : "";
  return el("p", { class: "notice", role: "status", text: t(b.left_minor ? "inProgress" : "inProgressAll",
    money(b.held_minor), time) });
}

function radio(name, value, text, checked, onchange) {
  const id = `${name}-${value}`;
  return el("div", { class: "opt" },
    el("input", { type: "radio", name, id, value, checked, onchange }), el("label", { for: id, text }));
}

function payForm(b) {
  if (b.left_minor <= 0) return [];
  const open = b.lines.filter((l) => !l.voided && l.left_minor > 0);
  const pick = (kind) => () => { choice.kind = kind; $("pay-box").querySelectorAll(".more[data-for]").forEach((d) => { d.hidden = d.dataset.for !== kind; }); updateTotal(); };
  const kinds = el("fieldset", { class: "choices" }, el("legend", { text: t("payWhat") }),
    radio("pay", "remaining", `${t("payAll")} · ${money(b.left_minor)}`, choice.kind === "remaining", pick("remaining")),
    radio("pay", "equal", t("payEqual"), choice.kind === "equal", pick("equal")),
    el("div", { class: "more", "data-for": "equal", hidden: choice.kind !== "equal" },
      el("span", { text: t("people") }),
      stepper("people", () => choice.parts, (n) => { choice.parts = Math.max(2, Math.min(50, n)); updateTotal(); }, t("people"))),
    open.length ? radio("pay", "items", t("payItems"), choice.kind === "items", pick("items")) : null,
    open.length ? el("div", { class: "more", "data-for": "items", hidden: choice.kind !== "items" }, open.map(itemPick)) : null,
    radio("pay", "amount", t("payAmount"), choice.kind === "amount", pick("amount")),
    el("div", { class: "more", "data-for": "amount", hidden: choice.kind !== "amount" },
      el("label", { for: "pay-sum-in", text: t("amount") }),
      el("input", { id: "pay-sum-in", inputmode: "decimal", autocomplete: "off", value: choice.amount,
        oninput: (e) => { choice.amount = e.target.value; updateTotal(); } })));
  const tips = el("fieldset", { class: "choices tips" }, el("legend", { text: t("tip") }),
    el("div", { class: "tip-row" }, TIPS.map((p) => radio("tip", String(p), p ? `${p}%` : t("noTip"), choice.tip === p,
      () => { choice.tip = p; $("tip-own").hidden = true; updateTotal(); })),
    radio("tip", "custom", t("custom"), choice.tip === "custom", () => { choice.tip = "custom"; $("tip-own").hidden = false; updateTotal(); })),
    el("div", { id: "tip-own", class: "more", hidden: choice.tip !== "custom" },
      el("label", { for: "tip-amount", text: t("tipAmount") }),
      el("input", { id: "tip-amount", inputmode: "decimal", autocomplete: "off", value: choice.tipText,
        oninput: (e) => { choice.tipText = e.target.value; updateTotal(); } })));
  const form = el("form", { id: "pay-form", novalidate: true, onsubmit: (e) => { e.preventDefault(); pay(); } },
    kinds, tips,
    el("p", { id: "pay-sum", class: "pay-sum", "aria-live": "polite" }),
    el("p", { id: "pay-error", class: "error", role: "alert" }),
    el("button", { type: "submit", id: "pay-button", class: "primary" }));
  return [hubOnline || pendingShare() ? null : offlineNotice(), form].filter(Boolean);
}

function itemPick(l) {
  const id = `pi-${l.id}`;
  const chosen = choice.items.get(l.id);
  const parts = el("select", { id: `pp-${l.id}`, "aria-label": `${l.name}: ${t("part", "n")}`, disabled: !chosen,
    onchange: (e) => { choice.items.set(l.id, Number(e.target.value)); updateTotal(); } },
  [1, 2, 3, 4].map((n) => el("option", { value: n, selected: chosen === n, text: n === 1 ? t("whole") : t("part", n) })));
  return el("div", { class: "opt item-pick" },
    el("input", { type: "checkbox", id, checked: !!chosen, onchange: (e) => {
      e.target.checked ? choice.items.set(l.id, Number(parts.value)) : choice.items.delete(l.id);
      parts.disabled = !e.target.checked; updateTotal(); } }),
    el("label", { for: id }, el("span", { text: `${l.qty} × ${l.name}` }), el("span", { class: "muted", text: money(l.left_minor) })),
    parts);
}

const ceilDiv = (a, b) => Math.floor((a + b - 1) / b);

/** What the agent will charge for the current choice (it computes the same way), or an error. */
function amountNow() {
  const b = bill;
  if (choice.kind === "remaining") return b.left_minor;
  if (choice.kind === "equal") return Math.min(b.left_minor, ceilDiv(b.total_minor, choice.parts));
  if (choice.kind === "items") {
    let sum = 0;
    for (const [id, parts] of choice.items) {
      const l = b.lines.find((x) => x.id === id);
      if (l) sum += Math.min(l.left_minor, ceilDiv(l.amount_minor, parts));
    }
    return sum || { error: t("pickItems") };
  }
  const v = parseMoney(choice.amount);
  return v > 0 && v <= b.left_minor ? v : { error: choice.amount ? t("badAmount", money(b.left_minor)) : "" };
}

function tipNow(amount) {
  if (choice.tip !== "custom") return percentOf(amount, choice.tip);
  const v = choice.tipText ? parseMoney(choice.tipText) : 0;
  return Number.isFinite(v) ? v : 0;
}

function updateTotal() {
  const button = $("pay-button");
  if (!button) return;
  const amount = amountNow();
  if (typeof amount !== "number") {
    $("pay-sum").textContent = amount.error;
    button.disabled = true;
    button.textContent = t("payBtn", "…");
    return;
  }
  const tip = tipNow(amount);
  $("pay-sum").textContent = tip ? t("youPay", t("withTip", money(amount), money(tip))) : t("youPay", money(amount));
  button.disabled = false;
  button.textContent = t("payBtn", money(amount + tip));
}

function request() {
  const amount = amountNow();
  const tip_minor = tipNow(amount);
  if (choice.kind === "equal") return { kind: "equal", parts: choice.parts, tip_minor };
  if (choice.kind === "items") return { kind: "items", items: [...choice.items].map(([line_id, parts]) => ({ line_id, parts })), tip_minor };
  if (choice.kind === "amount") return { kind: "amount", amount_minor: amount, tip_minor };
  return { kind: "remaining", tip_minor };
}

async function pay() {
  const button = $("pay-button");
  if (button.disabled) return;
  button.disabled = true;
  button.textContent = t("paying");
  $("pay-error").textContent = "";
  try {
    const { share, pay_url } = await call(tableUrl("/bill/shares"), { method: "POST", body: request(), key: uuid() });
    const url = inMyLanguage(pay_url);
    sessionStorage.setItem(PENDING, JSON.stringify({ id: share.id, url }));
    if (hubOnline) { location.assign(url); return; }
    await loadBill();  // shows the link, with how to reach it over mobile data
    $("pay-link")?.focus();
  } catch (err) {
    $("pay-error").textContent = err.message;
    updateTotal();
  }
}

/** The restaurant's uplink is down: the same signed link works over the phone's mobile data. */
function offlineNotice(url) {
  return el("div", { class: "notice warn", role: "status" },
    el("p", { class: "strong", text: t("offline") }),
    el("p", { text: t("offlineHow") }),
    url ? el("p", { text: t("step1") }) : null,
    url ? el("p", {}, el("a", { id: "pay-link", class: "button primary", href: url, text: t("step2").replace(/^2\. /, "") })) : null,
    url && navigator.clipboard ? el("button", { type: "button", text: t("copyLink"),
      onclick: () => navigator.clipboard.writeText(url).then(() => announce("notice", t("copied"), { fadeAfter: MOMENT_MS })) }) : null);
}

function pendingShare() {
  try { return JSON.parse(sessionStorage.getItem(PENDING)); } catch { return null; }
}

/** The hub's pay pages speak the language chosen here, not the browser's (outside the signed part). */
function inMyLanguage(payUrl) {
  const url = new URL(payUrl);
  url.searchParams.set("lang", lang);
  return url.toString();
}

/** A share we sent the diner to pay that is still only held: offer to go back to it or let it go. */
function pendingNotice(b) {
  const box = $("pending");
  const pending = pendingShare();
  const share = pending && b.shares.find((s) => s.id === pending.id);
  if (!share || share.status !== "held") {
    if (pending && (!share || share.status === "paid")) sessionStorage.removeItem(PENDING);
    box.replaceChildren();
    return;
  }
  fill(box, hubOnline ? null : offlineNotice(pending.url), el("div", { class: "notice" },
    hubOnline ? el("p", { text: t("unfinished") }) : null,
    hubOnline ? el("p", {}, el("a", { class: "button", href: pending.url, text: t("openPay") })) : null,
    el("button", { type: "button", text: t("cancelPay"), onclick: async () => {
      await call(tableUrl(`/bill/shares/${encodeURIComponent(share.id)}`), { method: "DELETE" }).catch(() => {});
      sessionStorage.removeItem(PENDING);
      await loadBill();
    } })));
}
