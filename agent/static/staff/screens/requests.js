// Requests from tables ("call a waiter", "bring the bill"): listed oldest first, acknowledged with
// one tap; a count on the navigation link; a new one makes a (lower) beep.
import { setBadge } from "./badge.js";
import { age, busy, el, errorText, heading, messageBox, say, sayOnce } from "./dom.js";
import { freshReload, onRefresh } from "./live.js";
import { beep } from "./sound.js";

const KIND = { waiter: "Call a waiter", bill: "Bring the bill" };
const CAN_ACK = ["manager", "server"];

export function mount(section, ctx) {
  const errors = messageBox("alert");
  const news = el("p", { class: "vh", role: "status", "aria-live": "polite" });
  const list = el("ul", { class: "requests", "aria-label": "Open requests, oldest first" });
  const empty = el("p", { class: "empty", text: "No table is waiting for you." });
  heading(section, "Requests");
  section.append(errors, news, empty, list);

  const open = new Map();
  const mayAck = CAN_ACK.includes(ctx.staff?.role);
  let loaded = false;

  function take(request) {
    const known = open.has(request.id);
    if (request.acknowledged) open.delete(request.id);
    else open.set(request.id, request);
    if (!known && loaded && !request.acknowledged) {
      beep(520, 0.3);
      say(news, `${request.table.name}: ${KIND[request.kind] || request.kind}`);
    }
  }

  async function reload() {
    try {
      const { requests } = await ctx.api("GET", "/api/v1/staff/requests");
      open.clear();
      for (const r of requests) open.set(r.id, r);
      loaded = true;
      render();
    } catch (err) {
      sayOnce(errors, errorText(err));
    }
  }

  async function acknowledge(button, request) {
    await busy(button, async () => {
      try {
        const { request: done } = await ctx.api("POST", `/api/v1/staff/requests/${request.id}/ack`);
        errors.textContent = "";
        take(done);
        render();
        say(news, `${request.table.name}: acknowledged`);
      } catch (err) {
        say(errors, errorText(err));
      }
    });
  }

  function row(request) {
    const what = KIND[request.kind] || request.kind;
    return el("li", { class: `card request kind-${request.kind}` },
      el("div", {},
        el("h3", { text: request.table.name }),
        el("p", { class: "request-kind", text: what }),
        el("time", { datetime: request.created_at, class: "age", "data-age": request.created_at,
          text: age(request.created_at) })),
      mayAck ? el("button", { type: "button", class: "primary", text: "Acknowledge",
        "aria-label": `Acknowledge: ${request.table.name}, ${what}`, onclick: (e) => acknowledge(e.currentTarget, request) })
        : el("p", { class: "muted small", text: "A server or manager acknowledges this." }));
  }

  function render() {
    const sorted = [...open.values()].sort((a, b) => a.created_at.localeCompare(b.created_at));
    list.replaceChildren(...sorted.map(row));
    empty.hidden = sorted.length > 0;
    setBadge(section, sorted.length, "request");
  }

  const loads = freshReload(reload);
  ctx.on("request", (request) => { loads.changed(); take(request); render(); });
  onRefresh(ctx.on, loads.reload);
  setInterval(() => {
    for (const t of list.querySelectorAll("[data-age]")) t.textContent = age(t.dataset.age);
  }, 30000);
  loads.reload();
}
