// The form that records a payment taken at the table: cash or the restaurant's card terminal, for
// the whole remainder, an equal part of N, or an amount, plus a tip. Built once per bill, so a
// live update of the bill never wipes what staff are typing.
import { busy, el, errorText, say } from "./dom.js";
import { money, parseMoney } from "./money.js";

let forms = 0;

function radio(name, value, label, checked = false) {
  const id = `${name}-${value}`;
  return el("span", { class: "choice" },
    el("input", { type: "radio", name, value, id, checked }),
    el("label", { for: id, text: label }));
}

/** A form for `bill()` (the latest bill); `done(text)` after a payment is recorded. */
export function payForm(ctx, bill, box, done) {
  const n = ++forms;
  const name = (what) => `pay${n}-${what}`;
  const parts = el("input", { type: "number", min: 2, max: 50, value: 2, id: name("parts"), inputmode: "numeric",
    class: "short" });
  const amount = el("input", { type: "text", inputmode: "decimal", id: name("amount"), class: "short",
    autocomplete: "off" });
  const tip = el("input", { type: "text", inputmode: "decimal", id: name("tip"), class: "short", autocomplete: "off",
    placeholder: "0" });
  const submit = el("button", { type: "submit", class: "primary", text: "Record payment" });
  const form = el("form", { class: "pay-form", "aria-label": `Record a payment for ${bill().table.name}` },
    el("fieldset", {}, el("legend", { text: "Paid by" }),
      radio(name("method"), "cash", "Cash", true), radio(name("method"), "terminal", "Card terminal")),
    el("fieldset", {}, el("legend", { text: "How much" }),
      radio(name("kind"), "remaining", "Whole remainder", true),
      el("span", { class: "choice" }, el("input", { type: "radio", name: name("kind"), value: "equal", id: name("kind-equal") }),
        el("label", { for: name("kind-equal"), text: "Equal split: one part of" }),
        el("label", { for: name("parts"), class: "vh", text: "Number of parts" }), parts),
      el("span", { class: "choice" }, el("input", { type: "radio", name: name("kind"), value: "amount", id: name("kind-amount") }),
        el("label", { for: name("kind-amount"), text: "An amount" }),
        el("label", { for: name("amount"), class: "vh", text: "Amount paid" }), amount)),
    el("p", { class: "field" }, el("label", { for: name("tip"), text: "Tip" }), tip),
    submit);

  // typing into a choice's own field chooses it
  parts.addEventListener("input", () => { form.querySelector(`#${name("kind-equal")}`).checked = true; });
  amount.addEventListener("input", () => { form.querySelector(`#${name("kind-amount")}`).checked = true; });

  function share() {
    const { currency } = bill();
    const tipText = tip.value.trim();
    const tipMinor = tipText ? parseMoney(tipText, currency) : 0;
    if (Number.isNaN(tipMinor)) throw new Error("The tip is not an amount (for example 2.50).");
    const kind = form.querySelector(`input[name="${name("kind")}"]:checked`).value;
    if (kind === "equal") return { kind, parts: Number(parts.value), tip_minor: tipMinor };
    if (kind === "amount") {
      const minor = parseMoney(amount.value, currency);
      if (Number.isNaN(minor) || minor <= 0) throw new Error("Type the amount paid (for example 12.50).");
      return { kind, amount_minor: minor, tip_minor: tipMinor };
    }
    return { kind, tip_minor: tipMinor };
  }

  form.addEventListener("submit", (e) => {
    e.preventDefault();
    busy(submit, async () => {
      let body;
      try {
        body = { method: form.querySelector(`input[name="${name("method")}"]:checked`).value, share: share() };
      } catch (err) {
        say(box, err.message);
        return;
      }
      try {
        const { payment } = await ctx.api("POST", `/api/v1/staff/bills/${bill().id}/payments`, body);
        const { currency } = bill();
        box.textContent = "";
        amount.value = "";
        tip.value = "";
        done(`${body.method === "cash" ? "Cash" : "Card terminal"} payment of ${money(payment.amount_minor, currency)}`
          + `${payment.tip_minor ? ` + ${money(payment.tip_minor, currency)} tip` : ""} recorded.`);
      } catch (err) {
        say(box, errorText(err));
      }
    });
  });
  return form;
}
