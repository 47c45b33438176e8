// Tables screen: tables grouped by area; managers add, rename, move, rotate a QR code and remove.
import { api } from "./api.js";
import { h, status } from "./dom.js";

let root, session, line;
const isManager = () => session.staff.role === "manager";

export function show(el, s) {
  root = el;
  session = s;
  render();
}

async function render() {
  line = h("p", { class: "status", role: "status" });
  const cards = h("a", { class: "button primary", href: "/staff/tables/cards", id: "print-cards" }, "Print table cards");
  const toolbar = h("div", { class: "toolbar" }, cards);
  root.replaceChildren(toolbar, line);
  if (isManager()) root.append(addForm());
  const list = h("div", { id: "tables-list" });
  root.append(list);
  try {
    const { tables } = await api("/api/v1/staff/tables");
    const areas = new Map();
    for (const t of tables) {
      if (!areas.has(t.area)) areas.set(t.area, []);
      areas.get(t.area).push(t);
    }
    if (!tables.length) list.append(h("p", { class: "muted" }, "No tables yet."));
    for (const [area, rows] of areas) {
      list.append(h("h3", { class: "group-title" }, area || "No area"),
        h("ul", { class: "list" }, rows.map(row)));
    }
  } catch (e) {
    status(line, e.message, "error");
  }
}

function addForm() {
  const name = h("input", { name: "name", required: true, maxlength: "40", "aria-label": "New table name",
    placeholder: "Table name" });
  const area = h("input", { name: "area", maxlength: "40", "aria-label": "Area", placeholder: "Area (optional)" });
  return h("form", { class: "toolbar", id: "add-table", onsubmit: async (event) => {
    event.preventDefault();
    await change(() => api("/api/v1/staff/tables", { method: "POST", body: { name: name.value, area: area.value } }),
      `Added ${name.value}.`);
  } }, name, area, h("button", { type: "submit" }, "Add table"));
}

async function change(action, done) {
  try {
    await action();
    await render();
    status(line, done);
  } catch (e) {
    status(line, e.message, "error");
  }
}

function row(table) {
  const actions = h("div", { class: "actions" },
    h("a", { class: "button", href: `/api/v1/staff/tables/${table.id}/qr.svg`, download: "" }, "QR SVG"),
    h("a", { class: "button", href: `/api/v1/staff/tables/${table.id}/qr.png`, download: "" }, "QR PNG"),
    h("a", { class: "button", href: `/staff/tables/cards?table=${encodeURIComponent(table.id)}` }, "Card"));
  if (isManager()) {
    actions.append(
      h("button", { type: "button", onclick: () => edit(table) }, "Rename / area"),
      h("button", { type: "button", onclick: () => {
        if (!confirm(`Make a new QR code for ${table.name}? The printed code stops working at once.`)) return;
        change(() => api(`/api/v1/staff/tables/${table.id}/rotate-token`, { method: "POST" }),
          `${table.name} has a new QR code: print its card again.`);
      } }, "New QR code"),
      h("button", { type: "button", class: "danger", onclick: () => {
        if (!confirm(`Remove ${table.name}?`)) return;
        change(() => api(`/api/v1/staff/tables/${table.id}`, { method: "DELETE" }), `Removed ${table.name}.`);
      } }, "Remove"));
  }
  return h("li", { class: "row", dataset: { table: table.name } },
    h("div", {}, h("div", { class: "name" }, table.name), h("div", { class: "small muted" }, table.url)), actions);
}

function edit(table) {
  const name = prompt("Table name", table.name);
  if (name === null) return;
  const area = prompt("Area (empty for none)", table.area);
  if (area === null) return;
  change(() => api(`/api/v1/staff/tables/${table.id}`, { method: "PATCH", body: { name, area } }), "Saved.");
}
