// ONE EventSource on /api/v1/staff/events, shared by every screen. Events are hints on top of
// what the screens load: on every (re)connect the agent says "hello", and on "resync" (we fell
// behind), on waking up and on getting the network back the screens reload everything, so a
// tablet whose Wi-Fi dropped catches up by itself.
const KINDS = ["hello", "order", "bill", "request", "menu", "session", "resync", "link", "device"];
const RETRY_MS = 3000;

export function createLive(url = "/api/v1/staff/events") {
  const handlers = new Map();
  let source = null;
  let retry = null;

  const emit = (kind, data) => {
    for (const handler of handlers.get(kind) || []) {
      try { handler(data); } catch (e) { console.error(`live ${kind} handler`, e); }
    }
  };

  function open() {
    source?.close();
    source = new EventSource(url);
    for (const kind of KINDS) {
      source.addEventListener(kind, (e) => emit(kind, e.data ? JSON.parse(e.data) : {}));
    }
    source.onopen = () => emit("connected", true);
    source.onerror = () => {
      emit("connected", false);
      // the browser retries by itself while CONNECTING; a CLOSED stream (401, 5xx) needs a new one
      if (source.readyState === EventSource.CLOSED && !retry) {
        retry = setTimeout(() => { retry = null; open(); }, RETRY_MS);
      }
    };
  }

  function wake() {
    if (!source || source.readyState === EventSource.CLOSED) open();
    emit("resync", {});
  }

  document.addEventListener("visibilitychange", () => { if (document.visibilityState === "visible") wake(); });
  addEventListener("online", wake);
  open();

  return {
    /** on(kind, handler) -> a function that stops it. Kinds: the agent's events plus "connected". */
    on(kind, handler) {
      if (!handlers.has(kind)) handlers.set(kind, new Set());
      handlers.get(kind).add(handler);
      return () => handlers.get(kind).delete(handler);
    },
    close() { source?.close(); clearTimeout(retry); },
  };
}

/** Call `reload` on hello, resync and reconnect: the one rule every screen follows. */
export function onRefresh(on, reload) {
  on("hello", reload);
  on("resync", reload);
}

/**
 * Reloads that never undo newer news: a reload whose answer may predate an event that arrived
 * while it was on the way runs again. `reload()` starts (or joins) one; `changed()` marks news.
 */
export function freshReload(load) {
  let running = null;
  let stale = false;
  async function loop() {
    do {
      stale = false;
      await load();
    } while (stale);
  }
  return {
    reload() {
      if (running) { stale = true; return running; }
      running = loop().finally(() => { running = null; });
      return running;
    },
    changed() { if (running) stale = true; },
  };
}
