/** Test doubles: jobs, a scripted fetch and a controllable EventSource. */
import type { EventSourceLike } from '../lib/events';
import type { Job } from '../lib/types';

export function makeJob(overrides: Partial<Job> = {}): Job {
  return {
    id: 'job-1',
    job_type: 'generate_epic',
    status: 'pending',
    progress_percent: null,
    progress_message: null,
    created_at: '2026-01-01T00:00:00Z',
    started_at: null,
    completed_at: null,
    result: null,
    error: null,
    input_data: {},
    project_id: null,
    interview_id: null,
    attempts: 0,
    max_attempts: 3,
    version: 1,
    cancel_requested_at: null,
    ...overrides,
  };
}

export function jsonResponse(body: unknown, status = 200, headers: Record<string, string> = {}) {
  const noBody = status === 204 || status === 304;
  return new Response(noBody ? null : JSON.stringify(body), {
    status,
    headers: { 'content-type': 'application/json', ...headers },
  });
}

export function problemResponse(status: number, title: string, detail?: string) {
  return new Response(
    JSON.stringify({ type: `https://orbit.dev/problems/${status}`, title, status, detail }),
    { status, headers: { 'content-type': 'application/problem+json' } },
  );
}

export interface RecordedCall {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: unknown;
}

type Reply = Response | Error | (() => Response | Error);

/**
 * A fetch that answers from a queue per "METHOD path" (path without query), or from a default
 * handler. An `Error` reply makes fetch reject (like a network failure).
 */
export function createFakeFetch(defaultReply?: (call: RecordedCall) => Reply) {
  const calls: RecordedCall[] = [];
  const queues = new Map<string, Reply[]>();

  const fetchImpl = async (input: RequestInfo | URL, init: RequestInit = {}) => {
    // The typed client (openapi-fetch) calls fetch(request); older code fetch(url, init).
    const request = input instanceof Request ? input : null;
    const href = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    // Same-origin requests are recorded as the path the page asked for.
    const origin = globalThis.location?.origin;
    const url = origin && href.startsWith(`${origin}/`) ? href.slice(origin.length) : href;
    const method = (request?.method ?? init.method ?? 'GET').toUpperCase();
    const headers: Record<string, string> = {};
    new Headers(request?.headers ?? init.headers).forEach((value, key) => {
      headers[key] = value;
    });
    const text = request ? await request.clone().text() : init.body;
    const body = typeof text === 'string' && text !== '' ? JSON.parse(text) : undefined;
    const call = { url, method, headers, body };
    calls.push(call);
    const path = new URL(url, 'http://localhost').pathname;
    const queue = queues.get(`${method} ${path}`);
    let reply: Reply | undefined = queue && queue.length > 1 ? queue.shift() : queue?.[0];
    if (reply === undefined && defaultReply) reply = defaultReply(call);
    if (reply === undefined) throw new Error(`unexpected request ${method} ${url}`);
    if (typeof reply === 'function') reply = reply();
    if (reply instanceof Error) throw reply;
    return reply.clone();
  };

  return {
    fetch: fetchImpl as typeof fetch,
    calls,
    /** Queue replies for "METHOD /path"; the last one repeats. */
    on(methodAndPath: string, ...replies: Reply[]) {
      queues.set(methodAndPath, [...(queues.get(methodAndPath) ?? []), ...replies]);
    },
    callsTo(methodAndPath: string) {
      const [method, path] = methodAndPath.split(' ');
      return calls.filter(
        (c) => c.method === method && new URL(c.url, 'http://localhost').pathname === path,
      );
    },
  };
}

/** A fresh fake EventSource class per test; `instances` lists every connection opened. */
export function createFakeEventSource() {
  class FakeEventSource implements EventSourceLike {
    static instances: FakeEventSource[] = [];
    static get latest(): FakeEventSource {
      const last = FakeEventSource.instances[FakeEventSource.instances.length - 1];
      if (!last) throw new Error('no EventSource was created');
      return last;
    }

    readonly url: string;
    closed = false;
    private listeners = new Map<string, Array<(event: MessageEvent) => void>>();

    constructor(url: string) {
      this.url = url;
      FakeEventSource.instances.push(this);
    }

    addEventListener(type: string, listener: (event: MessageEvent) => void) {
      this.listeners.set(type, [...(this.listeners.get(type) ?? []), listener]);
    }

    close() {
      this.closed = true;
    }

    private dispatch(type: string, event: Event) {
      for (const listener of this.listeners.get(type) ?? []) listener(event as MessageEvent);
    }

    // --- test controls ---
    open() {
      this.dispatch('open', new Event('open'));
    }

    emit(type: string, data: unknown, id?: number) {
      this.dispatch(
        type,
        new MessageEvent(type, {
          data: JSON.stringify(data),
          lastEventId: id === undefined ? '' : String(id),
        }),
      );
    }

    /** Dispatch a message whose data is sent as is (not JSON-encoded). */
    dispatchRaw(type: string, data: string, id?: number) {
      this.dispatch(
        type,
        new MessageEvent(type, { data, lastEventId: id === undefined ? '' : String(id) }),
      );
    }

    fail() {
      this.dispatch('error', new Event('error'));
    }

    /** The `after` query parameter of this connection's URL, or null. */
    get after(): string | null {
      return new URL(this.url, 'http://localhost').searchParams.get('after');
    }
  }
  return FakeEventSource;
}
