// The live board: one card per order not yet served, oldest first, read from across a kitchen (large
// dish names, options and notes under them, how long each order has waited). Orders and single
// lines move received -> preparing -> ready -> served; the diner's page follows. A new order beeps
// and glows. A station view (kitchen, bar, desserts...) shows only that station's lines: the screen
// for a station without a printer; the choice stays with the tablet.
import { age, busy, el, errorText, fill, heading, messageBox, say, sayOnce } from "./dom.js";
import { freshReload, onRefresh } from "./live.js";
import { beep } from "./sound.js";

export const STATUSES = ["received", "preparing", "ready", "served"];
const LABEL = { received: "Received", preparing: "Preparing", ready: "Ready", served: "Served" };
const FRESH_MS = 10000;
const LATE_MIN = 15; // minutes: an order waiting longer than this shows its age in the warning colour
const STATION_KEY = "tableside.board.station";

const nextStatus = (status) => STATUSES[STATUSES.indexOf(status) + 1];

export function mount(section, ctx) {
  const errors = messageBox("alert");
  const news = el("p", { class: "vh", role: "status", "aria-live": "polite" });
  const grid = el("ol", { class: "board", "aria-label": "Open orders, oldest first" });
  const empty = el("p", { class: "empty", text: "No open orders. New orders appear here by themselves." });
  const stationBar = el("div", { class: "stations", role: "group", "aria-label": "Show lines for" });
  heading(section, "Board");
  section.append(stationBar, errors, news, empty, grid);

  const orders = new Map();
  const fresh = new Map(); // order id -> time it arrived
  let loaded = false;
  let stations = [];
  let station = localStorage.getItem(STATION_KEY) || ""; // "" = every station

  const shown = (line) => !station || (line.stations || []).includes(station);

  function stationButtons() {
    if (stations.length && station && !stations.includes(station)) station = ""; // a station since removed
    stationBar.hidden = stations.length < 2;
    fill(stationBar, ["", ...stations].map((name) => el("button", {
      type: "button", class: "chip", "aria-pressed": String(name === station),
      text: name ? name[0].toUpperCase() + name.slice(1) : "All stations",
      onclick: () => { station = name; localStorage.setItem(STATION_KEY, name); stationButtons(); render(); },
    })));
  }

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
      const { orders: open, stations: known } = await ctx.api("GET", "/api/v1/staff/orders");
      if (known.join() !== stations.join()) { stations = known; stationButtons(); }
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

  /** A station's lines of an order to `status`, one by one (the order moves when all its lines have). */
  async function moveLines(button, order, lines, status) {
    await busy(button, async () => {
      try {
        let latest = order;
        for (const line of lines) {
          ({ order: latest } = await ctx.api("POST", `/api/v1/staff/orders/${order.id}/lines/${line.position}/status`,
            { status }));
        }
        errors.textContent = "";
        take(latest);
        render();
      } catch (err) {
        say(errors, errorText(err));
      }
    });
  }

  function lineView(order, line) {
    const next = nextStatus(line.status);
    const what = `${line.qty} × ${line.name}`;
    // the name has the card's whole width; options, note and the controls share the row under it
    return el("li", { class: `line status-${line.status}${line.voided ? " voided" : ""}` },
      el("span", { class: "line-name" }, el("span", { class: "qty", text: `${line.qty} ×` }), ` ${line.name}`),
      el("div", { class: "line-extra" },
        line.modifiers.length ? el("span", { class: "mods", text: line.modifiers.map((m) => m.name).join(", ") }) : null,
        line.note ? el("span", { class: "note", text: `Note: ${line.note}` }) : null),
      el("div", { class: "line-controls" },
        line.voided ? el("span", { class: "pill", text: "Voided" })
          : el("span", { class: `pill pill-${line.status}`, text: LABEL[line.status] }),
        !line.voided && next ? el("button", {
          type: "button", class: "step", "data-key": `${order.id}:${line.position}`,
          "aria-label": `${what}: mark ${LABEL[next].toLowerCase()}`, text: `→ ${LABEL[next]}`,
          onclick: (e) => move(e.currentTarget, `/api/v1/staff/orders/${order.id}/lines/${line.position}/status`, next),
        }) : null));
  }

  function waited(created) {
    const minutes = (Date.now() - Date.parse(created)) / 60000;
    return minutes >= LATE_MIN ? "age late" : "age";
  }

  function card(order, lines) {
    const title = `${order.table.name} · #${order.number}`;
    // in a station view the card's button moves this station's lines only
    const open = lines.filter((l) => !l.voided && l.status !== "served");
    const lowest = open.length ? STATUSES[Math.min(...open.map((l) => STATUSES.indexOf(l.status)))] : "served";
    const next = station ? nextStatus(lowest) : nextStatus(order.status);
    const behind = open.filter((l) => STATUSES.indexOf(l.status) < STATUSES.indexOf(next));
    return el("li", { class: `card order status-${order.status}${fresh.has(order.id) ? " fresh" : ""}`,
      "data-order": order.id, "aria-label": title },
    el("header", {},
      el("h3", { text: title }),
      el("time", { datetime: order.created_at, class: waited(order.created_at), "data-age": order.created_at,
        text: age(order.created_at) }),
      el("span", { class: `pill pill-${order.status}`, text: LABEL[order.status] })),
    el("ul", { class: "lines" }, lines.map((line) => lineView(order, line))),
    next && (!station || behind.length) ? el("button", {
      type: "button", class: "primary", "data-key": order.id, text: `Mark ${LABEL[next].toLowerCase()}`,
      "aria-label": `${title}: mark all ${LABEL[next].toLowerCase()}`,
      onclick: (e) => (station ? moveLines(e.currentTarget, order, behind, next)
        : move(e.currentTarget, `/api/v1/staff/orders/${order.id}/status`, next)),
    }) : null);
  }

  function render() {
    const focused = document.activeElement?.dataset?.key;
    const sorted = [...orders.values()].sort((a, b) => a.number - b.number);
    const cards = sorted.map((o) => [o, o.lines.filter(shown)]).filter(([, lines]) => lines.length);
    grid.replaceChildren(...cards.map(([o, lines]) => card(o, lines)));
    empty.hidden = cards.length > 0;
    empty.textContent = station ? `No open orders for ${station}. New ones appear here by themselves.`
      : "No open orders. New orders appear here by themselves.";
    // a re-drawn card must not throw a keyboard user's focus back to the top of the page
    if (focused) grid.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
  }

  const loads = freshReload(reload);
  ctx.on("order", (order) => { loads.changed(); take(order); render(); });
  onRefresh(ctx.on, loads.reload);
  setInterval(() => {
    for (const t of grid.querySelectorAll("[data-age]")) {
      t.textContent = age(t.dataset.age);
      t.className = waited(t.dataset.age);
    }
  }, 30000);
  stationButtons();
  loads.reload();
}
