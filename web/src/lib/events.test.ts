import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createFakeEventSource, makeJob } from '../test/fakes';
import { TOKEN_STORAGE_KEY } from './api';
import { reconnectDelayMs, subscribeEvents, subscribeJobEvents, subscribeProjectEvents } from './events';
import type { JobEvent } from './types';

describe('subscribeJobEvents', () => {
  let FakeES: ReturnType<typeof createFakeEventSource>;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeES = createFakeEventSource();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resumes after a disconnect with ?after=<last id>, without duplicates or gaps', async () => {
    const events: JobEvent[] = [];
    const sub = subscribeJobEvents('job-1', {
      EventSource: FakeES,
      onEvent: (e) => events.push(e),
      initialBackoffMs: 1000,
    });

    const first = FakeES.latest;
    expect(new URL(first.url, 'http://x').pathname).toBe('/api/v1/jobs/job-1/events');
    expect(first.after).toBeNull();
    first.open();
    first.emit('snapshot', makeJob({ status: 'running', version: 1 }), 1);
    first.emit('progress', { percent: 10, message: 'a' }, 2);
    first.emit('progress', { percent: 20, message: 'b' }, 3);
    first.fail();

    expect(first.closed).toBe(true); // the browser's own unbounded retry is cut off
    expect(sub.state).toBe('reconnecting');
    await vi.advanceTimersByTimeAsync(999);
    expect(FakeES.instances).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeES.instances).toHaveLength(2);

    const second = FakeES.latest;
    expect(second.after).toBe('3');
    second.open();
    // The server replays from its side; overlapping ids must not be handed out twice.
    second.emit('progress', { percent: 10, message: 'a' }, 2);
    second.emit('progress', { percent: 20, message: 'b' }, 3);
    second.emit('progress', { percent: 30, message: 'c' }, 4);
    second.emit('status', { status: 'completed' }, 5);
    second.emit('end', null, 6);

    expect(events.map((e) => [e.type, e.id])).toEqual([
      ['snapshot', 1],
      ['progress', 2],
      ['progress', 3],
      ['progress', 4],
      ['status', 5],
      ['end', 6],
    ]);
    expect(sub.state).toBe('ended');
    expect(sub.lastEventId).toBe(6);
    expect(second.closed).toBe(true);
  });

  it('keeps the last event id across several reconnections', async () => {
    const ids: Array<number | null> = [];
    subscribeJobEvents('job-1', {
      EventSource: FakeES,
      onEvent: (e) => ids.push(e.id),
      maxConsecutiveErrors: 5,
    });

    FakeES.latest.emit('token', { text: 'x' }, 4);
    FakeES.latest.fail();
    await vi.advanceTimersByTimeAsync(1000);
    FakeES.latest.fail(); // fails again before any event
    await vi.advanceTimersByTimeAsync(2000);

    expect(FakeES.instances.map((es) => es.after)).toEqual([null, '4', '4']);
    FakeES.latest.emit('token', { text: 'y' }, 5);
    expect(ids).toEqual([4, 5]);
  });

  it('ignores late events from a connection it already closed', async () => {
    const onEvent = vi.fn();
    subscribeJobEvents('job-1', { EventSource: FakeES, onEvent });
    const first = FakeES.latest;
    first.fail();
    first.emit('progress', { percent: 50, message: null }, 9);
    expect(onEvent).not.toHaveBeenCalled();
  });

  it('keeps the stored token out of the stream URL (the orbit_token cookie carries it)', () => {
    localStorage.setItem(TOKEN_STORAGE_KEY, 'tok-1');
    subscribeProjectEvents('proj-1', { EventSource: FakeES, onEvent: () => {} });
    const url = new URL(FakeES.latest.url, 'http://x');
    expect(url.pathname).toBe('/api/v1/jobs/events');
    expect(url.searchParams.get('project_id')).toBe('proj-1');
    expect(url.searchParams.has('access_token')).toBe(false);
  });

  it('gives up after repeated consecutive errors, backing off between attempts', async () => {
    const onGiveUp = vi.fn();
    const onError = vi.fn();
    const sub = subscribeJobEvents('job-1', {
      EventSource: FakeES,
      onEvent: () => {},
      onError,
      onGiveUp,
      maxConsecutiveErrors: 3,
      initialBackoffMs: 1000,
    });

    FakeES.latest.fail();
    await vi.advanceTimersByTimeAsync(1000);
    expect(FakeES.instances).toHaveLength(2);
    FakeES.latest.fail();
    await vi.advanceTimersByTimeAsync(1999);
    expect(FakeES.instances).toHaveLength(2); // second delay is doubled
    await vi.advanceTimersByTimeAsync(1);
    expect(FakeES.instances).toHaveLength(3);
    expect(onGiveUp).not.toHaveBeenCalled();
    FakeES.latest.fail();

    expect(onGiveUp).toHaveBeenCalledTimes(1);
    expect(onGiveUp).toHaveBeenCalledWith('too-many-errors');
    expect(onError.mock.calls.map((c) => c[1])).toEqual([1, 2, 3]);
    expect(sub.state).toBe('gave-up');
    await vi.advanceTimersByTimeAsync(60_000);
    expect(FakeES.instances).toHaveLength(3);
    expect(FakeES.instances.every((es) => es.closed)).toBe(true);
  });

  it('resets the error count once events flow again', async () => {
    const onGiveUp = vi.fn();
    subscribeJobEvents('job-1', {
      EventSource: FakeES,
      onEvent: () => {},
      onGiveUp,
      maxConsecutiveErrors: 2,
    });

    for (let id = 1; id <= 4; id += 1) {
      FakeES.latest.emit('progress', { percent: id * 10, message: null }, id);
      FakeES.latest.fail();
      await vi.advanceTimersByTimeAsync(1000);
    }

    expect(onGiveUp).not.toHaveBeenCalled();
    expect(FakeES.instances).toHaveLength(5);
  });

  it('reports "unsupported" when there is no EventSource', async () => {
    const onGiveUp = vi.fn();
    const sub = subscribeEvents({ url: () => '/x', EventSource: null, onEvent: () => {}, onGiveUp });
    expect(onGiveUp).not.toHaveBeenCalled(); // reported after the caller holds the subscription
    await Promise.resolve();
    expect(onGiveUp).toHaveBeenCalledWith('unsupported');
    expect(sub.state).toBe('gave-up');
  });

  it('close() stops a pending reconnection', async () => {
    const sub = subscribeJobEvents('job-1', { EventSource: FakeES, onEvent: () => {} });
    FakeES.latest.fail();
    sub.close();
    await vi.advanceTimersByTimeAsync(30_000);
    expect(FakeES.instances).toHaveLength(1);
    expect(sub.state).toBe('closed');
  });

  it('does not reconnect after the server sent end', async () => {
    const onEnd = vi.fn();
    subscribeJobEvents('job-1', { EventSource: FakeES, onEvent: () => {}, onEnd });
    FakeES.latest.emit('end', null, 3);
    FakeES.latest.fail(); // the server closing the stream looks like an error to EventSource
    await vi.advanceTimersByTimeAsync(30_000);
    expect(onEnd).toHaveBeenCalledTimes(1);
    expect(FakeES.instances).toHaveLength(1);
  });

  it('skips an event whose data is not JSON and keeps going', () => {
    const onEvent = vi.fn();
    const onError = vi.fn();
    subscribeJobEvents('job-1', { EventSource: FakeES, onEvent, onError });
    FakeES.latest.dispatchRaw('progress', '{oops', 1);
    FakeES.latest.emit('progress', { percent: 5, message: null }, 1);
    expect(onError).toHaveBeenCalledTimes(1);
    expect(onEvent).toHaveBeenCalledTimes(1);
    expect(onEvent.mock.calls[0]?.[0]).toMatchObject({ type: 'progress', id: 1, data: { percent: 5 } });
  });

  it('computes capped exponential backoff', () => {
    expect([1, 2, 3, 4, 5, 6].map((n) => reconnectDelayMs(n, 1000, 10_000))).toEqual([
      1000, 2000, 4000, 8000, 10_000, 10_000,
    ]);
  });
});
