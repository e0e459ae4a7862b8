import type { ReactNode } from 'react';

import { describeError } from '../lib/format';
import { isActiveStatus } from '../lib/jobStatus';
import type { Job, TokenEventData } from '../lib/types';
import type { JobTransport } from '../hooks/useJob';
import { useTrackedJob } from '../hooks/useTrackedJob';
import { ProgressBar } from './ProgressBar';

export interface JobProgressViewProps {
  jobId: string;
  /** The job as last read, or null before the first read. */
  job: Job | null;
  /** `data-testid` of the wrapper; its error line gets `${testId}-error`. */
  testId: string;
  label: string;
  mode?: JobTransport;
  error?: Error | null;
  children?: ReactNode;
}

/** The percent to draw: a completed job is full even if it never reported 100. */
export function shownPercent(job: Job | null): number | null {
  if (!job) return null;
  if (job.status === 'completed') return 100;
  return job.progress_percent;
}

function statusLine(job: Job | null): string | null {
  if (!job) return 'Queued…';
  if (job.status === 'pending') return job.progress_message ?? 'Waiting for a worker…';
  if (job.status === 'running' && job.cancel_requested_at) return 'Cancelling…';
  return job.progress_message;
}

/** A job's progress bar, message and outcome, from a job object (no fetching). */
export function JobProgressView({ jobId, job, testId, label, mode, error, children }: JobProgressViewProps) {
  const status = job?.status ?? 'pending';
  return (
    <div
      className={`orbit-tracker orbit-tracker--${status}`}
      data-testid={testId}
      data-job-id={jobId}
      data-status={status}
      data-mode={mode}
      aria-live="polite"
    >
      <ProgressBar key={jobId} jobId={jobId} percent={shownPercent(job)} message={statusLine(job)} label={label} />
      {status === 'failed' ? (
        <p className="orbit-error" data-testid={`${testId}-error`} role="alert">
          {job?.error ?? 'The job failed.'}
        </p>
      ) : null}
      {status === 'cancelled' ? (
        <p className="orbit-muted" data-testid={`${testId}-error`}>
          Cancelled{job?.error ? `: ${job.error}` : ''}
        </p>
      ) : null}
      {error && (!job || isActiveStatus(job.status)) ? (
        <p className="orbit-muted orbit-tracker__warning">{describeError(error)}</p>
      ) : null}
      {children}
    </div>
  );
}

export interface JobTrackerProps {
  jobId: string;
  testId: string;
  label: string;
  onFinish?: (job: Job) => void;
  onToken?: (text: string, data: TokenEventData) => void;
  children?: ReactNode;
}

/** Follows a job live (SSE, else polling) and shows its progress. */
export function JobTracker({ jobId, testId, label, onFinish, onToken, children }: JobTrackerProps) {
  const { job, mode, error } = useTrackedJob(jobId, { onFinish, onToken });
  const current = job && job.id === jobId ? job : null;
  return (
    <JobProgressView jobId={jobId} job={current} testId={testId} label={label} mode={mode} error={error}>
      {children}
    </JobProgressView>
  );
}
