// The red banner at the top: things that need a person (a printer out, the hub link down, ...).
// Any screen may raise or clear an alert by its key; the same key replaces its old text.
const root = () => document.getElementById("alerts");

export function raise(key, text) {
  let el = root().querySelector(`[data-key="${CSS.escape(key)}"]`);
  if (!el) {
    el = document.createElement("div");
    el.className = "alert";
    el.dataset.key = key;
    el.append(document.createElement("span"));
    const dismiss = document.createElement("button");
    dismiss.type = "button";
    dismiss.textContent = "Dismiss";
    dismiss.addEventListener("click", () => el.remove());
    el.append(dismiss);
    root().append(el);
  }
  el.firstChild.textContent = text;
}

export function clear(key) {
  root().querySelector(`[data-key="${CSS.escape(key)}"]`)?.remove();
}
