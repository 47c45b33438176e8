// Open bills, one card per table (agent/web/staff_api.py GET /api/v1/staff/bills). Any order,
// bill or visit event reloads the list; cards keep their forms across reloads.
import { billCard } from "./bill-card.js";
import { el, errorText, heading, messageBox, say, sayOnce } from "./dom.js";
import { onRefresh } from "./live.js";

const SETTLE_MS = 150; // several events arrive together after one change: reload once

export function mount(section, ctx) {
  const errors = messageBox("alert");
  const news = messageBox("status");
  const list = el("div", { class: "bills" });
  const empty = el("p", { class: "empty", text: "No open bills." });
  heading(section, "Bills");
  section.append(errors, news, empty, list);

  const cards = new Map();
  const announced = new Set(); // visits whose closing was already told
  let timer = null;
  const later = () => { clearTimeout(timer); timer = setTimeout(reload, SETTLE_MS); };
  const told = (text) => say(news, text);

  let forbidden = false; // a kitchen account: told once why, then no more asking on every event

  async function reload() {
    if (forbidden) return;
    let bills;
    try {
      ({ bills } = await ctx.api("GET", "/api/v1/staff/bills"));
      errors.textContent = "";
    } catch (err) {
      forbidden = err.status === 403 && err.code === "forbidden";
      sayOnce(errors, errorText(err));
      return;
    }
    const ids = new Set(bills.map((b) => b.id));
    for (const [id, card] of cards) {
      if (ids.has(id)) continue;
      if (!announced.has(id)) told(`${card.table()}: the table is closed.`);
      card.root.remove();
      cards.delete(id);
    }
    for (const bill of bills) {
      if (cards.has(bill.id)) cards.get(bill.id).update(bill);
      else cards.set(bill.id, billCard(ctx, bill, { changed: later }));
    }
    list.replaceChildren(...bills.map((b) => cards.get(b.id).root));
    empty.hidden = bills.length > 0;
  }

  ctx.on("session", (data) => {
    const card = cards.get(data.session_id);
    if (data.settled && card) {  // the party's phones keep their visit until it ends (docs/bills.md)
      told(`${card.table()}: the bill is paid and the table is free for new guests. The party's visit ends `
        + "by itself once everything is served, or close the table here.");
    }
    if (data.closed && card) {
      announced.add(data.session_id);
      told(data.reason === "over" ? `${card.table()}: the party's visit is over (all served and paid).`
        : `${card.table()}: the table is closed.`);
    }
    later();
  });
  for (const kind of ["bill", "order"]) ctx.on(kind, later);
  onRefresh(ctx.on, reload);
  reload();
}
