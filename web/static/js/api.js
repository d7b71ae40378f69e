// The REST client: the login session (localStorage "tt.session" = {token, refreshToken, user}),
// Bearer headers, one token refresh on a 401, JSON errors as ApiError, and media as blob: URLs
// (files under /public/ need the Bearer header, so they are fetched, never linked with a token).

const STORAGE_KEY = "tt.session";

export class ApiError extends Error {
  constructor(status, code, message, details = null) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = Array.isArray(details) ? details : [];  // ERR_VALIDATION: [{field, message}]
  }
}

const listeners = new Set();
let current = readSession();
let refreshing = null;
let refreshTimer = null;

function readSession() {
  try {
    return JSON.parse(localStorage.getItem(STORAGE_KEY) || "null");
  } catch {
    return null;
  }
}

function store(data) {
  current = data;
  if (data) localStorage.setItem(STORAGE_KEY, JSON.stringify(data));
  else localStorage.removeItem(STORAGE_KEY);
  scheduleRefresh();
  listeners.forEach((fn) => fn(current));
}

export const session = {
  get: () => current,
  token: () => (current ? current.token : null),
  /** fn(sessionOrNull) after every login, refresh and logout (also from another tab). */
  onChange: (fn) => listeners.add(fn),
};

window.addEventListener("storage", (event) => {
  if (event.key === STORAGE_KEY) {
    current = readSession();
    listeners.forEach((fn) => fn(current));
  }
});

/** Seconds-since-epoch "exp" of a JWT, in ms; 0 when unreadable. */
function expiresAt(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    return JSON.parse(atob(payload)).exp * 1000;
  } catch {
    return 0;
  }
}

function scheduleRefresh() {
  clearTimeout(refreshTimer);
  if (!current) return;
  const wait = expiresAt(current.token) - Date.now() - 60_000;
  refreshTimer = setTimeout(() => refresh().catch(() => {}), Math.max(wait, 5_000));
}

async function parse(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { error: `ERR_HTTP_${response.status}`, message: text.slice(0, 200) };
  }
}

async function raw(method, path, { json, form, auth = true } = {}) {
  const headers = {};
  if (auth && current) headers.Authorization = `Bearer ${current.token}`;
  let body;
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (form) {
    body = form;
  }
  try {
    return await fetch(path, { method, headers, body, cache: "no-store" });
  } catch (error) {
    throw new ApiError(0, "ERR_NETWORK", error.message || "network error");
  }
}

async function withRefresh(method, path, options) {
  let response = await raw(method, path, options);
  if (response.status === 401 && current && current.refreshToken) {
    await refresh();
    response = await raw(method, path, options);
  }
  return response;
}

/** JSON request; resolves with the parsed body, rejects with ApiError. */
export async function request(method, path, options = {}) {
  const response = await withRefresh(method, path, options);
  const data = await parse(response);
  if (!response.ok) {
    throw new ApiError(response.status, (data && data.error) || `ERR_HTTP_${response.status}`,
      (data && data.message) || response.statusText, data && data.details);
  }
  return data;
}

export const get = (path) => request("GET", path);
export const post = (path, json) => request("POST", path, { json });
export const put = (path, json) => request("PUT", path, { json });
export const del = (path) => request("DELETE", path);

export async function login(email, password) {
  const response = await raw("POST", "/auth/login", { json: { email, password }, auth: false });
  const data = await parse(response);
  if (!response.ok) throw new ApiError(response.status, data && data.error, data && data.message);
  store({ token: data.token, refreshToken: data.refreshToken, user: data.user });
  return data.user;
}

/** New tokens from the refresh token; one at a time. A refused refresh ends the session. */
export function refresh() {
  if (!refreshing) {
    refreshing = (async () => {
      const response = await raw("POST", "/auth/refresh_token",
        { json: { refreshToken: current && current.refreshToken }, auth: false });
      const data = await parse(response);
      if (response.status === 401 || response.status === 400) {
        store(null);
        throw new ApiError(401, "ERR_SESSION_EXPIRED", "session ended");
      }
      if (!response.ok) throw new ApiError(response.status, data && data.error, "refresh failed");
      store({ token: data.token, refreshToken: data.refreshToken, user: data.user });
    })().finally(() => { refreshing = null; });
  }
  return refreshing;
}

export async function logout() {
  try {
    await raw("POST", "/auth/logout");
  } finally {
    store(null);
  }
}

/** A media file as a Blob (with the Bearer header). */
export async function fetchBlob(path) {
  const response = await withRefresh("GET", path, {});
  if (!response.ok) throw new ApiError(response.status, `ERR_HTTP_${response.status}`, path);
  return response.blob();
}

/** blob: URLs for media paths, fetched once each; clear() revokes them all. */
export class MediaCache {
  constructor() {
    this.urls = new Map();
  }

  url(path) {
    if (!this.urls.has(path)) {
      this.urls.set(path, fetchBlob(path).then((blob) => URL.createObjectURL(blob)));
    }
    return this.urls.get(path);
  }

  clear() {
    for (const promise of this.urls.values()) {
      promise.then((url) => URL.revokeObjectURL(url), () => {});
    }
    this.urls.clear();
  }
}
