// The live stream from the agent (Server-Sent Events). Events are hints: on every (re)connect, and
// whenever the phone wakes up or gets its network back, the page reloads its state, so nothing
// missed while asleep or offline is ever lost.
import { tableUrl } from "./api.js";

let source = null;
let handlers = {};
let retry = null;

export function connect(on) {
  handlers = on;
  open();
  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") wake(); });
  addEventListener("online", wake);
  addEventListener("pageshow", (e) => { if (e.persisted) wake(); });  // back from the pay page (bfcache)
}

function open() {
  source?.close();
  source = new EventSource(tableUrl("/events"));
  for (const kind of ["order", "bill", "request", "menu", "session"]) {
    source.addEventListener(kind, (e) => handlers[kind]?.(JSON.parse(e.data)));
  }
  source.addEventListener("hello", (e) => { handlers.connected?.(true); handlers.hello?.(JSON.parse(e.data)); });
  source.addEventListener("resync", () => handlers.refresh?.());
  source.onerror = () => {
    handlers.connected?.(false);
    // the browser retries by itself while CONNECTING; a CLOSED stream (e.g. a 5xx) needs a new one
    if (source.readyState === EventSource.CLOSED && !retry) retry = setTimeout(() => { retry = null; open(); }, 3000);
  };
}

/** Open the stream again at once (the visit it should follow changed). */
export function reconnect() { open(); }

function wake() {
  // a stream still "connecting" may be inside the browser's own back-off: start afresh at once
  if (!source || source.readyState !== EventSource.OPEN) open();
  handlers.refresh?.();
}
