import { describe, expect, it } from 'vitest';

import { makeJob } from '../test/fakes';
import { computeJobTypeStats, jobDurationMs } from './jobStats';

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();

describe('computeJobTypeStats', () => {
  it('computes the success rate and the mean duration of completed jobs per type', () => {
    const jobs = [
      makeJob({ id: '1', job_type: 'task_execution', status: 'completed', started_at: at(0), completed_at: at(1) }),
      makeJob({ id: '2', job_type: 'task_execution', status: 'completed', started_at: at(10), completed_at: at(13) }),
      makeJob({ id: '3', job_type: 'task_execution', status: 'failed', started_at: at(0), completed_at: at(30) }),
      makeJob({ id: '4', job_type: 'task_execution', status: 'running', started_at: at(0) }),
      makeJob({ id: '5', job_type: 'backlog_generation', status: 'cancelled', started_at: at(0), completed_at: at(2) }),
      makeJob({ id: '6', job_type: 'interview_message', status: 'pending' }),
    ];
    const stats = computeJobTypeStats(jobs);
    expect(stats.map((s) => s.jobType)).toEqual(['backlog_generation', 'interview_message', 'task_execution']);
    const [backlog, interview, tasks] = stats;
    expect(tasks).toMatchObject({ completed: 2, failed: 1, cancelled: 0, active: 1, averageDurationMs: 2000 });
    expect(tasks?.successRate).toBeCloseTo(2 / 3);
    expect(backlog).toMatchObject({ successRate: 0, averageDurationMs: null, cancelled: 1 });
    expect(interview).toMatchObject({ successRate: null, averageDurationMs: null, active: 1 });
  });

  it('returns nothing for no jobs', () => {
    expect(computeJobTypeStats([])).toEqual([]);
  });
});

describe('jobDurationMs', () => {
  it('is null without both timestamps, and for inverted clocks', () => {
    expect(jobDurationMs({ started_at: at(0), completed_at: null })).toBeNull();
    expect(jobDurationMs({ started_at: at(5), completed_at: at(1) })).toBeNull();
    expect(jobDurationMs({ started_at: at(1), completed_at: at(5) })).toBe(4000);
  });
});
