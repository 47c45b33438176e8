// Small DOM helpers shared by the staff screens.

/** el("button", {type: "button", onclick: f, text: "Ready"}, child...) */
export function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else if (k === "class") e.className = v;
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

const SVG = "http://www.w3.org/2000/svg";

/** The same for SVG elements (they need their namespace). */
export function svg(tag, attrs = {}, ...kids) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "text") e.textContent = v;
    else e.setAttribute(k, v);
  }
  e.append(...kids.flat().filter((x) => x != null && x !== false));
  return e;
}

/** A message box screen readers announce (role=alert for errors, role=status for news). */
export function messageBox(kind = "alert") {
  return el("p", { class: kind === "alert" ? "msg msg-error" : "msg msg-ok", role: kind, "aria-live":
    kind === "alert" ? "assertive" : "polite" });
}

/** Show what the agent said: its own message (403 role/CSRF, 409, 422) is the clearest one. */
export function say(box, text) {
  box.textContent = "";
  // a fresh text node each time, so the same message twice is read twice
  requestAnimationFrame(() => { box.textContent = text; });
}

/** For a load that keeps failing (polls, live reloads): say it once, not again every few seconds. */
export function sayOnce(box, text) {
  if (box.textContent !== text) say(box, text);
}

export function errorText(err) {
  if (!err) return "";
  if (err.status === 0) return "The agent did not answer (network). Nothing is known to have changed; try again.";
  return err.message || String(err);
}

/** Run `work` with the button disabled, so a double tap does not send twice. */
export async function busy(button, work) {
  if (button.disabled) return undefined;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  try {
    return await work();
  } finally {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

/** "just now", "4 min", "1 h 12 min" since an ISO time. */
export function age(iso, now = Date.now()) {
  const minutes = Math.max(0, Math.floor((now - Date.parse(iso)) / 60000));
  if (minutes < 1) return "just now";
  if (minutes < 60) return `${minutes} min`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** "just now", or "3 min ago": how long since iso, for a sentence. */
export const ago = (iso, now = Date.now()) => {
  const a = age(iso, now);
  return a === "just now" ? a : `${a} ago`;
};

export const clock = (iso) => (iso ? new Date(iso).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }) : "");

/** Is this section on screen now (shown by the shell, and the tab not in the background)? */
export const onScreen = (section) => document.visibilityState === "visible" && !section.closest("[hidden]")
  && section.getClientRects().length > 0;

/** The screen's heading: the shell's own h2 when it has one (its placeholder text goes), else a new one. */
export function heading(section, text) {
  section.querySelectorAll(".not-built").forEach((p) => p.remove());
  return section.querySelector("h2") || section.appendChild(el("h2", { text }));
}
