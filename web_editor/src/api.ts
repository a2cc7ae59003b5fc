// The HTTP client for the flowengine API. JSON in and out; the CSRF token of a login session is
// sent on every state-changing request; a 401 anywhere hands control back to the login form.
import type { AuthInfo, DeployType, FlowDocument, Palette, Problem } from "./types";

export class ApiError extends Error {
  readonly status: number;
  readonly body: unknown;

  constructor(status: number, body: unknown, message: string) {
    super(message);
    this.status = status;
    this.body = body;
  }

  /** The problems of a 400 deploy/validate answer (empty when there are none). */
  get issues(): Problem[] {
    const body = this.body as { issues?: unknown } | null;
    return Array.isArray(body?.issues) ? (body.issues as Problem[]) : [];
  }
}

const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

let csrfToken: string | null = null;
/** Who the token belongs to (null: no accounts, or not signed in). */
let sessionUser: string | null = null;
let onUnauthorized: (() => void) | null = null;

export function setCsrfToken(token: string | null, user: string | null = null): void {
  csrfToken = token;
  sessionUser = token ? user : null;
}

/** Called when any request (but login and me) answers 401: the session has ended. */
export function setUnauthorizedHandler(handler: (() => void) | null): void {
  onUnauthorized = handler;
}

interface RequestOptions {
  body?: unknown;
  headers?: Record<string, string>;
  /** Do not treat a 401 as "session ended" (login and the initial me). */
  allow401?: boolean;
}

/** `__proto__` keys are dropped from answers: a key-copying loop would set a prototype with them. */
const dropProto = (key: string, value: unknown): unknown => (key === "__proto__" ? undefined : value);

function isCsrfRefusal(status: number, body: unknown): boolean {
  return status === 403 && !!body && typeof body === "object" && (body as { error?: unknown }).error === "csrf";
}

/**
 * The session's CSRF token as the server has it now. Another browser tab that signed in again
 * replaced the session cookie, and with it the token this tab holds. "ended" when there is no
 * session any more, or it is someone else's (the other tab signed in as another user).
 */
async function refreshCsrfToken(): Promise<"ok" | "ended" | "failed"> {
  try {
    const res = await fetch("/api/v1/auth/me", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (res.status === 401) return "ended";
    if (!res.ok) return "failed";
    const me = (await res.json()) as { csrf_token?: unknown; user?: unknown };
    if (typeof me.csrf_token !== "string" || !me.csrf_token) return "failed";
    if (sessionUser !== null && me.user !== sessionUser) return "ended";
    csrfToken = me.csrf_token;
    return "ok";
  } catch {
    return "failed";
  }
}

export async function request<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  let res = await send(method, path, opts);
  let body = await readBody(res);
  if (!res.ok && !SAFE_METHODS.has(method) && isCsrfRefusal(res.status, body)) {
    // A stale token: read the current one and try once more.
    const refreshed = await refreshCsrfToken();
    if (refreshed === "ok") {
      res = await send(method, path, opts);
      body = await readBody(res);
    } else if (refreshed === "ended" && !opts.allow401) {
      onUnauthorized?.();
    }
  }
  if (!res.ok) {
    if (res.status === 401 && !opts.allow401) onUnauthorized?.();
    const fields = (body && typeof body === "object" ? body : {}) as { message?: unknown; detail?: unknown };
    const message = typeof fields.message === "string" ? fields.message
      : typeof fields.detail === "string" ? fields.detail : `${method} ${path}: HTTP ${res.status}`;
    throw new ApiError(res.status, body, message);
  }
  return body as T;
}

function send(method: string, path: string, opts: RequestOptions): Promise<Response> {
  const headers: Record<string, string> = { Accept: "application/json", ...opts.headers };
  if (opts.body !== undefined) headers["Content-Type"] = "application/json";
  if (csrfToken && !SAFE_METHODS.has(method)) headers["X-CSRF-Token"] = csrfToken;
  return fetch(path, {
    method,
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    credentials: "same-origin",
  });
}

async function readBody(res: Response): Promise<unknown> {
  const text = await res.text();
  if (!text) return null;
  try {
    return JSON.parse(text, dropProto);
  } catch {
    return text;
  }
}

/** Who we are. A server without the route (404) has no accounts: the API is open. */
export async function fetchMe(): Promise<AuthInfo | "login"> {
  try {
    const me = await request<AuthInfo>("GET", "/api/v1/auth/me", { allow401: true });
    setCsrfToken(me.csrf_token, me.user);
    return me;
  } catch (err) {
    if (err instanceof ApiError && err.status === 401) return "login";
    if (err instanceof ApiError && err.status === 404) {
      return { accounts: false, user: null, role: "admin", csrf_token: null };
    }
    throw err;
  }
}

export async function login(username: string, password: string): Promise<AuthInfo> {
  const res = await request<{ user: string; role: string; csrf_token: string }>(
    "POST", "/api/v1/auth/login", { body: { username, password }, allow401: true });
  setCsrfToken(res.csrf_token, res.user);
  return { accounts: true, user: res.user, role: res.role, csrf_token: res.csrf_token };
}

/** Ends the session; the token is forgotten whether or not the request succeeds. */
export async function logout(): Promise<void> {
  try {
    await request("POST", "/api/v1/auth/logout", { allow401: true });
  } finally {
    setCsrfToken(null);
  }
}

export function fetchPalette(): Promise<Palette> {
  return request<Palette>("GET", "/api/v1/nodes");
}

export function fetchFlows(): Promise<{ rev: string | null; flows: FlowDocument }> {
  return request("GET", "/api/v1/flows");
}

/**
 * Deploy through Node-RED's admin API, the route that takes a deployment type.
 * `rev: null` deploys whatever the server holds now (the "overwrite" choice of a conflict).
 */
export function deployFlows(flows: FlowDocument, rev: string | null, type: DeployType): Promise<{ rev: string }> {
  return request("POST", "/flows", {
    body: rev === null ? { flows } : { flows, rev },
    headers: { "Node-RED-API-Version": "v2", "Node-RED-Deployment-Type": type },
  });
}

export function injectNode(id: string): Promise<unknown> {
  return request("POST", `/api/v1/inject/${encodeURIComponent(id)}`);
}

export interface RuntimeState {
  rev: string | null;
  nodes: Record<string, { status: Record<string, unknown> | null }>;
}

export function fetchState(): Promise<RuntimeState> {
  return request("GET", "/api/v1/state");
}
