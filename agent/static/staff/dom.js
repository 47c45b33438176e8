// A tiny element builder: h("button", {type: "button", onclick}, "Text"). Text is always text, never HTML.
export function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on")) el.addEventListener(key.slice(2), value);
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key in el && typeof value !== "string") el[key] = value;
    else el.setAttribute(key, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child !== null && child !== undefined && child !== false) el.append(child);
  }
  return el;
}

/** Show a result line: "ok" or "error" (errors stay until the next status). */
export function status(el, text, kind = "ok") {
  el.textContent = text;
  el.className = `status ${kind}`;
  el.setAttribute("role", kind === "error" ? "alert" : "status");
}

export const money = (minor, exponent = 2) => (minor / 10 ** exponent).toFixed(exponent);
