import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo, useState } from 'react';

import type { JobTransport } from '../hooks/useJob';
import type { EventSourceConstructor } from '../lib/events';
import { useJobsStream } from '../lib/jobsStream';
import { projectsQuery } from '../lib/projectQueries';
import { deleteJob, jobAction, jobListQuery, jobStatsQuery } from '../lib/queries';
import { hashQuery, paths, replaceHash } from '../lib/router';
import { describeError, formatDuration, formatRate, formatTime, humanJobType } from '../lib/format';
import { STATUS_ORDER, computeJobTypeStats, jobDurationMs } from '../lib/jobStats';
import { isActiveStatus, isTerminalStatus } from '../lib/jobStatus';
import type { Job, JobStatus } from '../lib/types';
import { JobProgressView } from './JobTracker';

/** The job types of the Orbit app, offered in the type filter before any was seen. */
export const KNOWN_JOB_TYPES = [
  'interview_message',
  'backlog_generation',
  'epic_activation',
  'story_activation',
  'task_activation',
  'subtask_activation',
  'task_execution',
  'batch_execution',
  'commit_generation',
  'project_provisioning',
];

/** The filters in the address (`#/jobs?status=failed&type=…&project=…`), else the defaults. */
function filtersFromUrl(projectId: string): Filters {
  const query = hashQuery();
  const status = query.get('status') ?? '';
  return {
    status: (STATUS_ORDER as readonly string[]).includes(status) ? (status as JobStatus) : '',
    jobType: query.get('type') ?? '',
    projectId: query.get('project') ?? projectId,
  };
}

/** Keep the address in step with the filters, so a reload or a shared link keeps them. */
function filtersToUrl(filters: Filters): void {
  replaceHash(paths.jobs({ status: filters.status, type: filters.jobType, project: filters.projectId }));
}

export interface JobsDashboardProps {
  /** Reload the list and the counts this often while the event stream is unavailable. Default 1000 ms. */
  pollMs?: number;
  /** Jobs listed (newest first). Default 100. */
  limit?: number;
  /** Initial project filter. */
  projectId?: string;
  /** The `EventSource` of the jobs-wide stream (default: the browser's; null: poll). */
  EventSource?: EventSourceConstructor | null;
}

interface Filters {
  status: JobStatus | '';
  jobType: string;
  projectId: string;
}

type RowAction = 'cancel' | 'retry' | 'delete';

/** While the stream is live the list is still read this often: it cannot see deletions. */
const STREAMING_REFRESH_MS = 30_000;

/**
 * `#/jobs`: every job, live, over one connection: the list and the counts by status are
 * read through the query cache, and the jobs-wide event stream (`GET /events`) writes each
 * job's progress and status into it (polling every `pollMs` when there is no stream).
 * Each row can be cancelled, retried or deleted (the server's problem detail is shown when
 * it refuses). Success rate and average duration per job type come from the listed jobs.
 */
