// Menu screen. Everyone: mark items and modifiers sold out (one tap) and back.
// Managers also: edit items, categories and modifier groups; import and export.
import { api } from "./api.js";
import { h, money, status } from "./dom.js";

let root, session, line, menu, view = "soldout", filter = "";
const isManager = () => session.staff.role === "manager";
const BASE = "/api/v1/staff/menu";

export function show(el, s) {
  root = el;
  session = s;
  if (!isManager()) view = "soldout";
  load();
}

async function load(message = "", kind = "ok") {
  try {
    menu = await api(BASE);
    render();
    if (message) status(line, message, kind);
  } catch (e) {
    root.replaceChildren(line = h("p", { class: "status" }));
    status(line, e.message, "error");
  }
}

async function change(action, done) {
  try {
    await action();
    await load(done);
  } catch (e) {
    // a stale form (409) or a refusal: say so, and show what is stored now
    await load(e.message, "error");
  }
}

function render() {
  line = h("p", { class: "status", role: "status" });
  const search = h("input", { type: "search", placeholder: "Find a dish", "aria-label": "Find a dish", value: filter,
    oninput: () => { filter = search.value.toLowerCase(); renderBody(body); } });
  const tabs = isManager() ? h("div", { class: "tabs-inline", role: "group", "aria-label": "Menu tools" },
    ...[["soldout", "Sold out"], ["edit", "Edit menu"], ["files", "Import / export"]].map(([key, label]) =>
      h("button", { type: "button", "aria-pressed": String(view === key),
        onclick: () => { view = key; render(); } }, label))) : null;
  const body = h("div", { id: "menu-body" });
  root.replaceChildren(...[tabs, h("div", { class: "toolbar" }, search), line, body].filter(Boolean));
  renderBody(body);
}

function renderBody(body) {
  if (view === "edit") return body.replaceChildren(...editView());
  if (view === "files") return body.replaceChildren(...filesView());
  body.replaceChildren(...soldOutView());
}

const matches = (name) => !filter || name.toLowerCase().includes(filter);

// -- sold out ----------------------------------------------------------------------------------------

function toggle(kind, obj) {
  const out = !obj.available;
  return h("button", { type: "button", class: "toggle", "aria-pressed": String(out),
    "aria-label": `${obj.name}: ${out ? "sold out, tap when back" : "available, tap when sold out"}`,
    onclick: () => change(() => api(`${BASE}/${kind}/${encodeURIComponent(obj.id)}/availability`,
      { method: "POST", body: { available: out } }), `${obj.name} is ${out ? "available again" : "sold out"}.`) },
  out ? "Sold out" : "Available");
}

function soldOutView() {
  const parts = [];
  for (const category of menu.categories) {
    const items = category.items.filter((i) => matches(i.name));
    if (!items.length) continue;
    parts.push(h("h3", { class: "group-title" }, category.name), h("ul", { class: "list" }, items.map((item) =>
      h("li", { class: `row${item.available ? "" : " sold-out"}`, dataset: { item: item.id } },
        h("span", { class: "name" }, item.name), toggle("items", item)))));
  }
  const mods = menu.modifier_groups.flatMap((g) => g.modifiers.filter((m) => matches(m.name))
    .map((m) => h("li", { class: `row${m.available ? "" : " sold-out"}`, dataset: { modifier: m.id } },
      h("span", {}, h("span", { class: "name" }, m.name), " ", h("span", { class: "small muted" }, g.name)),
      toggle("modifiers", m))));
  if (mods.length) parts.push(h("h3", { class: "group-title" }, "Options"), h("ul", { class: "list" }, mods));
  return parts.length ? parts : [h("p", { class: "muted" }, "Nothing matches.")];
}

// -- editor ------------------------------------------------------------------------------------------

const list = (text) => text.split(",").map((s) => s.trim()).filter(Boolean);
const languages = () => (menu.restaurant?.languages || []).filter((l) => l !== menu.restaurant?.locale);

function toMinor(text) {
  const value = Number(String(text).replace(",", "."));
  if (!Number.isFinite(value) || value < 0) return NaN;
  return Math.round(value * 10 ** menu.exponent);
}

