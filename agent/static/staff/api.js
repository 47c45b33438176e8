// Talking to the agent's staff API: JSON in and out, the CSRF token on every change, errors as ApiError.
let csrfToken = "";
export const setCsrf = (token) => { csrfToken = token || ""; };

export class ApiError extends Error {
  constructor(status, code, message, extra = {}) {
    super(message);
    Object.assign(this, { status, code, extra });
  }
}

/** Called with the error when the session is gone (expired, signed out elsewhere, account disabled). */
let onSignedOut = () => {};
export const whenSignedOut = (fn) => { onSignedOut = fn; };

export async function api(path, { method = "GET", body, raw = false } = {}) {
  const headers = {};
  if (body !== undefined && !raw) headers["Content-Type"] = "application/json";
  if (raw) headers["Content-Type"] = raw;
  if (method !== "GET") headers["X-CSRF-Token"] = csrfToken;
  let r;
  try {
    r = await fetch(path, { method, headers, cache: "no-store", credentials: "same-origin",
      body: body === undefined ? undefined : (raw ? body : JSON.stringify(body)) });
  } catch (e) {
    throw new ApiError(0, "network", "The agent cannot be reached. Check the tablet's Wi-Fi and try again.");
  }
  const data = await r.json().catch(() => null);
  if (!r.ok) {
    const err = data?.error || {};
    const { code = "http", message = `The agent answered ${r.status}.`, ...extra } = err;
    const error = new ApiError(r.status, code, message, extra);
    if (r.status === 401 && code === "sign_in_required" && path !== "/api/v1/staff/session") onSignedOut(error);
    throw error;
  }
  return data;
}
