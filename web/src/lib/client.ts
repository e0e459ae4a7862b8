/**
 * The typed fetch layer: `openapi-fetch` over the paths of the server's OpenAPI document
 * (`generated/openapi.ts`), so a wrong path, parameter or body is a type error.
 *
 * It reads `config.ts` (base URL, bearer token, injected fetch). An error status becomes
 * an `ApiError` thrown from `call`, and a 401 also reaches the `onUnauthorized` listeners. The client is built on first use, never at import.
 *
 * Example:
 *   const job = await call(api().GET('/api/v1/jobs/{job_id}', { params: { path: { job_id } } }));
 */
import createClient, { type Client, type Middleware } from 'openapi-fetch';

import { getApiConfig, notifyUnauthorized } from './config';
import { apiErrorFromResponse } from './errors';
import type { paths } from './generated/openapi';

export type ApiClient = Client<paths>;

const auth: Middleware = {
  onRequest({ request }) {
    const token = getApiConfig().getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    request.headers.set('Accept', 'application/json, application/problem+json');
    return request;
  },
  async onResponse({ response }) {
    // 304 answers a conditional GET (`If-None-Match`): "not changed" is not an error.
    if (response.ok || response.status === 304) return response;
    const error = await apiErrorFromResponse(response);
    if (error.status === 401) notifyUnauthorized(error);
    throw error;
  },
};

let cached: { baseUrl: string; client: ApiClient } | null = null;

/** The typed client for the current `configureApi` settings. */
export function api(): ApiClient {
  const baseUrl = getApiConfig().baseUrl.replace(/\/+$/, '');
  if (cached?.baseUrl !== baseUrl) {
    const client = createClient<paths>({
      // Same-origin: `Request` needs an absolute URL outside a browser page (tests, workers).
      baseUrl: baseUrl || (globalThis.location?.origin ?? ''),
      // Looked up per request, so a fetch injected by configureApi (tests) is honoured.
      fetch: (request) => (getApiConfig().fetch ?? globalThis.fetch)(request),
      credentials: 'same-origin',
    });
    client.use(auth);
    cached = { baseUrl, client };
  }
  return cached.client;
}

/** The data of a typed call; errors were already thrown by the middleware as `ApiError`. */
export async function call<T>(request: Promise<{ data?: T; error?: unknown }>): Promise<T> {
  const { data } = await request;
  return data as T;
}
