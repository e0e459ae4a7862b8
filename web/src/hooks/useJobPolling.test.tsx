import { act, renderHook } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { configureApi } from '../lib/api';
import { createFakeFetch, jsonResponse, makeJob, problemResponse } from '../test/fakes';
import { useJobPolling } from './useJobPolling';

const JOB = 'GET /api/v1/jobs/job-1';

async function advance(ms: number) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe('useJobPolling', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('polls until the job completes, then stops', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      jsonResponse(makeJob({ status: 'running', progress_percent: 10 })),
      jsonResponse(makeJob({ status: 'running', progress_percent: 60 })),
      jsonResponse(makeJob({ status: 'completed', progress_percent: 100, result: 'ok' })),
    );
    configureApi({ fetch: fake.fetch });

    const { result } = renderHook(() => useJobPolling('job-1', 1000));
    expect(result.current.isPolling).toBe(true);
    await advance(0);
    expect(result.current.job?.progress_percent).toBe(10);
    await advance(1000);
    expect(result.current.job?.progress_percent).toBe(60);
    expect(result.current.isPolling).toBe(true);
    await advance(1000);

    expect(result.current.job?.status).toBe('completed');
    expect(result.current.job?.result).toBe('ok');
    expect(result.current.isPolling).toBe(false);
    await advance(10_000);
    expect(fake.calls).toHaveLength(3);
  });

  it('stops polling when the job failed', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      jsonResponse(makeJob({ status: 'running' })),
      jsonResponse(makeJob({ status: 'failed', error: 'boom' })),
    );
    configureApi({ fetch: fake.fetch });

    const { result } = renderHook(() => useJobPolling('job-1'));
    await advance(1500);

    expect(result.current.job?.status).toBe('failed');
    expect(result.current.job?.error).toBe('boom');
    expect(result.current.isPolling).toBe(false);
    await advance(15_000);
    expect(fake.calls).toHaveLength(2);
  });

  it('keeps polling through a transient error but stops on a 404', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      new TypeError('Failed to fetch'),
      jsonResponse(makeJob({ status: 'running' })),
      problemResponse(404, 'Not Found', 'job was deleted'),
    );
    configureApi({ fetch: fake.fetch });

    const { result } = renderHook(() => useJobPolling('job-1', 1000));
    await advance(0);
    expect(result.current.error?.message).toBe('Failed to fetch');
    expect(result.current.isPolling).toBe(true);
    await advance(1000);
    expect(result.current.job?.status).toBe('running');
    expect(result.current.error).toBeNull();
    await advance(1000);

    expect(result.current.isPolling).toBe(false);
    expect(result.current.error?.message).toContain('job was deleted');
    await advance(5000);
    expect(fake.calls).toHaveLength(3);
  });

  it('does nothing without a job id and restarts when the id changes', async () => {
    const fake = createFakeFetch((call) =>
      jsonResponse(makeJob({ id: call.url.split('/').pop()!, status: 'completed' })),
    );
    configureApi({ fetch: fake.fetch });

    const { result, rerender } = renderHook(({ id }) => useJobPolling(id, 1000), {
      initialProps: { id: null as string | null },
    });
    await advance(5000);
    expect(fake.calls).toHaveLength(0);
    expect(result.current).toMatchObject({ job: null, isPolling: false });

    rerender({ id: 'job-2' });
    await advance(0);
    expect(result.current.job?.id).toBe('job-2');
    expect(fake.calls).toHaveLength(1);
  });

  it('stops polling on unmount', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'running' })));
    configureApi({ fetch: fake.fetch });

    const { unmount } = renderHook(() => useJobPolling('job-1', 1000));
    await advance(2000);
    const calls = fake.calls.length;
    unmount();
    await advance(10_000);
    expect(calls).toBe(3);
    expect(fake.calls).toHaveLength(calls);
  });
});
