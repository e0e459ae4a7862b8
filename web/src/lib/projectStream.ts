/**
 * One event stream per page: every job a project page follows is fed by the project's
 * stream (`GET /jobs/events?project_id=…`), instead of one connection per job (browsers
 * allow six per host, and a page may follow a dozen jobs).
 *
 * `projectEventSource(projectId)` is an `EventSource` constructor that `useJob` uses as
 * it would the browser's: each `new Source(jobEventsUrl(id, after))` is a virtual stream of
 * that one job. Its first event is a `snapshot` read with `GET /jobs/{id}` once the project
 * stream is in place (its own snapshot received, or resumed), so no event falls between the
 * read and the stream; then the project stream's events of that job whose `seq` is newer
 * than the read, and `end` after a terminal status. The real connection opens with
 * the first virtual stream, resumes with `?after=` the last global id after a failure (each
 * virtual stream then reports an error and is reopened by its own backoff) and closes with
 * the last one. A request for the whole log (`?after=0`, used to replay an interview's
 * tokens) goes to `fallback`, the page's capped per-job streams.
 */
import { projectEventsUrl, type EventSourceConstructor, type EventSourceLike } from './events';
import { isTerminalStatus } from './jobStatus';
import type { Job, JobStatus } from './types';

type Listener = (event: MessageEvent) => void;

interface Delivery {
  type: string;
  seq: number | null;
  data: Record<string, unknown>;
}

const FORWARDED = ['progress', 'status', 'token'] as const;

export interface ProjectStreamDeps {
  getJob: (jobId: string) => Promise<Job>;
  /** The real `EventSource` (default: the browser's), or null where there is none. */
  Base?: EventSourceConstructor | null;
  /** Where `?after=0` requests go; null means they are refused like a failed stream. */
  fallback?: EventSourceConstructor | null;
}

function message(type: string, data: unknown, id: number | null): MessageEvent {
  return { type, data: JSON.stringify(data), lastEventId: id === null ? '' : String(id) } as MessageEvent;
}

function parseJobUrl(url: string): { jobId: string; after: number | null } | null {
  const parsed = new URL(url, 'http://orbit.invalid');
  const found = /\/jobs\/([^/]+)\/events$/.exec(parsed.pathname);
  if (!found?.[1]) return null;
  const after = parsed.searchParams.get('after');
  return { jobId: decodeURIComponent(found[1]), after: after === null ? null : Number(after) };
}

/** The shared connection and the virtual streams attached to it. */
class Hub {
  private source: EventSourceLike | null = null;
  private lastId: number | null = null;
  private readonly streams = new Set<VirtualStream>();

  constructor(
    private readonly projectId: string,
    private readonly Base: EventSourceConstructor,
  ) {}

  attach(stream: VirtualStream): void {
    this.streams.add(stream);
    if (!this.source) this.open();
    else if (this.ready) queueMicrotask(() => stream.start());
  }

  detach(stream: VirtualStream): void {
    this.streams.delete(stream);
    if (this.streams.size === 0) {
      // Left while connected: the next follower starts afresh (a snapshot), not with a
      // replay. Left after a failure: its followers are about to reconnect and resume.
      const idle = this.source !== null;
      this.drop();
      if (idle) this.lastId = null;
    }
  }

  /** The connection's position is fixed: a read of a job now misses none of its events. */
  private ready = false;

  private open(): void {
    const resuming = this.lastId !== null; // no snapshot comes; the log resumes after lastId
    const source = new this.Base(projectEventsUrl(this.projectId, this.lastId));
    this.source = source;
    const markReady = () => {
      if (source !== this.source || this.ready) return;
      this.ready = true;
      for (const stream of [...this.streams]) stream.start();
    };
    source.addEventListener('open', () => {
      if (resuming) markReady();
    });
    source.addEventListener('snapshot', (event) => {
      this.track(event);
      markReady();
    });
    source.addEventListener('error', (event) => {
      if (source !== this.source) return;
      this.drop(); // reopened by the next virtual stream (each backs off on its own)
      for (const stream of [...this.streams]) stream.failed(event);
    });
    for (const type of FORWARDED) {
      source.addEventListener(type, (event) => {
        if (source === this.source) this.deliver(type, event);
      });
    }
  }

