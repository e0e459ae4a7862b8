/**
 * A cap on the event streams the page keeps open. Browsers allow about six HTTP/1.1
 * connections per host; every open `EventSource` holds one, so without a cap a page
 * following many jobs would starve its own `fetch` calls. A stream over the cap fails at
 * once and `useJob` falls back to polling for that job.
 */
import type { EventSourceConstructor, EventSourceLike } from './events';

export const MAX_OPEN_STREAMS = 4;

export class StreamLimitError extends Error {
  override readonly name = 'StreamLimitError';
}

export interface LimitedEventSource extends EventSourceConstructor {
  /** Streams currently open through this constructor. */
  readonly openCount: number;
}

/** An `EventSource` constructor that refuses to open more than `max` streams at once. */
export function limitedEventSource(
  max: number,
  getBase: () => EventSourceConstructor | null = () =>
    (globalThis as { EventSource?: EventSourceConstructor }).EventSource ?? null,
): LimitedEventSource | null {
  if (!getBase()) return null;
  let open = 0;

  class Limited implements EventSourceLike {
    private readonly inner: EventSourceLike;
    private closed = false;

    constructor(url: string, init?: { withCredentials?: boolean }) {
      const Base = getBase();
      if (!Base) throw new StreamLimitError('EventSource is not available');
      if (open >= max) throw new StreamLimitError(`already ${open} event streams open`);
      this.inner = new Base(url, init);
      open += 1;
    }

    static get openCount(): number {
      return open;
    }

    addEventListener(type: string, listener: (event: MessageEvent) => void): void {
      this.inner.addEventListener(type, listener);
    }

    close(): void {
      if (!this.closed) {
        this.closed = true;
        open -= 1;
      }
      this.inner.close();
    }
  }

  return Limited as unknown as LimitedEventSource;
}

let shared: LimitedEventSource | null | undefined;

/** The page-wide limited `EventSource` (null where the browser has none). */
export function sharedEventSource(): LimitedEventSource | null {
  if (shared === undefined) shared = limitedEventSource(MAX_OPEN_STREAMS);
  return shared;
}

/** For tests: forget the shared constructor (e.g. after stubbing `EventSource`). */
export function resetSharedEventSource(): void {
  shared = undefined;
}