export function JobsDashboard({ pollMs = 1000, limit = 100, projectId = '', EventSource }: JobsDashboardProps) {
  const client = useQueryClient();
  const [filters, setFilters] = useState<Filters>(() => filtersFromUrl(projectId));
  const [rowErrors, setRowErrors] = useState<Record<string, string>>({});
  const [pending, setPending] = useState<Record<string, RowAction>>({});

  const mode = useJobsStream(
    { projectId: filters.projectId || null, jobType: filters.jobType || null },
    { EventSource },
  );
  const refetchInterval = mode === 'streaming' ? STREAMING_REFRESH_MS : pollMs;
  const listParams = {
    status: filters.status || undefined,
    job_type: filters.jobType || undefined,
    project_id: filters.projectId || undefined,
    limit,
  };
  const list = useQuery({ ...jobListQuery(listParams), refetchInterval });
  const counts = useQuery({
    ...jobStatsQuery({ project_id: filters.projectId || undefined, job_type: filters.jobType || undefined }),
    refetchInterval,
  });
  // The project filter is a convenience: without the projects the page still works.
  const projectsRead = useQuery({ ...projectsQuery(), staleTime: 30_000 });

  const jobs = list.data?.items ?? null;
  const stats = counts.data ?? null;
  const projects = useMemo(() => projectsRead.data ?? [], [projectsRead.data]);
  const failed = list.error ?? counts.error;
  const error = failed && !list.data ? describeError(failed, 'Could not load the jobs') : null;

  const typeStats = useMemo(() => computeJobTypeStats(jobs ?? []), [jobs]);
  const jobTypes = useMemo(() => {
    const seen = new Set(KNOWN_JOB_TYPES);
    for (const job of jobs ?? []) seen.add(job.job_type);
    return [...seen].sort();
  }, [jobs]);
  const projectNames = useMemo(() => new Map(projects.map((p) => [p.id, p.name])), [projects]);
  const rowMode: JobTransport = mode === 'streaming' ? 'sse' : 'polling';

  const act = async (job: Job, action: RowAction) => {
    setPending((p) => ({ ...p, [job.id]: action }));
    setRowErrors(({ [job.id]: _cleared, ...rest }) => rest);
    try {
      if (action === 'delete') await deleteJob(client, job.id);
      else await jobAction(client, job.id, action);
    } catch (err) {
      setRowErrors((errors) => ({ ...errors, [job.id]: describeError(err) }));
    } finally {
      setPending(({ [job.id]: _done, ...rest }) => rest);
    }
  };

  const setFilter = (patch: Partial<Filters>) => {
    const next = { ...filters, ...patch };
    setFilters(next);
    filtersToUrl(next);
  };

  return (
    <div className="orbit-page orbit-page--jobs" data-testid="jobs-dashboard">
      <section className="orbit-card" aria-labelledby="jobs-stats-title">
        <div className="orbit-card__toolbar">
          <h2 id="jobs-stats-title">Jobs</h2>
          <span className="orbit-muted" data-testid="jobs-total">
            {stats ? `${stats.total} in total` : ''}
          </span>
        </div>
        <ul className="orbit-counts" data-testid="status-counts">
          {STATUS_ORDER.map((status) => (
            <li key={status} className={`orbit-count orbit-count--${status}`}>
              <button
                type="button"
                className={filters.status === status ? 'orbit-count__button is-selected' : 'orbit-count__button'}
                onClick={() => setFilter({ status: filters.status === status ? '' : status })}
                aria-pressed={filters.status === status}
              >
                <span className="orbit-count__value" data-testid={`count-${status}`}>
                  {stats?.counts[status] ?? 0}
                </span>
                <span className="orbit-count__label">{status}</span>
              </button>
            </li>
          ))}
        </ul>
        <TypeStatsTable stats={typeStats} />
      </section>

      <section className="orbit-card" aria-label="Job list">
        <div className="orbit-filters">
          <label>
            Status
            <select
              value={filters.status}
              onChange={(event) => setFilter({ status: event.target.value as Filters['status'] })}
              data-testid="filter-status"
            >
              <option value="">any</option>
              {STATUS_ORDER.map((status) => (
                <option key={status} value={status}>
                  {status}
                </option>
              ))}
            </select>
          </label>
          <label>
            Type
            <select value={filters.jobType} onChange={(event) => setFilter({ jobType: event.target.value })} data-testid="filter-type">
              <option value="">any</option>
              {jobTypes.map((type) => (
                <option key={type} value={type}>
                  {humanJobType(type)}
                </option>
              ))}
            </select>
          </label>
          <label>
            Project
            <select
              value={filters.projectId}
              onChange={(event) => setFilter({ projectId: event.target.value })}
              data-testid="filter-project"
            >
              <option value="">any</option>
              {projects.map((project) => (
                <option key={project.id} value={project.id}>
                  {project.name}
                </option>
              ))}
              {filters.projectId && !projectNames.has(filters.projectId) ? (
                <option value={filters.projectId}>{filters.projectId}</option>
              ) : null}
            </select>
          </label>
        </div>
        {error ? (
          <p className="orbit-error" role="alert" data-testid="jobs-error">
            {error}
          </p>
        ) : null}
        {jobs && jobs.length === 0 ? (
          <p className="orbit-muted" data-testid="jobs-empty">
            No jobs match.
          </p>
        ) : null}
        {jobs === null && !error ? <p className="orbit-muted">Loading…</p> : null}
        {jobs && jobs.length ? (
          <table className="orbit-table" data-testid="jobs-table">
            <thead>
              <tr>
                <th scope="col">Job</th>
                <th scope="col">Status</th>
                <th scope="col">Progress</th>
                <th scope="col">Created</th>
                <th scope="col">Duration</th>
                <th scope="col">
                  <span className="orbit-visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {jobs.map((job) => (
                <JobRow
                  key={job.id}
                  job={job}
                  mode={rowMode}
                  projectName={job.project_id ? projectNames.get(job.project_id) : undefined}
                  pending={pending[job.id]}
                  error={rowErrors[job.id]}
                  onAction={act}
                />
              ))}
            </tbody>
          </table>
        ) : null}
      </section>
    </div>
  );
}

