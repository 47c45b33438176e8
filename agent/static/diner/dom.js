// Small DOM helpers shared by the views.
export const $ = (id) => document.getElementById(id);

/** el("button", {type: "button", onclick: f, text: "Add"}, child...) */
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else if (v !== false && v != null) e.setAttribute(k, v === true ? "" : v);
  }
  e.append(...kids.flat().filter((x) => x != null && x !== false));
  return e;
}

/** Replace node's children with kids, leaving out the null/false a condition gives (the DOM's own
 * replaceChildren would show them as the text "null"). */
export function fill(node, ...kids) {
  node.replaceChildren(...kids.flat().filter((x) => x != null && x !== false));
}

/** Say something to screen readers (and show it) in a live region. */
export function announce(id, text, { fadeAfter = 0 } = {}) {
  const region = $(id);
  region.textContent = "";
  // a fresh node each time, so the same message twice is read twice
  requestAnimationFrame(() => { region.textContent = text; });
  // news of a moment ("added", "sent") goes before it turns stale; only a newer message replaces it
  if (fadeAfter) setTimeout(() => { if (region.textContent === text) region.textContent = ""; }, fadeAfter);
}

export const MOMENT_MS = 8000;  // how long news of a moment stays on screen
