/**
 * Server-Sent Events subscription for job progress, over `EventSource`.
 *
 * - Listens to the named events `snapshot`, `progress`, `status`, `token` and `end`; each data
 *   payload is JSON.
 * - Tracks the last event id. A connection error closes the `EventSource` (so the browser does
 *   not retry on its own, unbounded) and reconnects after a backoff with `?after=<lastId>`.
 * - Never hands out an event twice: `progress`, `status` and `token` events whose id is not
 *   greater than the last id seen are dropped. `snapshot` (full state) and `end` are always
 *   handed out; they advance the cursor only forward.
 * - After `maxConsecutiveErrors` failures with no event in between, or when no `EventSource`
 *   exists, it gives up and calls `onGiveUp`: the caller should fall back to polling.
 * - `end` closes the stream for good (`onEnd`).
 */
import { apiUrl, type QueryValue } from './config';
import type { JobEvent, JobEventType } from './types';

/** What this module needs of an `EventSource` (the DOM one fits; tests inject a fake). */
export interface EventSourceLike {
  addEventListener(type: string, listener: (event: MessageEvent) => void): void;
  close(): void;
}

export type EventSourceConstructor = new (
  url: string,
  init?: { withCredentials?: boolean },
) => EventSourceLike;

export type SubscriptionState =
  | 'connecting'
  | 'open'
  | 'reconnecting'
  /** the server sent `end` */
  | 'ended'
  /** `close()` was called */
  | 'closed'
  | 'gave-up';

export type GiveUpReason = 'unsupported' | 'too-many-errors';

export interface EventHandlers {
  onEvent: (event: JobEvent) => void;
  onOpen?: () => void;
  /** A connection failed; `consecutiveErrors` counts failures since the last event. */
  onError?: (error: unknown, consecutiveErrors: number) => void;
  /** The server sent `end`; no reconnection follows. */
  onEnd?: () => void;
  /** Streaming is not possible: fall back to polling. */
  onGiveUp?: (reason: GiveUpReason) => void;
}

export interface SubscribeOptions extends EventHandlers {
  /** URL of each connection; `after` is the last event id seen (null before any). */
  url: (after: number | null) => string;
  /** Defaults to the global `EventSource`; null or missing means unsupported. */
  EventSource?: EventSourceConstructor | null;
  /** Failures in a row, without an event in between, before giving up. Default 3. */
  maxConsecutiveErrors?: number;
  /** First reconnection delay; doubles per consecutive failure. Default 1000. */
  initialBackoffMs?: number;
  /** Cap of the reconnection delay. Default 15000. */
  maxBackoffMs?: number;
  /** Resume after this event id (e.g. from an earlier subscription). */
  lastEventId?: number | null;
  withCredentials?: boolean;
}

export interface EventSubscription {
  close(): void;
  readonly state: SubscriptionState;
  readonly lastEventId: number | null;
}

export const SSE_EVENT_TYPES: readonly JobEventType[] = [
  'snapshot',
  'progress',
  'status',
  'token',
  'end',
];

export function isEventSourceSupported(): boolean {
  return typeof (globalThis as { EventSource?: unknown }).EventSource === 'function';
}

function parseEventId(raw: string | undefined | null): number | null {
  if (raw === undefined || raw === null || raw === '') return null;
  const id = Number(raw);
  return Number.isFinite(id) ? id : null;
}

export function reconnectDelayMs(
  consecutiveErrors: number,
  initialBackoffMs = 1000,
  maxBackoffMs = 15000,
): number {
  const exponent = Math.max(0, consecutiveErrors - 1);
  return Math.min(maxBackoffMs, initialBackoffMs * 2 ** exponent);
}

