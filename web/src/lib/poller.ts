import { isTransientError } from './errors';
import { isTerminalStatus } from './jobStatus';
import type { Job } from './types';

export type GetJob = (jobId: string, options: { signal: AbortSignal }) => Promise<Job>;

export interface WatchJobOptions {
  /** Fetches the job once (normally `jobsApi.get`). */
  getJob: GetJob;
  /** Pause between the end of one request and the start of the next. */
  intervalMs: number;
  /** Every job read, including the terminal one. */
  onUpdate: (job: Job) => void;
  /**
   * A request failed. Transient failures (network, 5xx, 408, 429) are retried on the next
   * tick (`willRetry` true); any other failure stops the watcher.
   */
  onError?: (error: unknown, willRetry: boolean) => void;
  /** The job reached a terminal status; called after `onUpdate`. The watcher has stopped. */
  onDone?: (job: Job) => void;
}

export interface JobWatcher {
  stop(): void;
  readonly stopped: boolean;
}

/**
 * Poll one job until it reaches a terminal status, a non-transient error occurs or `stop()`
 * is called. The first request starts immediately; requests never overlap.
 */
export function watchJob(jobId: string, options: WatchJobOptions): JobWatcher {
  const controller = new AbortController();
  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;

  const stop = () => {
    if (stopped) return;
    stopped = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    controller.abort();
  };

  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(() => void tick(), Math.max(0, options.intervalMs));
  };

  const tick = async () => {
    timer = undefined;
    if (stopped) return;
    let job: Job;
    try {
      job = await options.getJob(jobId, { signal: controller.signal });
    } catch (error) {
      if (stopped) return;
      const willRetry = isTransientError(error);
      options.onError?.(error, willRetry);
      if (willRetry) schedule();
      else stop();
      return;
    }
    if (stopped) return;
    options.onUpdate(job);
    if (stopped) return;
    if (isTerminalStatus(job.status)) {
      stopped = true;
      options.onDone?.(job);
      return;
    }
    schedule();
  };

  void tick();

  return {
    stop,
    get stopped() {
      return stopped;
    },
  };
}
