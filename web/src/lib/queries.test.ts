import { describe, expect, it } from 'vitest';

import { timelineEntries } from '../pages/job/JobTimeline';
import { makeJob } from '../test/fakes';
import { applyEvent, keepNewerJobs } from './queries';
import type { JobEvent } from './types';

describe('applyEvent', () => {
  const job = makeJob({ version: 3, status: 'running', progress_percent: 10 });

  it('folds progress and status events newer than the cached job', () => {
    const progressed = applyEvent(job, { type: 'progress', id: 4, data: { percent: 40, message: 'half' } });
    expect(progressed?.progress_percent).toBe(40);
    expect(progressed?.version).toBe(4);
    const failed = applyEvent(progressed, { type: 'status', id: 5, data: { status: 'failed', error: 'boom' } });
    expect(failed?.status).toBe('failed');
    expect(failed?.error).toBe('boom');
  });

  it('ignores events the cached job already includes, and has nothing to fold into', () => {
    expect(applyEvent(job, { type: 'progress', id: 3, data: { percent: 99, message: null } })).toBe(job);
    expect(applyEvent(undefined, { type: 'progress', id: 9, data: { percent: 1, message: null } })).toBeUndefined();
  });
});

describe('timelineEntries', () => {
  it('merges consecutive tokens and leaves out end', () => {
    const events: JobEvent[] = [
      { type: 'progress', id: 1, data: { percent: 10, message: 'Calling AI model...' } },
      { type: 'token', id: 2, data: { text: 'Hel' } },
      { type: 'token', id: 3, data: { text: 'lo' } },
      { type: 'status', id: 4, data: { status: 'completed' } },
      { type: 'end', id: null, data: { status: 'completed' } },
    ];
    expect(timelineEntries(events).map((entry) => [entry.type, entry.text])).toEqual([
      ['progress', '10% Calling AI model...'],
      ['token', 'Hello'],
      ['status', 'completed'],
    ]);
  });
});

describe('keepNewerJobs', () => {
  it('never lets a list read move a cached job back to an older version', () => {
    const cached = { items: [makeJob({ id: 'a', version: 5, status: 'completed' }), makeJob({ id: 'b', version: 2 })], next_cursor: null };
    const read = { items: [makeJob({ id: 'a', version: 3, status: 'running' }), makeJob({ id: 'b', version: 4, status: 'running' })], next_cursor: null };
    const merged = keepNewerJobs(cached, read);
    expect(merged.items.map((job) => [job.id, job.version, job.status])).toEqual([
      ['a', 5, 'completed'],
      ['b', 4, 'running'],
    ]);
    expect(keepNewerJobs(undefined, read)).toBe(read);
  });
});
