// The cart: lines the diner is putting together, kept on the phone (localStorage) per table.
// `key` is the Idempotency-Key of the send in flight: made at the first attempt and kept until the
// agent gives a definite answer, so a double tap or a retry after a dropped connection (even after a
// reload) can never order twice. While it is set the cart is locked: a retry must send the same thing.
import { token, uuid } from "./api.js";

const STORE = `tableside.cart.${token}`;
const listeners = new Set();
export let cart = load();

function load() {
  try {
    const c = JSON.parse(localStorage.getItem(STORE));
    if (c && Array.isArray(c.lines)) return { lines: c.lines, key: c.key || null };
  } catch { /* a damaged entry: start empty */ }
  return { lines: [], key: null };
}

function changed() {
  localStorage.setItem(STORE, JSON.stringify(cart));
  for (const f of listeners) f(cart);
}

export const onChange = (f) => listeners.add(f);
export const count = () => cart.lines.reduce((n, l) => n + l.qty, 0);
export const locked = () => cart.key !== null;

const same = (a, b) => a.item_id === b.item_id && a.note === b.note &&
  a.modifiers.length === b.modifiers.length && a.modifiers.every((x) => b.modifiers.includes(x));

/** Add a line (merging with an identical one); replace line `at` when editing. */
export function put(line, at = -1) {
  if (locked()) return;
  if (at >= 0) cart.lines.splice(at, 1);
  const twin = cart.lines.find((l) => same(l, line));
  if (twin) twin.qty = Math.min(99, twin.qty + line.qty);
  else if (at >= 0) cart.lines.splice(at, 0, line);
  else cart.lines.push(line);
  changed();
}

export function setQty(i, qty) {
  if (locked()) return;
  if (qty <= 0) cart.lines.splice(i, 1);
  else cart.lines[i].qty = Math.min(99, qty);
  changed();
}

/** The key for this send: the same one for every retry until settle() is called. */
export function sendKey() {
  if (!cart.key) { cart.key = uuid(); changed(); }
  return cart.key;
}

/** The agent answered: `ordered` empties the cart; otherwise unlock it for changes. */
export function settle(ordered) {
  cart = ordered ? { lines: [], key: null } : { lines: cart.lines, key: null };
  changed();
}

export const body = () => ({ lines: cart.lines.map(({ item_id, qty, modifiers, note }) => ({ item_id, qty, modifiers, note })) });

export function clear() { cart = { lines: [], key: null }; changed(); }