function editView() {
  const parts = [h("div", { class: "toolbar" },
    h("button", { type: "button", class: "primary", onclick: () => itemDialog(null) }, "New item"),
    h("button", { type: "button", onclick: () => categoryDialog(null) }, "New category"),
    h("button", { type: "button", onclick: () => groupDialog(null) }, "New option group"))];
  for (const category of menu.categories) {
    parts.push(h("h3", { class: "group-title" }, category.name, " ",
      h("button", { type: "button", onclick: () => categoryDialog(category) }, "Edit category")));
    parts.push(h("ul", { class: "list" }, category.items.filter((i) => matches(i.name)).map((item) =>
      h("li", { class: "row", dataset: { item: item.id } },
        h("span", { class: "what" }, h("span", { class: "name" }, item.name),
          h("span", { class: "muted" }, `${money(item.price_minor, menu.exponent)} ${menu.restaurant.currency}`),
          item.available ? "" : h("span", { class: "pill out" }, "sold out")),
        h("div", { class: "actions" },
          h("button", { type: "button", onclick: () => itemDialog(item) }, "Edit"),
          h("button", { type: "button", class: "danger", onclick: () => {
            if (confirm(`Delete ${item.name} from the menu?`)) {
              change(() => api(`${BASE}/items/${encodeURIComponent(item.id)}?version=${item.version}`,
                { method: "DELETE" }), `Deleted ${item.name}.`);
            }
          } }, "Delete"))))));
  }
  parts.push(h("h3", { class: "group-title" }, "Option groups"), h("ul", { class: "list" },
    menu.modifier_groups.map((g) => h("li", { class: "row" },
      h("span", {}, h("span", { class: "name" }, g.name), " ",
        h("span", { class: "small muted" }, `choose ${g.min}-${g.max}: ${g.modifiers.map((m) => m.name).join(", ")}`)),
      h("button", { type: "button", onclick: () => groupDialog(g) }, "Edit")))));
  return parts;
}

function field(label, input, wide = false) {
  return h("label", { class: wide ? "wide" : "" }, label, input);
}

/** A checkbox with its label beside it, the whole line a tap target. */
function check(label, input) {
  return h("label", { class: "check" }, input, h("span", {}, label));
}

function dialog(title, fields, onsave) {
  const message = h("p", { class: "status" });
  const dlg = h("dialog", { "aria-label": title });
  const form = h("form", { method: "dialog", onsubmit: async (event) => {
    event.preventDefault();
    try {
      await onsave();
      dlg.close();
      dlg.remove();
      await load("Saved.");
    } catch (e) {
      status(message, e.message, "error");  // the form stays open with what was typed
    }
  } }, h("h3", {}, title), message, h("div", { class: "form-grid" }, fields),
  h("div", { class: "toolbar" }, h("button", { type: "submit", class: "primary" }, "Save"),
    h("button", { type: "button", onclick: () => { dlg.close(); dlg.remove(); } }, "Cancel")));
  dlg.append(form);
  document.body.append(dlg);
  dlg.showModal();
}

function translationFields(obj, withDescription) {
  return languages().map((lang) => {
    const tr = obj?.translations?.[lang] || {};
    const name = h("input", { value: tr.name || "", dataset: { lang, part: "name" } });
    const fields = [field(`Name (${lang})`, name)];
    if (withDescription) {
      fields.push(field(`Description (${lang})`, h("textarea", { dataset: { lang, part: "description" } },
        tr.description || ""), true));
    }
    return fields;
  }).flat();
}

function readTranslations(fields) {
  const out = {};
  for (const input of fields.flatMap((f) => [...f.querySelectorAll("[data-lang]")])) {
    const { lang, part } = input.dataset;
    if (!input.value.trim()) continue;
    out[lang] = { ...(out[lang] || {}), [part]: input.value.trim() };
  }
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v.name));
}

function itemDialog(item) {
  const v = item || { name: "", description: "", price_minor: 0, allergens: [], tags: [], stations: ["kitchen"],
    course: "", modifier_groups: [], translations: {}, available: true,
    category_id: menu.categories[0]?.id };
  const name = h("input", { value: v.name, required: true, maxlength: "120" });
  const category = h("select", {}, menu.categories.map((c) => h("option", { value: c.id,
    selected: c.id === v.category_id }, c.name)));
  const price = h("input", { value: money(v.price_minor, menu.exponent), inputmode: "decimal", required: true });
  const description = h("textarea", {}, v.description);
  const allergens = h("input", { value: v.allergens.join(", "), placeholder: "gluten, milk, nuts" });
  const tags = h("input", { value: v.tags.join(", "), placeholder: "vegetarian, spicy" });
  const stations = h("input", { value: v.stations.join(", "), placeholder: "kitchen" });
  const course = h("input", { value: v.course });
  const available = h("input", { type: "checkbox", checked: v.available });
  const groups = menu.modifier_groups.map((g) => check(g.name, h("input", { type: "checkbox", value: g.id,
    checked: v.modifier_groups.includes(g.id) })));
  const translations = translationFields(v, true);
  const fields = [field("Name", name), field("Category", category), field(`Price (${menu.restaurant.currency})`, price),
    check("Available to order", available), field("Description", description, true),
    field("Allergens", allergens), field("Tags", tags), field("Stations", stations),
    field("Course", course), h("fieldset", { class: "wide" }, h("legend", {}, "Option groups"), groups),
    ...translations];
  dialog(item ? `Edit ${item.name}` : "New item", fields, () => {
    const priceMinor = toMinor(price.value);
    if (Number.isNaN(priceMinor)) throw new Error("The price is not a number.");
    const body = { name: name.value, category_id: category.value, price_minor: priceMinor,
      description: description.value, allergens: list(allergens.value), tags: list(tags.value),
      stations: list(stations.value), course: course.value, available: available.checked,
      modifier_groups: groups.map((g) => g.firstChild).filter((c) => c.checked).map((c) => c.value),
      translations: readTranslations(translations) };
    if (!item) return api(`${BASE}/items`, { method: "POST", body });
    return api(`${BASE}/items/${encodeURIComponent(item.id)}`, { method: "PUT", body: { ...body, version: item.version } });
  });
}

