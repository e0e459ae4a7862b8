import { useCallback, useEffect, useRef, useState } from 'react';

import { ApiError, jobsApi } from '../lib/api';
import { isActiveStatus } from '../lib/jobStatus';
import type { Job, JobListParams } from '../lib/types';
import { ProgressBar } from './ProgressBar';

export interface JobsDashboardProps {
  /** Only the jobs of this project. */
  projectId?: string;
  /** Page size. Default 25. */
  limit?: number;
  /** Reload the first page this often while a listed job is active; 0 disables. Default 5000. */
  refreshMs?: number;
}

function describeError(error: unknown): string {
  if (error instanceof ApiError) return error.detail ? `${error.title}: ${error.detail}` : error.title;
  if (error instanceof Error) return error.message;
  return 'Could not load jobs';
}

function formatTime(value: string | null | undefined): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** A list of recent jobs with their status and progress (`GET /api/v1/jobs`). */
export function JobsDashboard({ projectId, limit = 25, refreshMs = 5000 }: JobsDashboardProps) {
  const [jobs, setJobs] = useState<Job[]>([]);
  const [cursor, setCursor] = useState<string | null>(null);
  const [pages, setPages] = useState(1);
  const [loading, setLoading] = useState(true);
  const [error, setError] = useState<string | null>(null);
  const mounted = useRef(true);

  useEffect(() => {
    mounted.current = true;
    return () => {
      mounted.current = false;
    };
  }, []);

  const params: JobListParams = { limit, project_id: projectId };

  const loadFirstPage = useCallback(async () => {
    setLoading(true);
    try {
      const page = await jobsApi.list({ limit, project_id: projectId });
      if (!mounted.current) return;
      setJobs(page.items);
      setCursor(page.next_cursor);
      setPages(1);
      setError(null);
    } catch (err) {
      if (mounted.current) setError(describeError(err));
    } finally {
      if (mounted.current) setLoading(false);
    }
  }, [limit, projectId]);

  const loadMore = async () => {
    if (!cursor) return;
    setLoading(true);
    try {
      const page = await jobsApi.list({ ...params, cursor });
      if (!mounted.current) return;
      setJobs((previous) => [...previous, ...page.items]);
      setCursor(page.next_cursor);
      setPages((n) => n + 1);
      setError(null);
    } catch (err) {
      if (mounted.current) setError(describeError(err));
    } finally {
      if (mounted.current) setLoading(false);
    }
  };

  useEffect(() => {
    void loadFirstPage();
  }, [loadFirstPage]);

  const hasActive = jobs.some((job) => isActiveStatus(job.status));
  useEffect(() => {
    // Auto-refresh only the first page, so "load more" results are not thrown away.
    if (!refreshMs || !hasActive || pages > 1) return undefined;
    const timer = setInterval(() => void loadFirstPage(), refreshMs);
    return () => clearInterval(timer);
  }, [refreshMs, hasActive, pages, loadFirstPage]);

  return (
    <section className="orbit-jobs" aria-labelledby="orbit-jobs-title">
      <div className="orbit-jobs__toolbar">
        <h2 id="orbit-jobs-title">Jobs</h2>
        <button type="button" onClick={() => void loadFirstPage()} disabled={loading}>
          {loading ? 'Loading…' : 'Refresh'}
        </button>
      </div>
      {error ? (
        <p className="orbit-jobs__error" role="alert">
          {error}
        </p>
      ) : null}
      {!loading && !error && jobs.length === 0 ? (
        <p className="orbit-jobs__empty">No jobs yet.</p>
      ) : null}
      <ul className="orbit-jobs__list">
        {jobs.map((job) => (
          <li key={job.id} className="orbit-jobs__item" data-job-id={job.id}>
            <div>
              <span className="orbit-jobs__type">{job.job_type}</span>
              <span className="orbit-jobs__meta">
                {formatTime(job.created_at)}
                {job.max_attempts > 1 ? ` · attempt ${job.attempts}/${job.max_attempts}` : ''}
              </span>
            </div>
            <span className={`orbit-status orbit-status--${job.status}`}>{job.status}</span>
            <div>
              {job.status === 'failed' || job.status === 'cancelled' ? (
                <span className="orbit-jobs__error">{job.error ?? job.status}</span>
              ) : (
                <ProgressBar
                  jobId={job.id}
                  label={`${job.job_type} progress`}
                  percent={
                    job.status === 'completed' ? (job.progress_percent ?? 100) : job.progress_percent
                  }
                  message={job.progress_message}
                />
              )}
            </div>
          </li>
        ))}
      </ul>
      {cursor ? (
        <button type="button" onClick={() => void loadMore()} disabled={loading}>
          Load more
        </button>
      ) : null}
    </section>
  );
}
