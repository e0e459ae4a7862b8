import { act, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { configureApi } from '../lib/api';
import { createFakeFetch, jsonResponse, makeJob, problemResponse } from '../test/fakes';
import { JobsDashboard } from './JobsDashboard';

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

describe('JobsDashboard', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('lists jobs with their status and a progress bar, refreshing while one is active', async () => {
    const fake = createFakeFetch();
    fake.on(
      'GET /api/v1/jobs',
      jsonResponse({
        items: [
          makeJob({ id: 'a', job_type: 'generate_epic', status: 'running', progress_percent: 35, progress_message: 'Drafting' }),
          makeJob({ id: 'b', job_type: 'auto_commit', status: 'failed', error: 'git push rejected' }),
        ],
        next_cursor: null,
      }),
      jsonResponse({
        items: [makeJob({ id: 'a', job_type: 'generate_epic', status: 'completed', progress_percent: 100 })],
        next_cursor: null,
      }),
    );
    configureApi({ fetch: fake.fetch });

    render(<JobsDashboard refreshMs={5000} />);
    await flush();

    const bar = screen.getByRole('progressbar', { name: 'generate_epic progress' });
    expect(bar.getAttribute('aria-valuenow')).toBe('35');
    expect(screen.getByText('Drafting')).toBeTruthy();
    expect(screen.getByText('git push rejected')).toBeTruthy();
    expect(new URL(fake.calls[0]!.url, 'http://x').searchParams.get('limit')).toBe('25');

    await flush(5000);
    expect(fake.calls).toHaveLength(2);
    expect(screen.getByText('completed')).toBeTruthy();
    await flush(20_000);
    expect(fake.calls).toHaveLength(2); // nothing active any more: no refresh
  });

  it('shows the problem detail when listing fails', async () => {
    const fake = createFakeFetch();
    fake.on('GET /api/v1/jobs', problemResponse(401, 'Unauthorized', 'missing bearer token'));
    configureApi({ fetch: fake.fetch });

    render(<JobsDashboard />);
    await flush();

    expect(screen.getByRole('alert').textContent).toBe('Unauthorized: missing bearer token');
  });
});