function TypeStatsTable({ stats }: { stats: ReturnType<typeof computeJobTypeStats> }) {
  if (!stats.length) return null;
  return (
    <table className="orbit-table orbit-table--compact" data-testid="type-stats">
      <thead>
        <tr>
          <th scope="col">Job type</th>
          <th scope="col">Completed</th>
          <th scope="col">Failed</th>
          <th scope="col">Cancelled</th>
          <th scope="col">Success rate</th>
          <th scope="col">Average duration</th>
        </tr>
      </thead>
      <tbody>
        {stats.map((row) => (
          <tr key={row.jobType} data-testid="type-stats-row" data-job-type={row.jobType}>
            <th scope="row">{humanJobType(row.jobType)}</th>
            <td>{row.completed}</td>
            <td>{row.failed}</td>
            <td>{row.cancelled}</td>
            <td data-testid="success-rate">{formatRate(row.successRate)}</td>
            <td data-testid="average-duration">{formatDuration(row.averageDurationMs)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

interface JobRowProps {
  job: Job;
  /** How the listed jobs are kept current (shown on active rows). */
  mode: JobTransport;
  projectName: string | undefined;
  pending: RowAction | undefined;
  error: string | undefined;
  onAction: (job: Job, action: RowAction) => Promise<void>;
}

function JobRow({ job, mode, projectName, pending, error, onAction }: JobRowProps) {
  const active = isActiveStatus(job.status);
  const cancelling = active && Boolean(job.cancel_requested_at);
  return (
    <tr data-testid="job-row" data-job-id={job.id} data-status={job.status} data-job-type={job.job_type}>
      <td>
        <span className="orbit-table__type">{humanJobType(job.job_type)}</span>
        <span className="orbit-table__meta">
          {projectName ? `${projectName} · ` : ''}
          {job.parent_id ? 'child job · ' : ''}
          <a href={paths.job(job.id)} data-testid="job-link">
            <code title={job.id}>{job.id.slice(0, 8)}</code>
          </a>
          {job.max_attempts > 1 && job.attempts > 1 ? ` · attempt ${job.attempts}/${job.max_attempts}` : ''}
        </span>
      </td>
      <td>
        <span className={`orbit-status orbit-status--${job.status}`} data-testid="job-status">
          {cancelling ? 'cancelling' : job.status}
        </span>
      </td>
      <td className="orbit-table__progress">
        <JobProgressView jobId={job.id} job={job} testId="job-progress" label={`${humanJobType(job.job_type)} progress`} mode={active ? mode : undefined} />
        {error ? (
          <p className="orbit-error" role="alert" data-testid="row-error">
            {error}
          </p>
        ) : null}
      </td>
      <td className="orbit-table__time">{formatTime(job.created_at)}</td>
      <td className="orbit-table__time">{formatDuration(isTerminalStatus(job.status) ? jobDurationMs(job) : null)}</td>
      <td className="orbit-table__actions">
        {active ? (
          <button type="button" onClick={() => void onAction(job, 'cancel')} disabled={Boolean(pending) || cancelling} data-testid="cancel-button">
            {pending === 'cancel' ? 'Cancelling…' : 'Cancel'}
          </button>
        ) : null}
        {job.status === 'failed' || job.status === 'cancelled' ? (
          <button type="button" onClick={() => void onAction(job, 'retry')} disabled={Boolean(pending)} data-testid="retry-button">
            {pending === 'retry' ? 'Retrying…' : 'Retry'}
          </button>
        ) : null}
        {isTerminalStatus(job.status) ? (
          <button type="button" className="orbit-button--danger" onClick={() => void onAction(job, 'delete')} disabled={Boolean(pending)} data-testid="delete-button">
            {pending === 'delete' ? 'Deleting…' : 'Delete'}
          </button>
        ) : null}
      </td>
    </tr>
  );
}
