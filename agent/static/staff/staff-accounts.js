// Staff screen (managers): accounts, roles, new PINs, disabling.
import { api } from "./api.js";
import { h, status } from "./dom.js";

let root, line;
const ROLES = ["manager", "server", "kitchen"];

export function show(el) {
  root = el;
  render();
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

const roleSelect = (value, label) => h("select", { "aria-label": label },
  ROLES.map((r) => h("option", { value: r, selected: r === value }, r)));

async function render() {
  line = h("p", { class: "status", role: "status" });
  const name = h("input", { placeholder: "Name", "aria-label": "Name", required: true });
  const role = roleSelect("server", "Role");
  const secret = h("input", { type: "password", placeholder: "PIN or password", "aria-label": "PIN or password",
    autocomplete: "new-password", required: true });
  const form = h("form", { class: "toolbar", onsubmit: (e) => {
    e.preventDefault();
    change(() => api("/api/v1/staff/accounts", { method: "POST",
      body: { name: name.value, role: role.value, secret: secret.value } }), `Added ${name.value}.`);
  } }, name, role, secret, h("button", { type: "submit" }, "Add staff"));
  const list = h("ul", { class: "list" });
  root.replaceChildren(line, form, list);
  try {
    const { accounts } = await api("/api/v1/staff/accounts");
    for (const a of accounts) list.append(account(a));
  } catch (e) {
    status(line, e.message, "error");
  }
}

function account(a) {
  const role = roleSelect(a.role, `Role of ${a.name}`);
  role.addEventListener("change", () => change(() => api(`/api/v1/staff/accounts/${a.id}`, { method: "PATCH",
    body: { role: role.value } }), `${a.name} is now ${role.value}.`));
  const notes = [a.disabled ? "disabled" : "", a.locked_until ? `locked until ${new Date(a.locked_until)
    .toLocaleTimeString()}` : ""].filter(Boolean).join(", ");
  return h("li", { class: "row" }, h("div", {}, h("div", { class: "name" }, a.name),
    h("div", { class: "small muted" }, notes || a.secret_kind)),
  h("div", { class: "actions" }, role,
    h("button", { type: "button", onclick: () => {
      const secret = prompt(`New PIN (4-8 digits) or password for ${a.name}`);
      if (secret) change(() => api(`/api/v1/staff/accounts/${a.id}`, { method: "PATCH", body: { secret } }),
        `${a.name} has a new PIN or password.`);
    } }, "New PIN"),
    h("button", { type: "button", class: a.disabled ? "" : "danger", onclick: () => change(() =>
      api(`/api/v1/staff/accounts/${a.id}`, { method: "PATCH", body: { disabled: !a.disabled } }),
    a.disabled ? `${a.name} can sign in again.` : `${a.name} is disabled.`) }, a.disabled ? "Enable" : "Disable")));
}
