// One open bill: its lines (void, managers only), tax, total, what is paid (by whom and how),
// refunds of card payments (managers), a payment form, the receipt and closing the table.
// The card is built once; `update(bill)` redraws only the figures, never the forms.
import { busy, clock, el, errorText, fill, messageBox, say } from "./dom.js";
import { money, parseMoney, plain } from "./money.js";
import { payForm } from "./pay-form.js";

const METHOD = { cash: "Cash", terminal: "Card terminal", card: "Card (diner's phone)" };
const CONFIRM_MS = 5000;

const percent = (bp) => `${(bp / 100).toLocaleString(undefined, { maximumFractionDigits: 2 })} %`;

/** Two taps for what cannot be undone: the first arms the button, the second does it. */
function confirmTap(button, armedText, work) {
  const text = button.textContent;
  let armed = null;
  button.addEventListener("click", () => {
    if (!armed) {
      button.textContent = armedText;
      button.classList.add("armed");
      armed = setTimeout(() => { armed = null; button.textContent = text; button.classList.remove("armed"); }, CONFIRM_MS);
      return;
    }
    clearTimeout(armed);
    armed = null;
    button.textContent = text;
    button.classList.remove("armed");
    busy(button, work);
  });
  return button;
}

export function billCard(ctx, first, { changed }) {
  let bill = first;
  const manager = ctx.staff?.role === "manager";
  const headingId = `bill-${bill.id}`;
  const errors = messageBox("alert");
  const news = messageBox("status");
  const body = el("div", { class: "bill-body" });
  const refundSlot = el("div", { class: "refund-slot" });
  const forceSlot = el("div", { class: "force-slot" });

  const run = async (work, success) => {
    try {
      const result = await work();
      errors.textContent = "";
      if (success) say(news, success(result));
      changed();
      return result;
    } catch (err) {
      say(errors, errorText(err));
      return null;
    }
  };

  const receipt = el("button", { type: "button", text: "Print receipt", onclick: (e) => busy(e.currentTarget, () =>
    run(() => ctx.api("POST", `/api/v1/staff/bills/${bill.id}/receipt`, {}),
      (r) => `Receipt sent to the ${r.printer} printer.`)) });
  const closeButton = el("button", { type: "button", text: "Close table", onclick: (e) => busy(e.currentTarget, () => close(false)) });

  async function close(force) {
    try {
      await ctx.api("POST", `/api/v1/staff/bills/${bill.id}/close`, force ? { force: true } : {});
      forceSlot.replaceChildren();
      changed();
    } catch (err) {
      say(errors, errorText(err));
      if (err.code === "bill_open" && manager) {
        forceSlot.replaceChildren(confirmTap(el("button", { type: "button", class: "danger", text: "Close anyway" }),
          "Tap again: close with the bill unpaid", () => close(true)));
      }
    }
  }

  function voidButton(line) {
    const [orderId, position] = [line.id.slice(0, line.id.lastIndexOf(":")), line.id.slice(line.id.lastIndexOf(":") + 1)];
    return confirmTap(el("button", { type: "button", class: "danger small-button", text: "Void",
      "aria-label": `Void ${line.qty} × ${line.name}` }), "Tap again to void",
    () => run(() => ctx.api("POST", `/api/v1/staff/orders/${orderId}/lines/${position}/void`),
      () => `${line.name} voided: it is off the bill.`));
  }

  function refundForm(payment) {
    const { currency } = bill;
    const left = payment.amount_minor + payment.tip_minor - payment.refunded_minor;
    const id = `refund-${payment.id}`;
    const amount = el("input", { id: `${id}-amount`, type: "text", inputmode: "decimal", class: "short",
      value: plain(left, currency) });
    const reason = el("input", { id: `${id}-reason`, type: "text", maxlength: 200 });
    const submit = el("button", { type: "submit", class: "danger", text: "Ask the hub to refund" });
    const form = el("form", { class: "refund-form", "aria-label": `Refund a card payment of ${money(payment.amount_minor, currency)}` },
      el("p", { class: "field" }, el("label", { for: amount.id, text: "Refund amount" }), amount),
      el("p", { class: "field" }, el("label", { for: reason.id, text: "Reason" }), reason),
      submit, el("button", { type: "button", text: "Cancel", onclick: () => refundSlot.replaceChildren() }));
    form.addEventListener("submit", (e) => {
      e.preventDefault();
      const minor = parseMoney(amount.value, currency);
      if (Number.isNaN(minor) || minor <= 0) { say(errors, "Type the amount to refund (for example 5.00)."); return; }
      busy(submit, async () => {
        const done = await run(() => ctx.api("POST", `/api/v1/staff/shares/${payment.id}/refunds`,
          { amount_minor: minor, reason: reason.value.trim() }),
        () => `Refund of ${money(minor, currency)} asked for; the hub refunds the card.`);
        if (done) refundSlot.replaceChildren();
      });
    });
    return form;
  }

  function linesTable() {
    const { currency } = bill;
    return el("table", { class: "bill-lines" },
      el("caption", { class: "vh", text: `Lines of the bill for ${bill.table.name}` }),
      el("thead", {}, el("tr", {}, ["Item", "Qty", "Amount", "Tax", "State", manager ? "Void" : null]
        .filter(Boolean).map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, bill.lines.map((line) => el("tr", { class: line.voided ? "voided" : "" },
        el("td", { text: line.name }), el("td", { class: "num", text: String(line.qty) }),
        el("td", { class: "num", text: money(line.amount_minor, currency) }),
        el("td", { class: "num", text: line.tax_rate_bp ? percent(line.tax_rate_bp) : "–" }),
        el("td", { text: line.voided ? "Voided" : line.left_minor === 0 ? "Paid"
          : line.paid_minor || line.held_minor ? `${money(line.left_minor, currency)} left` : "Open" }),
        manager ? el("td", {}, !line.voided && line.left_minor === line.amount_minor ? voidButton(line) : null) : null))));
  }

  function totals() {
    const { currency } = bill;
    const rows = [["Subtotal", bill.subtotal_minor],
      ...bill.taxes.map((t) => [`Tax ${percent(t.rate_bp)}${bill.tax_mode === "inclusive" ? " (included)" : ""}`, t.tax_minor]),
      ["Total", bill.total_minor, "total"], ["Paid", bill.paid_minor],
      bill.held_minor ? ["Being paid now", bill.held_minor] : null,
      ["Left to pay", bill.left_minor, "left"], ["Tips", bill.tips_minor],
      bill.overpaid_minor ? ["Paid too much (refund it)", bill.overpaid_minor, "warn"] : null,
      bill.refunded_minor ? ["Refunded", bill.refunded_minor] : null].filter(Boolean);
    return el("dl", { class: "totals" }, rows.map(([label, minor, cls]) => el("div", { class: cls || "" },
      el("dt", { text: label }), el("dd", { text: money(minor, currency) }))));
  }

  function payments() {
    const { currency } = bill;
    if (!bill.payments.length) return el("p", { class: "muted", text: "Nothing paid yet." });
    return el("table", { class: "payments" },
      el("caption", { text: "Payments" }),
      el("thead", {}, el("tr", {}, ["Time", "How", "Amount", "Tip", "Taken by", "Refunded", manager ? "Refund" : null]
        .filter(Boolean).map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, bill.payments.map((p) => el("tr", {},
        el("td", { text: clock(p.paid_at) }),
        el("td", { text: METHOD[p.method] || p.method }),
        el("td", { class: "num", text: money(p.amount_minor, currency) }),
        el("td", { class: "num", text: money(p.tip_minor, currency) }),
        el("td", { text: p.taken_by || (p.provider === "agent" ? "staff" : `${p.provider || "hub"} (online)`) }),
        el("td", { class: "num", text: p.refunded_minor ? money(p.refunded_minor, currency) : "–" }),
        manager ? el("td", {}, p.method === "card" && p.refunded_minor < p.amount_minor + p.tip_minor
          ? el("button", { type: "button", class: "small-button", text: "Refund",
            "aria-label": `Refund the card payment of ${money(p.amount_minor, currency)}`,
            onclick: () => { refundSlot.replaceChildren(refundForm(p)); refundSlot.querySelector("input").focus(); } })
          : null) : null))));
  }

  /** Shares a diner is paying now: if they left the pay page, one tap lets the table pay it again. */
  function beingPaid() {
    const { currency } = bill;
    const held = bill.shares.filter((s) => s.status === "held");
    if (!held.length) return null;
    return el("ul", { class: "held-shares", "aria-label": "Being paid now" }, held.map((share) => el("li", {},
      el("span", { text: `${money(share.amount_minor + share.tip_minor, currency)} being paid on a phone, `
        + `held until ${clock(share.expires_at)}` }),
      el("button", { type: "button", text: "Release",
        "aria-label": `Release the payment of ${money(share.amount_minor, currency)} being made`,
        onclick: (e) => busy(e.currentTarget, () => run(
          () => ctx.api("POST", `/api/v1/staff/shares/${share.id}/release`, {}),
          () => `Released: the table can pay ${money(share.amount_minor, currency)} again. If that phone still `
            + "pays, it shows as paid too much, to refund.")) }))));
  }

  /** Paid: the table is free for new guests while the party's visit goes on (docs/bills.md). */
  const paidNote = () => bill.settled ? el("p", { class: "paid-note", text: "Paid. The table is free for new guests; "
    + "close it when the party leaves (it closes by itself once everything is served)." }) : null;

  const form = payForm(ctx, () => bill, errors, (text) => { say(news, text); changed(); });

  function update(next) {
    bill = next;
    fill(body, linesTable(), totals(), beingPaid(), payments(), paidNote());
    form.hidden = bill.settled;  // nothing left to take
  }

  const root = el("article", { class: "card bill", "aria-labelledby": headingId, "data-bill": bill.id },
    el("header", {}, el("h3", { id: headingId, text: bill.table.name }),
      el("span", { class: "muted", text: `open since ${clock(bill.opened_at)}` })),
    errors, news, body, refundSlot, form,
    el("div", { class: "actions" }, receipt, closeButton), forceSlot);
  update(bill);
  return { root, update, table: () => bill.table.name };
}
