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
export function announce(id, text) {
  const region = $(id);
  region.textContent = "";
  // a fresh node each time, so the same message twice is read twice
  requestAnimationFrame(() => { region.textContent = text; });
}
