import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { configureApi } from '../lib/api';
import { createFakeEventSource, createFakeFetch, jsonResponse, makeJob } from '../test/fakes';
import { useJob } from './useJob';

const JOB = 'GET /api/v1/jobs/job-1';

async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe('useJob', () => {
  let FakeES: ReturnType<typeof createFakeEventSource>;

  beforeEach(() => {
    vi.useFakeTimers();
    FakeES = createFakeEventSource();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('with replay, reads the job first and streams its whole log from after=0', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'running', progress_percent: 25, version: 6 })));
    configureApi({ fetch: fake.fetch });
    const onToken = vi.fn();

    const { result } = renderHook(() => useJob('job-1', { EventSource: FakeES, onToken, replay: true }));
    expect(FakeES.instances).toHaveLength(0);
    await advance(0);
    expect(result.current.job?.progress_percent).toBe(25);
    const es = FakeES.latest;
    expect(es.after).toBe('0');
    act(() => {
      es.emit('token', { text: 'early ', attempt: 1 }, 2);
      es.emit('token', { text: 'tokens', attempt: 1 }, 3);
      es.emit('progress', { percent: 75, message: 'Saving' }, 7);
    });
    expect(onToken.mock.calls.map((call) => call[0])).toEqual(['early ', 'tokens']);
    expect(result.current.job).toMatchObject({ progress_percent: 75, version: 7 });
  });

  it('follows the job over SSE and reads the final job (with its result) once', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'completed', progress_percent: 100, result: { ok: 1 } })));
    configureApi({ fetch: fake.fetch });
    const onToken = vi.fn();

    const { result } = renderHook(() => useJob('job-1', { EventSource: FakeES, onToken }));
    expect(result.current.mode).toBe('sse');
    const es = FakeES.latest;

    act(() => {
      es.open();
      es.emit('snapshot', makeJob({ status: 'running', progress_percent: 5 }), 1);
    });
    expect(result.current.isLive).toBe(true);
    expect(result.current.job?.progress_percent).toBe(5);

    act(() => {
      es.emit('progress', { percent: 55, message: 'half way' }, 2);
      es.emit('token', { text: 'Hello' }, 3);
    });
    expect(result.current.job).toMatchObject({ progress_percent: 55, progress_message: 'half way', version: 2 });
    expect(onToken).toHaveBeenCalledWith('Hello', { text: 'Hello' });
    expect(fake.calls).toHaveLength(0); // no polling while the stream works

    act(() => {
      es.emit('status', { status: 'completed' }, 4);
    });
    expect(es.closed).toBe(true);
    await advance(0);

    expect(result.current.job).toMatchObject({ status: 'completed', result: { ok: 1 } });
    expect(result.current.mode).toBe('idle');
    expect(result.current.isLive).toBe(false);
    await advance(30_000);
    expect(fake.calls).toHaveLength(1);
    expect(FakeES.instances).toHaveLength(1);
  });

  it('stops at once when the snapshot is already terminal', async () => {
    const fake = createFakeFetch();
    configureApi({ fetch: fake.fetch });

    const { result } = renderHook(() => useJob('job-1', { EventSource: FakeES }));
    act(() => {
      FakeES.latest.emit('snapshot', makeJob({ status: 'failed', error: 'bad input' }), 7);
    });

    expect(result.current.job?.error).toBe('bad input');
    expect(result.current.mode).toBe('idle');
    expect(FakeES.latest.closed).toBe(true);
    await advance(10_000);
    expect(fake.calls).toHaveLength(0);
  });

  it('falls back to polling after repeated SSE errors, and stops on a terminal status', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      jsonResponse(makeJob({ status: 'running', progress_percent: 40 })),
      jsonResponse(makeJob({ status: 'completed', progress_percent: 100, result: 'done' })),
    );
    configureApi({ fetch: fake.fetch });

    const { result } = renderHook(() =>
      useJob('job-1', { EventSource: FakeES, maxSseErrors: 3, sseBackoffMs: 100, intervalMs: 1000 }),
    );

    act(() => FakeES.latest.fail());
    await advance(100);
    act(() => FakeES.latest.fail());
    await advance(200);
    expect(result.current.mode).toBe('sse');
    expect(fake.calls).toHaveLength(0);
    act(() => FakeES.latest.fail());
    await advance(0);

    expect(FakeES.instances).toHaveLength(3);
    expect(result.current.mode).toBe('polling');
    expect(result.current.isLive).toBe(false);
    expect(result.current.job?.progress_percent).toBe(40);
    await advance(1000);

    expect(result.current.job).toMatchObject({ status: 'completed', result: 'done' });
    expect(result.current.mode).toBe('idle');
    await advance(10_000);
    expect(fake.calls).toHaveLength(2);
    expect(FakeES.instances).toHaveLength(3);
  });

  it('polls right away when EventSource is unavailable', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'running', progress_percent: 12 })));
    configureApi({ fetch: fake.fetch });

    const { result, unmount } = renderHook(() => useJob('job-1', { EventSource: null }));
    await advance(0);

    expect(result.current.mode).toBe('polling');
    expect(result.current.job?.progress_percent).toBe(12);
    unmount();
    const calls = fake.calls.length;
    await advance(10_000);
    expect(fake.calls).toHaveLength(calls);
  });

  it('is idle without a job id', () => {
    const { result } = renderHook(() => useJob(null, { EventSource: FakeES }));
    expect(result.current).toEqual({ job: null, isLive: false, mode: 'idle', error: null });
    expect(FakeES.instances).toHaveLength(0);
  });
});