  private track(event: MessageEvent): void {
    const id = Number(event.lastEventId);
    if (Number.isFinite(id) && event.lastEventId !== '') this.lastId = Math.max(this.lastId ?? 0, id);
  }

  private deliver(type: string, event: MessageEvent): void {
    this.track(event);
    let data: Record<string, unknown>;
    try {
      data = JSON.parse(String(event.data)) as Record<string, unknown>;
    } catch {
      return; // not an event of a job: nothing to hand out
    }
    const seq = typeof data.seq === 'number' ? data.seq : null;
    for (const stream of this.streams) {
      if (stream.jobId === data.job_id) stream.receive({ type, seq, data });
    }
  }

  private drop(): void {
    const source = this.source;
    this.source = null;
    this.ready = false;
    source?.close();
  }
}

/** One job's view of the project stream, shaped like that job's own `EventSource`. */
class VirtualStream implements EventSourceLike {
  private readonly listeners = new Map<string, Set<Listener>>();
  private closed = false;
  private cursor: number | null = null;
  private pending: Delivery[] | null = [];

  private started = false;

  constructor(
    readonly jobId: string,
    private readonly hub: Hub,
    private readonly getJob: (jobId: string) => Promise<Job>,
  ) {
    queueMicrotask(() => {
      if (!this.closed) hub.attach(this);
    });
  }

  /** The project stream is in place: open, and read the job (its snapshot). */
  start(): void {
    if (this.closed || this.started) return;
    this.started = true;
    this.emit('open', message('open', null, null));
    this.getJob(this.jobId).then(
      (job) => this.snapshot(job),
      (error: unknown) => this.failed(error),
    );
  }

  addEventListener(type: string, listener: Listener): void {
    if (!this.listeners.has(type)) this.listeners.set(type, new Set());
    this.listeners.get(type)?.add(listener);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.hub.detach(this);
  }

  failed(error: unknown): void {
    if (this.closed) return;
    this.emit('error', error as MessageEvent);
  }

  receive(delivery: Delivery): void {
    if (this.pending) this.pending.push(delivery);
    else this.forward(delivery);
  }

  private snapshot(job: Job): void {
    if (this.closed) return;
    this.cursor = job.version;
    this.emit('snapshot', message('snapshot', job, job.version));
    const buffered = this.pending ?? [];
    this.pending = null;
    if (isTerminalStatus(job.status)) this.end(job.status);
    else for (const delivery of buffered) this.forward(delivery);
  }

  private forward({ type, seq, data }: Delivery): void {
    if (this.closed || (seq !== null && this.cursor !== null && seq <= this.cursor)) return;
    if (seq !== null) this.cursor = seq;
    this.emit(type, message(type, data, seq));
    const status = data.status as JobStatus | undefined;
    if (type === 'status' && isTerminalStatus(status)) this.end(status);
  }

  private end(status: JobStatus): void {
    this.emit('end', message('end', { job_id: this.jobId, status }, null));
  }

  private emit(type: string, event: MessageEvent): void {
    for (const listener of [...(this.listeners.get(type) ?? [])]) {
      if (this.closed) return;
      listener(event);
    }
  }
}

/** An `EventSource` constructor whose streams share the project's one connection. */
export function projectEventSource(projectId: string, deps: ProjectStreamDeps): EventSourceConstructor | null {
  const Base =
    deps.Base === undefined
      ? ((globalThis as { EventSource?: EventSourceConstructor }).EventSource ?? null)
      : deps.Base;
  if (!Base) return null;
  const hub = new Hub(projectId, Base);
  const fallback = deps.fallback ?? null;

  return class ProjectJobSource implements EventSourceLike {
    private readonly inner: EventSourceLike;

    constructor(url: string, init?: { withCredentials?: boolean }) {
      const target = parseJobUrl(url);
      if (!target || target.after === 0) {
        if (!fallback) throw new Error(`no stream for ${url}`);
        this.inner = new fallback(url, init);
      } else {
        this.inner = new VirtualStream(target.jobId, hub, deps.getJob);
      }
    }

    addEventListener(type: string, listener: Listener): void {
      this.inner.addEventListener(type, listener);
    }

    close(): void {
      this.inner.close();
    }
  };
}
