/**
 * `#/jobs/:id`: one job in full. Its input, result, error (with its machine-readable code
 * when the server sends one), attempts, worker, parent and children, and the timeline of its
 * events (progress, status, tokens), live over the job's own stream. Retry and cancel act
 * from here. Reads go through TanStack Query; the stream writes into the same cache.
 */
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';

import { ProgressBar } from '../components/ProgressBar';
import { describeError, formatTime, humanJobType } from '../lib/format';
import { isActiveStatus, isTerminalStatus } from '../lib/jobStatus';
import { jobAction, jobChildrenQuery, jobKeys, jobQuery, useJobStream } from '../lib/queries';
import { paths } from '../lib/router';
import type { Job, JobEvent } from '../lib/types';
import { JobTimeline } from './job/JobTimeline';

const POLL_MS = 1000;

function pretty(value: unknown): string {
  return JSON.stringify(value, null, 2);
}

/** The machine-readable code of a job's error, where the server sends one. */
function errorCode(job: Job): string | null {
  const code = (job as { error_code?: unknown }).error_code;
  return typeof code === 'string' && code ? code : null;
}

function JobFacts({ job }: { job: Job }) {
  return (
    <dl className="orbit-facts" data-testid="job-facts">
      <dt>Status</dt>
      <dd>
        <span className={`orbit-status orbit-status--${job.status}`} data-testid="job-status">
          {isActiveStatus(job.status) && job.cancel_requested_at ? 'cancelling' : job.status}
        </span>
      </dd>
      <dt>Attempts</dt>
      <dd data-testid="job-attempts">{`${job.attempts} of ${job.max_attempts}`}</dd>
      <dt>Worker</dt>
      <dd data-testid="job-worker">{job.worker_id ?? '—'}</dd>
      <dt>Created</dt>
      <dd>{formatTime(job.created_at)}</dd>
      <dt>Started</dt>
      <dd>{formatTime(job.started_at)}</dd>
      <dt>Finished</dt>
      <dd>{formatTime(job.completed_at)}</dd>
      {job.parent_id ? (
        <>
          <dt>Parent</dt>
          <dd>
            <a href={paths.job(job.parent_id)} data-testid="job-parent">
              <code>{job.parent_id.slice(0, 8)}</code>
            </a>
          </dd>
        </>
      ) : null}
    </dl>
  );
}

function JobChildren({ jobId }: { jobId: string }) {
  const children = useQuery(jobChildrenQuery(jobId));
  const items = children.data?.items ?? [];
  if (items.length === 0) return null;
  return (
    <section className="orbit-card" aria-labelledby="job-children-title">
      <h3 id="job-children-title">Children</h3>
      <ul data-testid="job-children">
        {items.map((child) => (
          <li key={child.id} data-testid="job-child" data-status={child.status}>
            <a href={paths.job(child.id)}>{humanJobType(child.job_type)}</a>{' '}
            <span className={`orbit-status orbit-status--${child.status}`}>{child.status}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function JobActions({ job, onRetried }: { job: Job; onRetried: () => void }) {
  const client = useQueryClient();
  const [pending, setPending] = useState<'cancel' | 'retry' | null>(null);
  const [error, setError] = useState<string | null>(null);
  const act = async (action: 'cancel' | 'retry') => {
    setPending(action);
    setError(null);
    try {
      await jobAction(client, job.id, action);
      if (action === 'retry') onRetried();
    } catch (err) {
      setError(describeError(err, `Could not ${action} the job`));
    } finally {
      setPending(null);
    }
  };
  const cancelling = isActiveStatus(job.status) && Boolean(job.cancel_requested_at);
  return (
    <div className="orbit-actions">
      {isActiveStatus(job.status) ? (
        <button type="button" onClick={() => void act('cancel')} disabled={pending !== null || cancelling} data-testid="job-cancel">
          {pending === 'cancel' || cancelling ? 'Cancelling…' : 'Cancel'}
        </button>
      ) : null}
      {job.status === 'failed' || job.status === 'cancelled' ? (
        <button type="button" onClick={() => void act('retry')} disabled={pending !== null} data-testid="job-retry">
          {pending === 'retry' ? 'Retrying…' : 'Retry'}
        </button>
      ) : null}
      {error ? (
        <p className="orbit-error" role="alert" data-testid="job-action-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}

function JobBody({ job }: { job: Job }) {
  const code = errorCode(job);
  return (
    <>
      <section className="orbit-card" aria-labelledby="job-input-title">
        <h3 id="job-input-title">Input</h3>
        <pre data-testid="job-input">{pretty(job.input_data ?? {})}</pre>
      </section>
      {job.error ? (
        <section className="orbit-card" aria-labelledby="job-error-title">
          <h3 id="job-error-title">Error</h3>
          <p className="orbit-error" data-testid="job-error">
            {code ? <code data-testid="job-error-code">{code}</code> : null} {job.error}
          </p>
        </section>
      ) : null}
      {job.status === 'completed' ? (
        <section className="orbit-card" aria-labelledby="job-result-title">
          <h3 id="job-result-title">Result</h3>
          <pre data-testid="job-result">{pretty(job.result)}</pre>
        </section>
      ) : null}
    </>
  );
}

export function JobPage({ jobId }: { jobId: string }) {
  const [epoch, setEpoch] = useState(0);
  const mode = useJobStream(jobId, epoch);
  const query = useQuery({
    ...jobQuery(jobId),
    // Polled only when the stream cannot be had; paused in hidden tabs by TanStack Query.
    refetchInterval: (q) => (mode === 'polling' && !isTerminalStatus(q.state.data?.status) ? POLL_MS : false),
  });
  const timeline = useQuery<JobEvent[]>({ queryKey: jobKeys.timeline(jobId), queryFn: () => [], staleTime: Infinity });
  const job = query.data;
  return (
    <div className="orbit-page orbit-page--job" data-testid="job-page" data-stream={mode}>
      <p>
        <a href={paths.jobs()}>← All jobs</a>
      </p>
      {query.error ? (
        <p className="orbit-error" role="alert" data-testid="job-load-error">
          {describeError(query.error, 'Could not load the job')}
        </p>
      ) : null}
      {job ? (
        <>
          <header className="orbit-page__header">
            <h2 data-testid="job-title">{humanJobType(job.job_type)}</h2>
            <code title={job.id}>{job.id}</code>
          </header>
          <ProgressBar percent={job.progress_percent} message={job.progress_message} jobId={`${job.id}:${epoch}`} label="Job progress" />
          <JobActions job={job} onRetried={() => setEpoch((n) => n + 1)} />
          <JobFacts job={job} />
          <JobBody job={job} />
          <JobChildren jobId={jobId} />
          <JobTimeline events={timeline.data ?? []} />
        </>
      ) : null}
    </div>
  );
}
