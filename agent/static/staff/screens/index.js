// Starts the live screens inside the shell (agent/static/staff/app.js), once per signed-in person:
// one shared event stream, the red banner kept current, and each screen mounted in its section.
//   startScreens({api, raise, clear, staff})   api(path, {method, body}) is the shell's helper
import { alertSync, watchAlerts } from "./alerts.js";
import * as board from "./board.js";
import * as bills from "./bills.js";
import * as devices from "./devices.js";
import { createLive } from "./live.js";
import * as report from "./report.js";
import * as requests from "./requests.js";

const SCREENS = { board, requests, bills, devices, report };
let started = null;

function styles() {
  if (document.querySelector("link[data-screens]")) return;
  document.head.append(Object.assign(document.createElement("link"), {
    rel: "stylesheet", href: new URL("./screens.css", import.meta.url).href }));
  document.head.lastChild.dataset.screens = "";
}

export function startScreens({ api, raise, clear, staff }) {
  if (started) {
    // someone else signed in on this tablet: start clean rather than show the last person's screens
    if (started !== staff.id) location.reload();
    return;
  }
  started = staff.id;
  styles();
  const live = createLive();
  const sync = alertSync(raise, clear);
  const ctx = {
    api: (method, path, body) => api(path, { method, body }),
    on: live.on,
    staff: { name: staff.name, role: staff.role },
    alerts: sync,
  };
  for (const [name, screen] of Object.entries(SCREENS)) {
    const section = document.getElementById(`screen-${name}`);
    if (section) screen.mount(section, ctx);
  }
  watchAlerts(ctx.api, sync);
}
