// Devices and the hub link: each printer and the POS with its live status, queue, failures and
// held tickets (release / reprint / drop), a test print per printer. Polled every 5 s while shown.
import { ago, busy, clock, el, errorText, fill, heading, messageBox, onScreen, say, sayOnce } from "./dom.js";
import { onRefresh } from "./live.js";

const POLL_MS = 5000;
const POS = "pos";
const ACTIONS = [["release", "Print it", "Print this ticket now as it is (it did not print)"],
  ["reprint", "Reprint", "Print it again, marked REPRINT"], ["drop", "Drop", "Do not print it"]];

export function mount(section, ctx) {
  const errors = messageBox("alert");
  const news = messageBox("status");
  const link = el("div", { class: "card link" });
  const backup = el("div", { class: "card backup" });
  const list = el("ul", { class: "devices", "aria-label": "Printers and the POS" });
  const updated = el("p", { class: "muted small" });
  heading(section, "Devices");
  section.append(errors, news, link, backup, list, updated);

  async function act(button, path, success) {
    await busy(button, async () => {
      try {
        await ctx.api("POST", path);
        errors.textContent = "";
        say(news, success);
        await reload();
      } catch (err) {
        say(errors, errorText(err));
      }
    });
  }

  function linkView(l) {
    fill(link, el("h3", { text: "Link to the hub" }),
      el("p", { class: l.connected ? "ok strong" : "bad strong", text: l.connected ? "Connected" : "Not connected" }),
      el("dl", { class: "facts" },
        el("div", {}, el("dt", { text: "Messages waiting" }), el("dd", { text: String(l.waiting) })),
        el("div", {}, el("dt", { text: "Last acknowledged" }),
          el("dd", { text: l.last_ack_at ? `${clock(l.last_ack_at)} (${ago(l.last_ack_at)})` : "never" }))),
      l.connected ? null : el("p", { class: "small", text: "Orders and cash payments carry on; they reach the hub "
        + "when the link is back. Diners can still pay by card on their own mobile data." }));
  }

  // The last good backup (docs/recovery.md): older than an hour raises the red banner too.
  function backupView(b) {
    if (!b) { backup.hidden = true; return; }
    backup.hidden = false;
    const when = (t) => (t ? `${clock(t)} (${ago(t)})` : "never");
    fill(backup, el("h3", { text: "Backups" }),
      el("p", { class: b.stale ? "bad strong" : "ok strong", text: b.stale ? "No recent backup" : "Backed up" }),
      el("dl", { class: "facts" },
        el("div", {}, el("dt", { text: "Last good backup" }), el("dd", { text: when(b.last_good_at) })),
        b.uploads ? el("div", {}, el("dt", { text: "Last sent to the hub" }), el("dd", { text: when(b.last_uploaded_at) }))
          : null,
        b.last_error ? el("div", {}, el("dt", { text: "Last problem" }), el("dd", { text: b.last_error })) : null));
  }

  function heldView(device) {
    if (!device.held.length) return null;
    return el("div", { class: "held" }, el("h4", { text: `Held tickets (${device.held.length})` }),
      el("p", { class: "small", text: "These may already be on paper. Check the printer, then choose." }),
      el("ul", {}, device.held.map((job) => {
        const what = `${job.table || "?"} #${job.number ?? "?"}`;
        return el("li", {},
          el("span", {}, el("strong", { text: what }), ` · ${clock(job.created_at)}`,
            job.reason ? el("span", { class: "small muted", text: ` · ${job.reason}` }) : null),
          el("span", { class: "job-actions" }, ACTIONS.map(([action, label, help]) => el("button", {
            type: "button", class: action === "drop" ? "danger" : "", text: label, title: help,
            "data-key": `${job.id}:${action}`, "aria-label": `${label}: ticket ${what}`,
            onclick: (e) => act(e.currentTarget, `/api/v1/staff/jobs/${job.id}/${action}`, `${what}: ${label.toLowerCase()} done.`),
          }))));
      })));
  }

  function deviceView(device) {
    const failing = device.state === "failing";
    const queue = Object.entries(device.queue).filter(([status]) => status !== "done")
      .map(([status, n]) => `${n} ${status}`).join(", ") || "empty";
    return el("li", { class: `card device${failing ? " failing" : ""}`, "data-device": device.name },
      el("header", {}, el("h3", { text: device.name === POS ? "POS" : `Printer: ${device.name}` }),
        el("span", { class: `pill ${failing ? "pill-bad" : "pill-ok"}`, text: failing ? "Failing" : "OK" })),
      el("dl", { class: "facts" },
        device.status ? el("div", {}, el("dt", { text: "Status" }),
          el("dd", { text: device.status_detail ? `${device.status}: ${device.status_detail}` : device.status })) : null,
        el("div", {}, el("dt", { text: "Queue" }), el("dd", { text: queue })),
        el("div", {}, el("dt", { text: "Failures in a row" }), el("dd", { text: String(device.failures) })),
        device.failing_since ? el("div", {}, el("dt", { text: "Failing since" }), el("dd", { text: clock(device.failing_since) })) : null,
        device.last_error ? el("div", {}, el("dt", { text: "Last error" }), el("dd", { text: device.last_error })) : null),
      heldView(device),
      device.name === POS ? null : el("button", { type: "button", text: "Test print", "data-key": `test:${device.name}`,
        "aria-label": `Test print on ${device.name}`,
        onclick: (e) => act(e.currentTarget, `/api/v1/staff/devices/${encodeURIComponent(device.name)}/test-print`,
          `Test page sent to ${device.name}.`) }));
  }

  let loadFailed = false;

  async function reload() {
    try {
      const data = await ctx.api("GET", "/api/v1/staff/devices");
      const focused = document.activeElement?.dataset?.key;
      linkView(data.link);
      backupView(data.backup);
      list.replaceChildren(...data.devices.map(deviceView));
      if (focused) list.querySelector(`[data-key="${CSS.escape(focused)}"]`)?.focus();
      ctx.alerts?.(data.alerts);
      updated.textContent = `Updated ${new Date().toLocaleTimeString()}`;
      if (loadFailed) errors.textContent = ""; // only our own "could not load", not an action's refusal
      loadFailed = false;
    } catch (err) {
      loadFailed = true;
      sayOnce(errors, errorText(err));
    }
  }

  async function poll() {
    if (onScreen(section)) await reload();
    setTimeout(poll, POLL_MS);
  }

  onRefresh(ctx.on, () => { if (onScreen(section)) reload(); });
  // shown again (the shell switched screens): fresh figures at once, not up to 5 s later
  new IntersectionObserver((seen) => { if (seen.some((s) => s.isIntersecting)) reload(); }).observe(section);
  poll();
}
