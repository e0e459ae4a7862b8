import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { configureApi } from '../lib/api';
import { createFakeEventSource, createFakeFetch, jsonResponse, makeJob, problemResponse } from '../test/fakes';
import { renderWithClient } from '../test/render';
import { JobsDashboard } from './JobsDashboard';

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds)).toISOString();

const listed = [
  makeJob({ id: 'run-1', job_type: 'backlog_generation', status: 'running', progress_percent: 40, progress_message: 'Decomposing Epic into Stories...', started_at: at(0) }),
  makeJob({ id: 'ok-1', job_type: 'task_execution', status: 'completed', progress_percent: 100, started_at: at(0), completed_at: at(1) }),
  makeJob({ id: 'ok-2', job_type: 'task_execution', status: 'completed', progress_percent: 100, started_at: at(10), completed_at: at(13) }),
  makeJob({ id: 'bad-1', job_type: 'task_execution', status: 'failed', error: 'AI provider timed out', started_at: at(0), completed_at: at(5) }),
];

function setup(items = listed) {
  const fake = createFakeFetch();
  fake.on('GET /api/v1/jobs', jsonResponse({ items, next_cursor: null }));
  fake.on('GET /api/v1/jobs/stats', jsonResponse({ counts: { pending: 2, running: 1, completed: 7, failed: 1, cancelled: 0 }, total: 11 }));
  fake.on('GET /api/v1/projects', jsonResponse([{ id: 'p1', name: 'Recipes', description: null, created_at: at(0) }]));
  configureApi({ fetch: fake.fetch });
  return fake;
}

function row(jobId: string) {
  const found = screen.getAllByTestId('job-row').find((el) => el.getAttribute('data-job-id') === jobId);
  if (!found) throw new Error(`no row ${jobId}`);
  return found;
}

describe('JobsDashboard', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows counts by status, success rate and average duration per type, and progress bars', async () => {
    const fake = setup();
    renderWithClient(<JobsDashboard />);
    await flush();

    expect(screen.getByTestId('count-running').textContent).toBe('1');
    expect(screen.getByTestId('count-completed').textContent).toBe('7');
    expect(screen.getByTestId('jobs-total').textContent).toBe('11 in total');

    const tasks = screen.getAllByTestId('type-stats-row').find((el) => el.getAttribute('data-job-type') === 'task_execution')!;
    expect(within(tasks).getByTestId('success-rate').textContent).toBe('66.7 %');
    expect(within(tasks).getByTestId('average-duration').textContent).toBe('2.0 s');

    const bar = within(row('run-1')).getByRole('progressbar');
    expect(bar.getAttribute('aria-valuenow')).toBe('40');
    expect(within(row('bad-1')).getByText('AI provider timed out')).toBeTruthy();
    expect(within(row('run-1')).queryByTestId('delete-button')).toBeNull();
    expect(within(row('bad-1')).getByTestId('retry-button')).toBeTruthy();

    // Polled every second.
    await flush(1000);
    expect(fake.callsTo('GET /api/v1/jobs').length).toBe(2);
    expect(fake.callsTo('GET /api/v1/jobs/stats').length).toBe(2);
  });

  it('filters by status, type and project through the query', async () => {
    const fake = setup();
    renderWithClient(<JobsDashboard />);
    await flush();
    fireEvent.change(screen.getByTestId('filter-status'), { target: { value: 'failed' } });
    await flush();
    fireEvent.change(screen.getByTestId('filter-type'), { target: { value: 'task_execution' } });
    await flush();
    fireEvent.change(screen.getByTestId('filter-project'), { target: { value: 'p1' } });
    await flush();
    const last = new URL(fake.callsTo('GET /api/v1/jobs').at(-1)!.url, 'http://x').searchParams;
    expect(last.get('status')).toBe('failed');
    expect(last.get('job_type')).toBe('task_execution');
    expect(last.get('project_id')).toBe('p1');
    const stats = new URL(fake.callsTo('GET /api/v1/jobs/stats').at(-1)!.url, 'http://x').searchParams;
    expect(stats.get('project_id')).toBe('p1');
    expect(stats.get('job_type')).toBe('task_execution');
  });

  it('shows the server problem detail when an action is refused, and applies accepted ones', async () => {
    const fake = setup();
    fake.on('POST /api/v1/jobs/run-1/cancel', problemResponse(409, 'Conflict', 'job run-1 is already completed'));
    fake.on('POST /api/v1/jobs/bad-1/retry', jsonResponse({ ...listed[3], status: 'pending', error: null }, 202));
    fake.on('DELETE /api/v1/jobs/ok-1', new Response(null, { status: 204 }));
    renderWithClient(<JobsDashboard />);
    await flush();

    fireEvent.click(within(row('run-1')).getByTestId('cancel-button'));
    await flush();
    expect(within(row('run-1')).getByTestId('row-error').textContent).toBe('Conflict: job run-1 is already completed');

    fireEvent.click(within(row('bad-1')).getByTestId('retry-button'));
    await flush();
    expect(fake.callsTo('POST /api/v1/jobs/bad-1/retry')).toHaveLength(1);

    fireEvent.click(within(row('ok-1')).getByTestId('delete-button'));
    await flush();
    expect(fake.callsTo('DELETE /api/v1/jobs/ok-1')).toHaveLength(1);
  });

  it('follows every listed job over one event stream, not one per row, and writes its events into the rows', async () => {
    const running = Array.from({ length: 5 }, (_, i) =>
      makeJob({ id: `run-${i}`, job_type: 'task_execution', status: 'running', progress_percent: 10, version: 3 }),
    );
    const fake = setup(running);
    const Source = createFakeEventSource();
    vi.stubGlobal('EventSource', Source);
    try {
      renderWithClient(<JobsDashboard />);
      await flush();
      expect(Source.instances).toHaveLength(1);
      const url = new URL(Source.latest.url, 'http://x');
      expect(url.pathname).toBe('/api/v1/events');
      Source.latest.open();
      Source.latest.emit('snapshot', { jobs: running, truncated: false }, 40);
      await flush();

      const listCalls = fake.callsTo('GET /api/v1/jobs').length;
      Source.latest.emit('progress', { job_id: 'run-3', seq: 4, percent: 70, message: 'Writing code...' }, 41);
      Source.latest.emit('progress', { job_id: 'run-3', seq: 2, percent: 5, message: 'stale' }, 42);
      await flush();
      const bar = within(row('run-3')).getByRole('progressbar');
      expect(bar.getAttribute('aria-valuenow')).toBe('70');
      expect(row('run-3').textContent).toContain('Writing code...');
      expect(fake.callsTo('GET /api/v1/jobs').length).toBe(listCalls); // progress needs no read

      fake.on('GET /api/v1/jobs', jsonResponse({ items: running.map((j) => (j.id === 'run-1' ? { ...j, status: 'completed', version: 5 } : j)), next_cursor: null }));
      Source.latest.emit('status', { job_id: 'run-1', seq: 5, status: 'completed' }, 43);
      await flush(500);
      expect(row('run-1').getAttribute('data-status')).toBe('completed');
      expect(fake.callsTo('GET /api/v1/jobs').length).toBeGreaterThan(listCalls); // the list and counts follow
      expect(Source.instances).toHaveLength(1);
    } finally {
      vi.unstubAllGlobals();
    }
  });
});
