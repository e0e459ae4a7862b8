import { describe, expect, it, vi } from 'vitest';

import { createFakeEventSource, makeJob } from '../test/fakes';
import { jobEventsUrl } from './events';
import { subscribeEvents } from './events';
import { projectEventSource } from './projectStream';
import type { Job, JobEvent } from './types';

const flush = () => new Promise((resolve) => setTimeout(resolve, 0));

function setup(jobs: Record<string, Job>) {
  const Base = createFakeEventSource();
  const Fallback = createFakeEventSource();
  const getJob = vi.fn(async (id: string) => jobs[id] ?? makeJob({ id }));
  const Source = projectEventSource('p1', { getJob, Base, fallback: Fallback });
  return { Base, Fallback, Source, getJob };
}

function follow(Source: ReturnType<typeof setup>['Source'], jobId: string, after: number | null = null) {
  const events: JobEvent[] = [];
  const subscription = subscribeEvents({
    url: (cursor) => jobEventsUrl(jobId, cursor ?? after),
    EventSource: Source,
    onEvent: (event) => events.push(event),
  });
  return { events, subscription };
}

describe('projectEventSource', () => {
  it('feeds every followed job from one project connection', async () => {
    const { Base, Source } = setup({
      a: makeJob({ id: 'a', status: 'running', version: 2 }),
      b: makeJob({ id: 'b', status: 'running', version: 5 }),
    });
    const a = follow(Source, 'a');
    const b = follow(Source, 'b');
    await flush();
    expect(Base.instances).toHaveLength(1);
    expect(Base.latest.url).toContain('/api/v1/jobs/events?project_id=p1');

    expect(a.events).toEqual([]); // nothing is read before the stream's position is fixed
    Base.latest.open();
    Base.latest.emit('snapshot', { jobs: [], truncated: false }, 99);
    await flush();
    Base.latest.emit('progress', { job_id: 'a', seq: 3, percent: 30, message: 'a' }, 100);
    Base.latest.emit('progress', { job_id: 'b', seq: 4, percent: 40, message: 'old' }, 101);
    Base.latest.emit('progress', { job_id: 'b', seq: 6, percent: 60, message: 'new' }, 102);
    Base.latest.emit('status', { job_id: 'a', seq: 4, status: 'completed' }, 103);

    expect(a.events.map((event) => event.type)).toEqual(['snapshot', 'progress', 'status', 'end']);
    // b's snapshot is at version 5: the older event is already in it.
    expect(b.events.map((event) => [event.type, event.id])).toEqual([
      ['snapshot', 5],
      ['progress', 6],
    ]);
    expect(Base.latest.closed).toBe(false); // b still follows
    b.subscription.close();
    expect(Base.latest.closed).toBe(true);
  });

  it('ends at once for a finished job and resumes the connection after a failure', async () => {
    const { Base, Source } = setup({ done: makeJob({ id: 'done', status: 'completed', version: 7 }) });
    const done = follow(Source, 'done');
    const live = follow(Source, 'live');
    await flush();
    Base.latest.emit('snapshot', { jobs: [], truncated: false }, 40);
    await flush();
    expect(done.events.map((event) => event.type)).toEqual(['snapshot', 'end']);

    Base.latest.emit('progress', { job_id: 'live', seq: 9, percent: 10, message: null }, 41);
    Base.latest.fail();
    expect(Base.latest.closed).toBe(true);
    expect(live.subscription.state).toBe('reconnecting');
    await vi.waitFor(() => expect(Base.instances).toHaveLength(2), { timeout: 3000 });
    expect(Base.latest.after).toBe('41');
    live.subscription.close();
  });

  it('sends a request for the whole log to the fallback streams', async () => {
    const { Base, Fallback, Source } = setup({});
    follow(Source, 'x', 0);
    await flush();
    expect(Fallback.instances).toHaveLength(1);
    expect(Fallback.latest.after).toBe('0');
    expect(Base.instances).toHaveLength(0);
  });
});
