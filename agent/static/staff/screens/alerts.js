// The red banner (the shell's #alerts, through its raise/clear): what needs a person now (held
// tickets, a failing printer or POS), from GET /api/v1/staff/devices, on every screen.
const POLL_MS = 5000;
const PREFIX = "devices:";

/** Keeps the banner in step with the agent's list; an alert staff dismissed stays dismissed
 * until it changes or goes away and comes back. */
export function alertSync(raise, clear) {
  let shown = new Set();
  return function sync(alerts) {
    const now = new Set(alerts.map((text) => PREFIX + text));
    for (const key of shown) if (!now.has(key)) clear(key);
    for (const key of now) if (!shown.has(key)) raise(key, key.slice(PREFIX.length));
    shown = now;
  };
}

/** Poll the devices endpoint every 5 s and feed `sync`; returns a function to stop. */
export function watchAlerts(api, sync) {
  let stopped = false;
  let timer = null;
  async function poll() {
    try {
      sync((await api("GET", "/api/v1/staff/devices")).alerts);
    } catch {
      // signed out or the agent restarting: the screens say so; the banner keeps what it knew
    }
    if (!stopped) timer = setTimeout(poll, POLL_MS);
  }
  poll();
  return () => { stopped = true; clearTimeout(timer); };
}
