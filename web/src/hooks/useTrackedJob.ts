import { useEffect, useLayoutEffect, useRef } from 'react';

import { isTerminalStatus } from '../lib/jobStatus';
import { sharedEventSource } from '../lib/streams';
import type { Job, TokenEventData } from '../lib/types';
import { useProjectStream } from './projectStreamContext';
import { useJob, type UseJobResult } from './useJob';

/** Polling interval of the pages (when a job cannot be streamed). */
export const PAGE_POLL_MS = 1000;

export interface TrackedJobOptions {
  /** Called once per job id, with the final job (its `result` included). */
  onFinish?: (job: Job) => void;
  onToken?: (text: string, data: TokenEventData) => void;
  /** See `UseJobOptions.replay`: every `token` event, even those sent before the page followed the job. */
  replay?: boolean;
}

/**
 * `useJob` as the pages use it: streams through the project page's one stream where there
 * is one (`ProjectStreamContext`), else through the page's capped `EventSource` (polling
 * every second when a stream cannot be had or fails twice) and reports the end of the job
 * once, after the final read.
 */
export function useTrackedJob(jobId: string | null, options: TrackedJobOptions = {}): UseJobResult {
  const optionsRef = useRef(options);
  useLayoutEffect(() => {
    optionsRef.current = options; // the latest callbacks, updated after render
  });
  const projectStream = useProjectStream();
  const state = useJob(jobId, {
    intervalMs: PAGE_POLL_MS,
    EventSource: projectStream ?? sharedEventSource(),
    maxSseErrors: 2,
    sseBackoffMs: 500,
    replay: options.replay,
    onToken: (text, data) => optionsRef.current.onToken?.(text, data),
  });
  const reported = useRef<string | null>(null);
  const { job, mode } = state;

  useEffect(() => {
    if (!jobId || !job || job.id !== jobId || reported.current === jobId) return;
    // 'idle' means useJob is done with the job, after reading its result when needed.
    if (mode !== 'idle' || !isTerminalStatus(job.status)) return;
    reported.current = jobId;
    optionsRef.current.onFinish?.(job);
  }, [jobId, job, mode]);

  return state;
}