function categoryDialog(category) {
  const name = h("input", { value: category?.name || "", required: true });
  const translations = translationFields(category, false);
  dialog(category ? `Edit ${category.name}` : "New category", [field("Name", name), ...translations], () => {
    const body = { name: name.value, translations: readTranslations(translations) };
    if (!category) return api(`${BASE}/categories`, { method: "POST", body });
    return api(`${BASE}/categories/${encodeURIComponent(category.id)}`,
      { method: "PUT", body: { ...body, version: category.version } });
  });
}

function groupDialog(group) {
  const name = h("input", { value: group?.name || "", required: true });
  const min = h("input", { type: "number", min: "0", value: String(group?.min ?? 0) });
  const max = h("input", { type: "number", min: "1", value: String(group?.max ?? 1) });
  const newMod = h("input", { placeholder: "Add an option (name)" });
  const newPrice = h("input", { placeholder: "Extra price", inputmode: "decimal", value: money(0, menu.exponent) });
  const fields = [field("Name", name), field("Choose at least", min), field("Choose at most", max)];
  if (group) fields.push(field("New option", newMod), field("Its extra price", newPrice));
  dialog(group ? `Edit ${group.name}` : "New option group", fields, async () => {
    const body = { name: name.value, min: Number(min.value), max: Number(max.value) };
    if (!group) return api(`${BASE}/modifier-groups`, { method: "POST", body });
    if (newMod.value.trim()) {
      await api(`${BASE}/modifier-groups/${encodeURIComponent(group.id)}/modifiers`,
        { method: "POST", body: { name: newMod.value, price_minor: toMinor(newPrice.value) } });
    }
    return api(`${BASE}/modifier-groups/${encodeURIComponent(group.id)}`,
      { method: "PUT", body: { ...body, version: group.version } });
  });
}

// -- import / export ------------------------------------------------------------------------------------

function upload(label, path, accept, confirmText) {
  const input = h("input", { type: "file", accept, "aria-label": label });
  return h("div", { class: "row" }, h("span", { class: "name" }, label), h("div", { class: "actions" }, input,
    h("button", { type: "button", onclick: async () => {
      const file = input.files[0];
      if (!file) return status(line, "Choose a file first.", "error");
      if (confirmText && !confirm(confirmText)) return;
      change(async () => {
        const result = await api(path, { method: "POST", body: await file.text(), raw: accept.split(",")[0] });
        return result;
      }, `Imported ${file.name}.`);
    } }, "Import")));
}

function filesView() {
  return [h("ul", { class: "list" },
    h("li", { class: "row" }, h("span", { class: "name" }, "Whole menu (JSON)"),
      h("a", { class: "button", href: `${BASE}/export.json`, download: "menu.json" }, "Export JSON")),
    h("li", { class: "row" }, h("span", { class: "name" }, "Items for a spreadsheet (CSV)"),
      h("a", { class: "button", href: `${BASE}/items.csv`, download: "menu-items.csv" }, "Export CSV")),
    h("li", {}, upload("Replace the whole menu from JSON", `${BASE}/import.json`, "application/json,.json",
      "This replaces the whole menu. Continue?")),
    h("li", {}, upload("Add and update items from CSV", `${BASE}/items.csv`, "text/csv,.csv")),
    h("li", { class: "row" }, h("span", { class: "name" }, "Take the POS's items and prices"),
      h("button", { type: "button", onclick: () => change(() => api(`${BASE}/import-from-pos`, { method: "POST" }),
        "Imported the menu from the POS.") }, "Import from POS")))];
}
