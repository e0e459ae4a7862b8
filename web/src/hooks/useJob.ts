import { useEffect, useLayoutEffect, useRef, useState } from 'react';

import { DEFAULT_POLL_INTERVAL_MS, jobsApi } from '../lib/api';
import {
  subscribeJobEvents,
  type EventSourceConstructor,
  type EventSubscription,
} from '../lib/events';
import { isTerminalStatus } from '../lib/jobStatus';
import { watchJob, type JobWatcher } from '../lib/poller';
import type { Job, JobEvent, TokenEventData } from '../lib/types';

/** How the hook currently follows the job. */
export type JobTransport = 'sse' | 'polling' | 'idle';

export interface UseJobOptions {
  /** Polling interval of the fallback. Default 1500 ms. */
  intervalMs?: number;
  /** The EventSource to use (default: the global one; null forces polling). */
  EventSource?: EventSourceConstructor | null;
  /** SSE failures in a row before falling back to polling. Default 3. */
  maxSseErrors?: number;
  /** First SSE reconnection delay (doubles per failure). Default 1000 ms. */
  sseBackoffMs?: number;
  /**
   * Stream the job's whole event log (`?after=0`) rather than a snapshot and what follows
   * it, so no `token` event is missed when the job was already under way; the job is read
   * once first. Default false.
   */
  replay?: boolean;
  /** Batched LLM output of `token` events (`data` also carries the job attempt). */
  onToken?: (text: string, data: TokenEventData) => void;
}

export interface UseJobResult {
  job: Job | null;
  /** True while an SSE connection is open and pushing updates. */
  isLive: boolean;
  /** 'sse' while streaming, 'polling' after falling back, 'idle' without a job or once done. */
  mode: JobTransport;
  /** The last error (stream or request), or null. */
  error: Error | null;
}

/** A job's `version` is the sequence number of its last event: an event's id moves it on. */
function nextVersion(job: Job, eventId: number | null): number {
  return eventId !== null && eventId > job.version ? eventId : job.version;
}

const IDLE: UseJobResult = { job: null, isLive: false, mode: 'idle', error: null };

function toError(value: unknown, fallback: string): Error {
  if (value instanceof Error) return value;
  return new Error(fallback);
}

/**
 * Follow a job live: Server-Sent Events first, falling back to polling `GET /jobs/{id}` when
 * EventSource is unavailable or the stream fails repeatedly. Stops once the job is completed,
 * failed or cancelled (the final job, with its `result`, is fetched once when the stream only
 * reported the terminal status). `options` are read when `jobId` changes; `onToken` always
 * calls the latest callback.
 */
export function useJob(jobId: string | null, options: UseJobOptions = {}): UseJobResult {
  const [state, setState] = useState<UseJobResult>(IDLE);
  const optionsRef = useRef(options);
  // The latest options, set before this component's effects read them (not during render).
  useLayoutEffect(() => {
    optionsRef.current = options;
  });

  useEffect(() => {
    if (!jobId) {
      setState(IDLE);
      return undefined;
    }
    const opts = optionsRef.current;
    const intervalMs = opts.intervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    let disposed = false;
    let done = false;
    let current: Job | null = null;
    let subscription: EventSubscription | null = null;
    let watcher: JobWatcher | null = null;

    const patch = (next: Partial<UseJobResult>) => {
      if (!disposed) setState((prev) => ({ ...prev, ...next }));
    };
    const setJob = (job: Job | null) => {
      current = job;
      patch({ job });
    };
    const getJob = (id: string, { signal }: { signal: AbortSignal }) => jobsApi.get(id, { signal });

    const finish = () => {
      done = true;
      subscription?.close();
      patch({ mode: 'idle', isLive: false });
    };

    /** Poll until terminal: the fallback, or a last read of the finished job. */
    const startPolling = (mode: JobTransport) => {
      watcher?.stop();
      patch({ mode, isLive: false });
      watcher = watchJob(jobId, {
        getJob,
        intervalMs,
        onUpdate: (job) => {
          setJob(job);
          patch({ error: null });
        },
        onError: (error, willRetry) => {
          patch({ error: toError(error, 'Request failed') });
          if (!willRetry) finish();
        },
        onDone: finish,
      });
    };

    /** The stream reported a terminal status. */
    const streamFinished = (needsFinalRead: boolean) => {
      if (done) return;
      subscription?.close();
      if (needsFinalRead) startPolling('sse');
      else finish();
    };

    const onEvent = (event: JobEvent) => {
      if (done || disposed) return;
      patch({ isLive: true });
      switch (event.type) {
        case 'snapshot':
          setJob(event.data);
          if (isTerminalStatus(event.data.status)) streamFinished(false);
          break;
        case 'progress':
          if (current) {
            setJob({
              ...current,
              progress_percent: event.data.percent,
              progress_message: event.data.message,
              version: nextVersion(current, event.id),
            });
          }
          break;
        case 'status':
          if (current) {
            setJob({
              ...current,
              status: event.data.status,
              error: event.data.error ?? current.error,
              version: nextVersion(current, event.id),
            });
          }
          // The status event carries no result: read the finished job once.
          if (isTerminalStatus(event.data.status)) streamFinished(true);
          break;
        case 'token':
          optionsRef.current.onToken?.(event.data.text, event.data);
          break;
        case 'end':
          streamFinished(!(current && isTerminalStatus(current.status)));
          break;
      }
    };

    const subscribe = (lastEventId: number | null) => {
      subscription = subscribeJobEvents(jobId, {
        EventSource: opts.EventSource,
        maxConsecutiveErrors: opts.maxSseErrors,
        initialBackoffMs: opts.sseBackoffMs,
        lastEventId,
        onEvent,
        onOpen: () => patch({ isLive: true, error: null }),
        onError: (error) => patch({ isLive: false, error: toError(error, 'Event stream error') }),
        onGiveUp: () => {
          if (!done && !disposed) startPolling('polling');
        },
      });
    };

    setState({ ...IDLE, mode: 'sse' });
    if (opts.replay) {
      // Read the job first (the replayed log has no snapshot), then stream every event.
      jobsApi
        .get(jobId)
        .then((job) => {
          if (disposed || done) return;
          setJob(job);
          if (isTerminalStatus(job.status)) finish();
          else subscribe(0);
        })
        .catch(() => {
          if (!disposed && !done) startPolling('polling');
        });
    } else {
      subscribe(null);
    }

    return () => {
      disposed = true;
      subscription?.close();
      watcher?.stop();
    };
  }, [jobId]);

  return state;
}
