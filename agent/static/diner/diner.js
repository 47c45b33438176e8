// Tableside diner page (foundation version): menu, options, cart, send order.
const $ = (id) => document.getElementById(id);
const m = location.pathname.match(/^\/t\/([^/]+)/);
const token = m ? decodeURIComponent(m[1]) : "";
const api = (p) => `/api/v1${p}`;
const STORE = `tableside.cart.${token}`;

const items = new Map();   // item id -> item
const mods = new Map();    // modifier id -> modifier
const groups = new Map();  // group id -> group
let fmt = (minor) => String(minor);
let cart = load();         // {lines: [{item_id, qty, modifiers, note}], key: uuid|null}
let sending = false;

function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...kids.filter((k) => k != null));
  return e;
}

function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // Fallback for plain-http LAN origins, where randomUUID is unavailable.
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

function load() {
  try {
    const c = JSON.parse(sessionStorage.getItem(STORE));
    if (c && Array.isArray(c.lines)) return c;
  } catch { /* ignore */ }
  return { lines: [], key: null };
}
const save = () => sessionStorage.setItem(STORE, JSON.stringify(cart));

async function getJSON(path) {
  const r = await fetch(api(path), { headers: { Accept: "application/json" } });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

const unitPrice = (l) =>
  items.get(l.item_id).price_minor + l.modifiers.reduce((s, id) => s + (mods.get(id)?.price_minor ?? 0), 0);

// ---- menu ----
function renderMenu(menu) {
  const { currency, exponent = 2 } = menu.restaurant;
  const nf = new Intl.NumberFormat(navigator.language, {
    style: "currency", currency, minimumFractionDigits: exponent, maximumFractionDigits: exponent,
  });
  fmt = (minor) => nf.format(minor / 10 ** exponent);
  for (const g of menu.modifier_groups || []) {
    groups.set(g.id, g);
    for (const x of g.modifiers) mods.set(x.id, x);
  }
  const root = $("menu");
  for (const c of menu.categories) {
    const list = el("div", { class: "items" });
    for (const it of c.items) {
      items.set(it.id, it);
      const soldOut = it.available === false;
      list.append(el("article", { "data-item-id": it.id, class: soldOut ? "sold-out" : null },
        el("h3", { text: it.name }),
        it.description ? el("p", { text: it.description }) : null,
        it.tags?.length ? el("p", { class: "tags", text: it.tags.join(" · ") }) : null,
        it.allergens?.length ? el("p", { class: "allergens", text: `Allergens: ${it.allergens.join(", ")}` }) : null,
        el("div", { class: "row" },
          el("span", { class: "price", text: fmt(it.price_minor) }),
          soldOut ? el("span", { class: "badge", text: "Sold out" }) : null,
          el("button", {
            type: "button", "aria-label": `Add ${it.name}`, disabled: soldOut,
            onclick: () => (it.modifier_groups?.length ? openOptions(it) : addLine(it.id, [], "")),
          }, "Add"))));
    }
    root.append(el("section", { "aria-labelledby": `cat-${c.id}` }, el("h2", { id: `cat-${c.id}`, text: c.name }), list));
  }
  root.removeAttribute("aria-busy");
}

// ---- options dialog ----
let current = null;
function openOptions(it) {
  current = it;
  $("options-title").textContent = it.name;
  $("options-note").value = "";
  $("options-error").textContent = "";
  const box = $("options-groups");
  box.replaceChildren();
  for (const gid of it.modifier_groups) {
    const g = groups.get(gid);
    if (!g) continue;
    const radio = g.max === 1;
    const hint = g.min === g.max ? `choose ${g.min}` : g.min ? `choose ${g.min}–${g.max}` : `up to ${g.max}, optional`;
    const fs = el("fieldset", { "data-group": g.id }, el("legend", { text: `${g.name} (${hint})` }));
    if (radio && g.min === 0) fs.append(optionRow(g, radio, { id: "", name: "None", price_minor: 0 }, true));
    for (const x of g.modifiers) fs.append(optionRow(g, radio, x, false));
    box.append(fs);
  }
  updateOptions();
  $("options").showModal();
}

function optionRow(g, radio, x, checked) {
  const id = `opt-${g.id}-${x.id || "none"}`;
  const off = x.available === false;
  const extra = off ? " (sold out)" : x.price_minor ? ` (+${fmt(x.price_minor)})` : "";
  return el("div", { class: "opt" },
    el("input", { type: radio ? "radio" : "checkbox", id, name: `g-${g.id}`, value: x.id, checked, disabled: off }),
    el("label", { for: id, text: x.name + extra }));
}

function chosen(fs) {
  return [...fs.querySelectorAll("input:checked")].map((i) => i.value).filter(Boolean);
}

function updateOptions() {
  let price = current.price_minor;
  for (const fs of $("options-groups").querySelectorAll("fieldset")) {
    const g = groups.get(fs.dataset.group);
    const sel = chosen(fs);
    sel.forEach((id) => (price += mods.get(id)?.price_minor ?? 0));
    if (g.max > 1) {
      for (const i of fs.querySelectorAll("input[type=checkbox]")) {
        const x = mods.get(i.value);
        i.disabled = x?.available === false || (!i.checked && sel.length >= g.max);
      }
    }
  }
  $("options-price").textContent = fmt(price);
}

function submitOptions(ev) {
  ev.preventDefault();
  const picked = [];
  for (const fs of $("options-groups").querySelectorAll("fieldset")) {
    const g = groups.get(fs.dataset.group);
    const sel = chosen(fs);
    if (sel.length < g.min || sel.length > g.max) {
      $("options-error").textContent = g.min === g.max
        ? `${g.name}: please choose ${g.min}.`
        : `${g.name}: please choose between ${g.min} and ${g.max}.`;
      fs.querySelector("input:not(:disabled)")?.focus();
      return;
    }
    picked.push(...sel);
  }
  addLine(current.id, picked, $("options-note").value.trim());
  $("options").close();
}

// ---- cart ----
function changed() {
  cart.key = null; // new cart content -> new idempotency key on next send
  $("alert").textContent = "";
  save();
  renderCart();
}

function addLine(item_id, modifiers, note) {
  const sig = JSON.stringify([item_id, [...modifiers].sort(), note]);
  const same = cart.lines.find((l) => JSON.stringify([l.item_id, [...l.modifiers].sort(), l.note]) === sig);
  if (same) same.qty += 1;
  else cart.lines.push({ item_id, qty: 1, modifiers, note });
  $("status").textContent = "";
  changed();
}

function setQty(line, qty) {
  if (qty <= 0) cart.lines.splice(cart.lines.indexOf(line), 1);
  else line.qty = Math.min(qty, 99);
  changed();
}

function renderCart() {
  cart.lines = cart.lines.filter((l) => items.has(l.item_id));
  const ul = $("cart-lines");
  ul.replaceChildren(...cart.lines.map((l) => {
    const it = items.get(l.item_id);
    const detail = l.modifiers.map((id) => mods.get(id)?.name ?? id).join(", ");
    return el("li", {},
      el("div", { class: "line-name" }, el("strong", { text: it.name }),
        detail ? el("span", { class: "detail", text: detail }) : null,
        l.note ? el("span", { class: "detail", text: `Note: ${l.note}` }) : null),
      el("div", { class: "row" },
        el("button", { type: "button", class: "qty", "aria-label": `Remove one ${it.name}`, onclick: () => setQty(l, l.qty - 1) }, "−"),
        el("span", { class: "n", text: `${l.qty}×` }),
        el("button", { type: "button", class: "qty", "aria-label": `Add one more ${it.name}`, onclick: () => setQty(l, l.qty + 1) }, "+"),
        el("span", { class: "price", text: fmt(unitPrice(l) * l.qty) })));
  }));
  const total = cart.lines.reduce((s, l) => s + unitPrice(l) * l.qty, 0);
  $("cart-total").textContent = fmt(total);
  $("cart-empty").hidden = cart.lines.length > 0;
  $("send").disabled = sending || cart.lines.length === 0;
}

async function send() {
  if (sending || !cart.lines.length) return;
  sending = true;
  $("send").disabled = true;
  $("send").setAttribute("aria-busy", "true");
  $("status").textContent = "";
  $("alert").textContent = "";
  if (!cart.key) { cart.key = uuid(); save(); } // reused on retry until the cart changes
  const body = { lines: cart.lines.map(({ item_id, qty, modifiers, note }) => ({ item_id, qty, modifiers, note })) };
  try {
    let res;
    try {
      res = await fetch(api(`/tables/${encodeURIComponent(token)}/orders`), {
        method: "POST",
        headers: { "Content-Type": "application/json", "Idempotency-Key": cart.key, Accept: "application/json" },
        body: JSON.stringify(body),
      });
    } catch {
      $("alert").textContent = "Could not reach the restaurant — your order was not sent yet. Try again.";
      return;
    }
    const data = await res.json().catch(() => ({}));
    if (res.ok && data.order) {
      const o = data.order;
      cart = { lines: [], key: null };
      save();
      $("status").textContent = `Order #${o.number} received — total ${fmt(o.total_minor)}.`;
    } else {
      $("alert").textContent = data.error?.message
        || (res.status >= 500 ? "The restaurant could not take the order right now. Try again." : `Order not accepted (HTTP ${res.status}).`);
    }
  } finally {
    sending = false;
    $("send").removeAttribute("aria-busy");
    renderCart();
  }
}

// ---- start ----
$("options-form").addEventListener("submit", submitOptions);
$("options-form").addEventListener("change", updateOptions);
$("options-cancel").addEventListener("click", () => $("options").close());
$("send").addEventListener("click", send);

try {
  const [t, menu] = await Promise.all([getJSON(`/tables/${encodeURIComponent(token)}`), getJSON("/menu")]);
  const title = `${t.restaurant.name} — ${t.table.name}`;
  $("title").textContent = title;
  document.title = title;
  renderMenu(menu);
  renderCart();
} catch (e) {
  $("title").textContent = "Menu unavailable";
  $("load-error").textContent = "Could not load the menu. Please check your connection and reload, or ask a member of staff.";
  console.error(e);
}
