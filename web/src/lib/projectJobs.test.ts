import { describe, expect, it } from 'vitest';

import { makeJob } from '../test/fakes';
import { activeProjectJobs } from './projectJobs';

describe('activeProjectJobs', () => {
  it('finds the running jobs each part of the workspace follows, newest first', () => {
    const jobs = [
      makeJob({ id: 'b2', job_type: 'backlog_generation', status: 'running', interview_id: 'i1' }),
      makeJob({ id: 'b1', job_type: 'backlog_generation', status: 'pending', interview_id: 'i1' }),
      makeJob({ id: 'm1', job_type: 'interview_message', status: 'running', interview_id: 'i1' }),
      makeJob({ id: 'a1', job_type: 'story_activation', status: 'running', input_data: { item_id: 's1' } }),
      makeJob({ id: 'e1', job_type: 'task_execution', status: 'pending', input_data: { task_id: 't1' } }),
      makeJob({ id: 'c1', job_type: 'task_execution', status: 'running', parent_id: 'x1', input_data: { task_id: 't2' } }),
      makeJob({ id: 'x1', job_type: 'batch_execution', status: 'running' }),
      makeJob({ id: 'g1', job_type: 'commit_generation', status: 'running', input_data: { task_id: 't3' } }),
      makeJob({ id: 'g2', job_type: 'commit_generation', status: 'pending', input_data: { description: 'fix' } }),
      makeJob({ id: 'p1', job_type: 'project_provisioning', status: 'running' }),
      makeJob({ id: 'old', job_type: 'task_activation', status: 'completed', input_data: { item_id: 't9' } }),
    ];
    const found = activeProjectJobs(jobs, 'i1');
    expect(found.backlog?.id).toBe('b2');
    expect(found.interview?.id).toBe('m1');
    expect(found.batch?.id).toBe('x1');
    expect(found.provisioning?.id).toBe('p1');
    expect(found.manualCommit?.id).toBe('g2');
    expect(found.interviewId).toBe('i1');
    // A batch's children are shown by the batch, not as the task's own job.
    expect(found.items).toEqual({
      s1: { jobId: 'a1', action: 'activate' },
      t1: { jobId: 'e1', action: 'execute' },
      t3: { jobId: 'g1', action: 'commit' },
    });
  });

  it('ignores reply jobs of another interview', () => {
    const jobs = [makeJob({ job_type: 'interview_message', status: 'running', interview_id: 'other' })];
    expect(activeProjectJobs(jobs, 'i1').interview).toBeNull();
    expect(activeProjectJobs(jobs, null).interview).not.toBeNull();
  });
});
