/**
 * The API token in the browser: kept in localStorage (`orbit.token`, sent as
 * `Authorization: Bearer` by `api.ts`) and mirrored into the `orbit_token` cookie, scoped to
 * `/api` and `SameSite=Strict`, because `EventSource` cannot send headers.
 */
import { readStoredToken, storeToken } from './config';

export const TOKEN_COOKIE = 'orbit_token';
const COOKIE_PATH = '/api';

/** RFC 6265 cookie-octets: a token with other characters is not put into a cookie. */
const COOKIE_SAFE = /^[\x21\x23-\x2b\x2d-\x3a\x3c-\x5b\x5d-\x7e]+$/;

function cookieAttributes(): string {
  const secure = globalThis.location?.protocol === 'https:' ? '; Secure' : '';
  return `; path=${COOKIE_PATH}; SameSite=Strict${secure}`;
}

/** Write (or with null, expire) the `orbit_token` cookie. False when the token cannot be a cookie. */
export function writeTokenCookie(token: string | null): boolean {
  if (typeof document === 'undefined') return false;
  if (token && COOKIE_SAFE.test(token)) {
    document.cookie = `${TOKEN_COOKIE}=${token}${cookieAttributes()}`;
    return true;
  }
  document.cookie = `${TOKEN_COOKIE}=; Max-Age=0${cookieAttributes()}`;
  return false;
}

/** Store the token for every later request and event stream (null forgets it). */
export function setAuthToken(token: string | null): void {
  const value = token?.trim() || null;
  storeToken(value);
  writeTokenCookie(value);
}

/** Re-create the cookie from the stored token (the cookie is a session cookie). */
export function syncTokenCookie(): void {
  const token = readStoredToken();
  if (token) writeTokenCookie(token);
}
