/** Figures of the jobs dashboard, computed from a list of jobs. */
import type { Job, JobStatus } from './types';

export interface JobTypeStats {
  jobType: string;
  completed: number;
  failed: number;
  cancelled: number;
  /** Jobs still pending or running. */
  active: number;
  /** completed / (completed + failed + cancelled), or null before any job finished. */
  successRate: number | null;
  /** Mean of `completed_at − started_at` over the completed jobs, or null without one. */
  averageDurationMs: number | null;
}

/** Milliseconds from `started_at` to `completed_at`, or null when either is missing. */
export function jobDurationMs(job: Pick<Job, 'started_at' | 'completed_at'>): number | null {
  if (!job.started_at || !job.completed_at) return null;
  const ms = Date.parse(job.completed_at) - Date.parse(job.started_at);
  return Number.isFinite(ms) && ms >= 0 ? ms : null;
}

/** Success rate and average duration per job type, sorted by type. */
export function computeJobTypeStats(jobs: readonly Job[]): JobTypeStats[] {
  const byType = new Map<string, { stats: JobTypeStats; durations: number[] }>();
  for (const job of jobs) {
    let entry = byType.get(job.job_type);
    if (!entry) {
      entry = {
        stats: {
          jobType: job.job_type,
          completed: 0,
          failed: 0,
          cancelled: 0,
          active: 0,
          successRate: null,
          averageDurationMs: null,
        },
        durations: [],
      };
      byType.set(job.job_type, entry);
    }
    const { stats, durations } = entry;
    if (job.status === 'completed') {
      stats.completed += 1;
      const ms = jobDurationMs(job);
      if (ms !== null) durations.push(ms);
    } else if (job.status === 'failed') stats.failed += 1;
    else if (job.status === 'cancelled') stats.cancelled += 1;
    else stats.active += 1;
  }
  const result: JobTypeStats[] = [];
  for (const { stats, durations } of byType.values()) {
    const finished = stats.completed + stats.failed + stats.cancelled;
    stats.successRate = finished ? stats.completed / finished : null;
    stats.averageDurationMs = durations.length
      ? durations.reduce((sum, ms) => sum + ms, 0) / durations.length
      : null;
    result.push(stats);
  }
  return result.sort((a, b) => a.jobType.localeCompare(b.jobType));
}

export const STATUS_ORDER: readonly JobStatus[] = [
  'pending',
  'running',
  'completed',
  'failed',
  'cancelled',
];
