// Talking to the agent: JSON in and out, errors as {status, code, message}.
const m = location.pathname.match(/^\/t\/([^/]+)/);
export const token = m ? decodeURIComponent(m[1]) : "";
// Pay links signed by older agents send the diner back to /t/back, which finds the table here
// (agent/web/diner/notices.py); new ones lead straight to /t/{token}#bill.
export const LAST_TABLE = "tableside.table";
if (token && token !== "back") { try { localStorage.setItem(LAST_TABLE, token); } catch { /* private mode */ } }
export const tableUrl = (p = "") => `/api/v1/tables/${encodeURIComponent(token)}${p}`;

export class ApiError extends Error {
  constructor(status, code, message, field) {
    super(message);
    Object.assign(this, { status, code, field });
  }
}

/** fetch + JSON; throws ApiError (status 0 when the network failed: the outcome is unknown). */
export async function call(path, { method = "GET", body, key } = {}) {
  const headers = {};
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (key) headers["Idempotency-Key"] = key;
  let r;
  try {
    r = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store" });
  } catch (e) {
    throw new ApiError(0, "network", e.message);
  }
  if (r.status === 204) return null;
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const err = data?.error || {};
    throw new ApiError(r.status, err.code || "http", err.message || `HTTP ${r.status}`, err.field);
  }
  return data;
}

export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  // plain-http LAN origins are not "secure contexts": randomUUID is missing there
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40; b[8] = (b[8] & 0x3f) | 0x80;
  const h = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