export function subscribeEvents(options: SubscribeOptions): EventSubscription {
  const Source =
    options.EventSource === undefined
      ? ((globalThis as { EventSource?: EventSourceConstructor }).EventSource ?? null)
      : options.EventSource;
  const maxErrors = Math.max(1, options.maxConsecutiveErrors ?? 3);

  let state: SubscriptionState = 'connecting';
  let lastId: number | null = options.lastEventId ?? null;
  let failures = 0;
  let source: EventSourceLike | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const finished = () => state === 'closed' || state === 'ended' || state === 'gave-up';

  const dropSource = () => {
    const current = source;
    source = null;
    current?.close();
  };

  const giveUp = (reason: GiveUpReason) => {
    dropSource();
    state = 'gave-up';
    options.onGiveUp?.(reason);
  };

  const fail = (error: unknown) => {
    if (finished()) return;
    dropSource();
    failures += 1;
    options.onError?.(error, failures);
    if (finished()) return; // onError may close
    if (failures >= maxErrors) {
      giveUp('too-many-errors');
      return;
    }
    state = 'reconnecting';
    timer = setTimeout(
      connect,
      reconnectDelayMs(failures, options.initialBackoffMs, options.maxBackoffMs),
    );
  };

  const handleMessage = (own: EventSourceLike, type: JobEventType, message: MessageEvent) => {
    if (own !== source || finished()) return; // a late event of a closed connection
    const id = parseEventId(message.lastEventId);
    const isDelta = type !== 'snapshot' && type !== 'end';
    if (isDelta && id !== null && lastId !== null && id <= lastId) return; // seen already
    let data: unknown = null;
    if (typeof message.data === 'string' && message.data !== '') {
      try {
        data = JSON.parse(message.data);
      } catch (error) {
        options.onError?.(error, failures);
        return;
      }
    }
    if (id !== null && (lastId === null || id > lastId)) lastId = id;
    failures = 0;
    if (state === 'connecting' || state === 'reconnecting') state = 'open';
    options.onEvent({ type, id, data } as JobEvent);
    if (type === 'end' && !finished()) {
      dropSource();
      state = 'ended';
      options.onEnd?.();
    }
  };

  function connect() {
    timer = undefined;
    if (finished()) return;
    if (!Source) {
      giveUp('unsupported');
      return;
    }
    let created: EventSourceLike;
    try {
      created = new Source(options.url(lastId), { withCredentials: options.withCredentials ?? false });
    } catch (error) {
      fail(error);
      return;
    }
    source = created;
    created.addEventListener('open', () => {
      if (created !== source || finished()) return;
      state = 'open';
      options.onOpen?.();
    });
    created.addEventListener('error', (event) => {
      if (created !== source) return;
      fail(event);
    });
    for (const type of SSE_EVENT_TYPES) {
      created.addEventListener(type, (message) => handleMessage(created, type, message));
    }
  }

  if (!Source) {
    // Report asynchronously so the caller holds the subscription before its handler runs.
    state = 'connecting';
    queueMicrotask(() => {
      if (!finished()) giveUp('unsupported');
    });
  } else {
    connect();
  }

  return {
    close() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      dropSource();
      if (state !== 'ended' && state !== 'gave-up') state = 'closed';
    },
    get state() {
      return state;
    },
    get lastEventId() {
      return lastId;
    },
  };
}

// Event stream URLs. EventSource cannot send headers; the token never goes into a URL
// (where logs and proxies would keep it): the `orbit_token` cookie carries it instead.

function eventsQuery(after: number | null | undefined, extra: Record<string, QueryValue> = {}) {
  return { ...extra, after: after ?? undefined };
}

/** `GET /api/v1/jobs/{id}/events[?after=N]` */
export function jobEventsUrl(jobId: string, after?: number | null): string {
  return apiUrl(`/jobs/${encodeURIComponent(jobId)}/events`, eventsQuery(after));
}

/** `GET /api/v1/jobs/events?project_id=…[&after=N]`: every job of a project on one stream. */
export function projectEventsUrl(projectId: string, after?: number | null): string {
  return apiUrl('/jobs/events', eventsQuery(after, { project_id: projectId }));
}

export interface AllEventsFilter {
  projectId?: string | null;
  jobType?: string | null;
}

/**
 * `GET /api/v1/events[?project_id=&job_type=&after=N]`: the status and progress of every
 * job (or of a project's, of a type) on one stream.
 */
export function allEventsUrl(filter: AllEventsFilter = {}, after?: number | null): string {
  return apiUrl('/events', eventsQuery(after, { project_id: filter.projectId, job_type: filter.jobType }));
}

export type StreamOptions = Omit<SubscribeOptions, 'url'>;

/** Follow one job: `GET /api/v1/jobs/{id}/events`. */
export function subscribeJobEvents(jobId: string, options: StreamOptions): EventSubscription {
  return subscribeEvents({ ...options, url: (after) => jobEventsUrl(jobId, after) });
}

/** Follow every job of a project on one stream: `GET /api/v1/jobs/events?project_id=…`. */
export function subscribeProjectEvents(
  projectId: string,
  options: StreamOptions,
): EventSubscription {
  return subscribeEvents({ ...options, url: (after) => projectEventsUrl(projectId, after) });
}
