// The item sheet: photo, details, modifier groups (required/optional, min/max, price changes),
// quantity and a note; adds a line to the cart or updates one.
import { $, el } from "./dom.js";
import { t, label } from "./i18n.js";
import { money } from "./money.js";
import { menu } from "./menu.js";
import * as cart from "./cart.js";

let item = null;
let editing = -1;
let qty = 1;

export function openItem(id, at = -1) {
  item = menu.items.get(id);
  if (!item || item.available === false) return;
  editing = at;
  const line = at >= 0 ? cart.cart.lines[at] : { modifiers: [], note: "", qty: 1 };
  qty = line.qty;
  const dlg = $("sheet");
  const body = el("div", { class: "sheet-body" },
    item.photo ? el("img", { class: "hero", src: item.photo.url, width: item.photo.width, height: item.photo.height, alt: "" }) : null,
    el("h2", { id: "sheet-title", text: item.name }),
    item.description ? el("p", { text: item.description }) : null,
    item.allergens.length ? el("p", { class: "muted", text: `${t("contains")}: ${item.allergens.map(label).join(", ")}` }) : null,
    ...item.modifier_groups.map((gid) => groupField(menu.groups.get(gid), line.modifiers)).filter(Boolean),
    el("label", { for: "sheet-note", text: t("note") }),
    el("textarea", { id: "sheet-note", maxlength: 200, rows: 2, placeholder: t("notePh"), text: line.note }),
    el("div", { class: "qty-row" },
      el("span", { id: "qty-label", text: t("qty") }),
      stepper("sheet-qty", () => qty, (n) => { qty = Math.max(1, Math.min(99, n)); refresh(); }, item.name)),
    el("p", { id: "sheet-error", class: "error", role: "alert" }));
  const foot = el("div", { class: "sheet-foot" },
    el("button", { type: "submit", id: "sheet-add", class: "primary" }));
  const form = el("form", { method: "dialog", novalidate: true, onchange: refresh, onsubmit: submit }, body, foot);
  dlg.replaceChildren(el("button", { type: "button", class: "close", "aria-label": t("close"), onclick: () => dlg.close(), text: "×" }), form);
  dlg.setAttribute("aria-labelledby", "sheet-title");
  refresh();
  dlg.showModal();
}

/** A "−  2  +" control; get/set are the value's accessors. */
export function stepper(id, get, set, name) {
  const out = el("output", { id, "aria-live": "polite", text: get() });
  return el("span", { class: "stepper" },
    el("button", { type: "button", "aria-label": `${t("less")}: ${name}`, onclick: () => { set(get() - 1); out.textContent = get(); }, text: "−" }),
    out,
    el("button", { type: "button", "aria-label": `${t("more")}: ${name}`, onclick: () => { set(get() + 1); out.textContent = get(); }, text: "+" }));
}

function rule(g) {
  if (g.min === g.max) return `${t("choose", g.min)}, ${t("required")}`;
  if (g.min > 0) return `${t("chooseRange", g.min, g.max)}, ${t("required")}`;
  return t("upTo", g.max);
}

function groupField(g, chosen) {
  if (!g) return null;
  const single = g.max === 1;
  const options = g.modifiers.map((x) => {
    const id = `mod-${x.id}`;
    const off = x.available === false;
    const extra = off ? t("soldOut") : x.price_minor ? `${x.price_minor > 0 ? "+" : "−"}${money(Math.abs(x.price_minor))}` : "";
    return el("div", { class: "opt" },
      el("input", { type: single ? "radio" : "checkbox", id, name: `g-${g.id}`, value: x.id, disabled: off,
        checked: chosen.includes(x.id) }),
      el("label", { for: id }, el("span", { text: x.name }), extra ? el("span", { class: "muted", text: extra }) : null));
  });
  if (single && g.min === 0) {
    options.unshift(el("div", { class: "opt" },
      el("input", { type: "radio", id: `mod-none-${g.id}`, name: `g-${g.id}`, value: "",
        checked: !g.modifiers.some((x) => chosen.includes(x.id)) }),
      el("label", { for: `mod-none-${g.id}`, text: t("none") })));
  }
  return el("fieldset", { "data-group": g.id },
    el("legend", {}, el("span", { text: g.name }), el("span", { class: "rule", text: rule(g) })), ...options);
}

const picked = (fs) => [...fs.querySelectorAll("input:checked")].map((i) => i.value).filter(Boolean);

function choices() {
  return [...$("sheet").querySelectorAll("fieldset")].map((fs) => ({ g: menu.groups.get(fs.dataset.group), fs, ids: picked(fs) }));
}

function refresh() {
  $("sheet-error").textContent = "";  // a change answers the last complaint; submit checks again
  for (const fs of $("sheet").querySelectorAll("fieldset.needs-choice")) {
    fs.classList.remove("needs-choice");
    fs.querySelector(".group-error")?.remove();
  }
  let unit = item.price_minor;
  for (const { g, fs, ids } of choices()) {
    for (const id of ids) unit += menu.mods.get(id)?.price_minor ?? 0;
    if (g.max > 1) {  // a full group: the rest can no longer be ticked
      for (const box of fs.querySelectorAll("input")) {
        box.disabled = menu.mods.get(box.value)?.available === false || (!box.checked && ids.length >= g.max);
      }
    }
  }
  $("sheet-add").textContent = t(editing >= 0 ? "update" : "addToOrder", money(unit * qty));
}

function submit(event) {
  const wrong = choices().find(({ g, ids }) => ids.length < g.min || ids.length > g.max);
  if (wrong) {
    event.preventDefault();
    const need = wrong.g.min === wrong.g.max ? wrong.g.min : `${wrong.g.min}–${wrong.g.max}`;
    // said where the diner is looking: in the group itself, outlined, scrolled to, its first option focused
    const message = t("needChoice", wrong.g.name, need);
    $("sheet-error").textContent = message;
    wrong.fs.classList.add("needs-choice");
    wrong.fs.querySelector(".group-error")?.remove();
    wrong.fs.querySelector("legend").after(el("p", { class: "group-error", text: message }));
    wrong.fs.scrollIntoView({ block: "center", behavior: "smooth" });
    wrong.fs.querySelector("input:not(:disabled)")?.focus({ preventScroll: true });
    return;
  }
  const modifiers = choices().flatMap(({ ids }) => ids);
  cart.put({ item_id: item.id, qty, modifiers, note: $("sheet-note").value.trim() }, editing);
}
