/**
 * Where the API is and how requests authenticate: the base URL, the bearer token (stored
 * in localStorage under `orbit.token`), an injectable fetch, and the `onUnauthorized`
 * listeners told about every 401. Shared by the typed client (`client.ts`) and the event
 * stream URLs; re-exported by `api.ts`.
 */
import type { ApiError } from './errors';

export const API_PREFIX = '/api/v1';
export const TOKEN_STORAGE_KEY = 'orbit.token';

export interface ApiConfig {
  /** Origin (and optional path) in front of `/api/v1`; '' means same-origin. */
  baseUrl: string;
  /** The bearer token to send, or null for none. Read on every request. */
  getToken: () => string | null;
  /** The fetch to use; null means the global `fetch` at call time. */
  fetch: typeof fetch | null;
}

/** The token stored in localStorage under `orbit.token`, or null. */
export function readStoredToken(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null; // storage disabled (privacy mode, sandboxed frame)
  }
}

/** Store (or with null, remove) the bearer token in localStorage. */
export function storeToken(token: string | null): void {
  try {
    if (token) globalThis.localStorage?.setItem(TOKEN_STORAGE_KEY, token);
    else globalThis.localStorage?.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // storage unavailable: nothing to persist to
  }
}

const defaultConfig: ApiConfig = { baseUrl: '', getToken: readStoredToken, fetch: null };
let config: ApiConfig = { ...defaultConfig };

export function configureApi(overrides: Partial<ApiConfig>): void {
  config = { ...config, ...overrides };
}

export function resetApiConfig(): void {
  config = { ...defaultConfig };
}

export function getApiConfig(): Readonly<ApiConfig> {
  return config;
}

export type UnauthorizedListener = (error: ApiError) => void;

const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Call `listener` whenever the server answers 401; returns the unsubscribe function. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

/** Tell the `onUnauthorized` listeners about a 401 (the typed client does). */
export function notifyUnauthorized(error: ApiError): void {
  for (const listener of [...unauthorizedListeners]) {
    try {
      listener(error);
    } catch {
      // a failing listener must not hide the error from the caller
    }
  }
}

export type QueryValue = string | number | boolean | null | undefined;

/**
 * Absolute or same-origin URL of an API path such as `/jobs/123/events`: for
 * `EventSource`, which cannot go through the typed client. Empty values are left out.
 */
export function apiUrl(path: string, query?: Record<string, QueryValue>): string {
  const base = config.baseUrl.replace(/\/+$/, '');
  let url = `${base}${API_PREFIX}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}
