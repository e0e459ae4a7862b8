import { useEffect, useState } from 'react';

import { DEFAULT_POLL_INTERVAL_MS, jobsApi } from '../lib/api';
import { watchJob } from '../lib/poller';
import type { Job } from '../lib/types';

export interface UseJobPollingResult {
  job: Job | null;
  /** True from the first request until the job is terminal or polling stopped on an error. */
  isPolling: boolean;
  /** The last request error (transient ones are retried), or null. */
  error: Error | null;
}

/**
 * Poll `GET /api/v1/jobs/{jobId}` every `interval` ms until the job is completed, failed or
 * cancelled. A null `jobId` polls nothing. Network errors and 5xx answers are retried;
 * other errors (e.g. 404) stop polling and are returned in `error`.
 */
export function useJobPolling(
  jobId: string | null,
  interval = DEFAULT_POLL_INTERVAL_MS,
): UseJobPollingResult {
  const [job, setJob] = useState<Job | null>(null);
  const [isPolling, setIsPolling] = useState(false);
  const [error, setError] = useState<Error | null>(null);

  useEffect(() => {
    setJob(null);
    setError(null);
    if (!jobId) {
      setIsPolling(false);
      return undefined;
    }
    setIsPolling(true);
    const watcher = watchJob(jobId, {
      getJob: (id, { signal }) => jobsApi.get(id, { signal }),
      intervalMs: interval,
      onUpdate: (next) => {
        setJob(next);
        setError(null);
      },
      onError: (err, willRetry) => {
        setError(err instanceof Error ? err : new Error(String(err)));
        if (!willRetry) setIsPolling(false);
      },
      onDone: () => setIsPolling(false),
    });
    return () => watcher.stop();
  }, [jobId, interval]);

  return { job, isPolling, error };
}
