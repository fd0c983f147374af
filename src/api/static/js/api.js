// The JSON API, as the signed-in page calls it: the session cookie authenticates,
// and every state-changing request carries the page's CSRF token in X-CSRF-Token
// (see docs/webapp.md). Errors become ApiError with the API's status, code and message.

const csrf = document.querySelector('meta[name="csrf-token"]')?.content || "";
const SAFE = new Set(["GET", "HEAD"]);

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

/** Headers a request of ``method`` needs beyond its own. */
export function sessionHeaders(method) {
  return SAFE.has(method) ? {} : { "X-CSRF-Token": csrf };
}

/** Call the API: ``body`` is sent as JSON; resolves to the parsed answer ({} for 204). */
export async function api(method, path, body) {
  const headers = sessionHeaders(method);
  const init = { method, headers, credentials: "same-origin" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let response;
  try {
    response = await fetch(path, init);
  } catch (error) {
    throw new ApiError(0, "network", "lockr cannot be reached; check the connection and try again");
  }
  if (response.status === 401) {
    signInAgain();
  }
  const data = response.status === 204 ? {} : await response.json().catch(() => ({}));
  if (!response.ok) {
    const error = data.error || {};
    throw new ApiError(response.status, error.code || "error", error.message || response.statusText);
  }
  return data;
}

/** The session has ended (signed out elsewhere, password changed): sign in again. */
export function signInAgain() {
  const back = window.location.pathname + window.location.search;
  window.location.assign("/login?next=" + encodeURIComponent(back));
}

/** The query string of ``params``, leaving out empty values. */
export function query(params) {
  const search = new URLSearchParams();
  for (const [name, value] of Object.entries(params)) {
    if (value !== undefined && value !== null && value !== "") search.set(name, value);
  }
  return search.toString();
}
