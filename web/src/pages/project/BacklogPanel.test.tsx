import { act, fireEvent, screen, within } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { configureApi } from '../../lib/api';
import { activeProjectJobs } from '../../lib/projectJobs';
import type { BacklogItem } from '../../lib/types';
import { createFakeFetch, jsonResponse, makeJob, problemResponse } from '../../test/fakes';
import { BacklogPanel, type BacklogPanelProps } from './BacklogPanel';
import { renderWithClient } from '../../test/render';

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

const task = (id: string, status: BacklogItem['status'] = 'active'): BacklogItem => ({
  id,
  kind: 'task',
  title: `Task ${id}`,
  description: '',
  status,
  details: null,
  children: [],
});
const tree: BacklogItem[] = [
  {
    id: 'e1',
    kind: 'epic',
    title: 'Epic',
    description: '',
    status: 'suggested',
    details: null,
    children: [{ id: 's1', kind: 'story', title: 'Story', description: '', status: 'suggested', details: null, children: [task('t1'), task('t2', 'suggested')] }],
  },
];

function renderPanel(overrides: Partial<BacklogPanelProps> = {}) {
  const props: BacklogPanelProps = {
    projectId: 'p1',
    interviewId: 'i1',
    backlog: tree,
    backlogError: null,
    onBacklogChanged: vi.fn(),
    onCommitted: vi.fn(),
    resume: null,
    ...overrides,
  };
  renderWithClient(<BacklogPanel {...props} />);
  return props;
}

function row(itemId: string) {
  return screen.getAllByTestId('backlog-item').find((el) => el.getAttribute('data-item-id') === itemId)!;
}

describe('BacklogPanel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
    vi.stubGlobal('EventSource', undefined); // polling: the stream path is covered elsewhere
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('shows the generation progress live and reloads the tree when it completes', async () => {
    const fake = createFakeFetch();
    fake.on('POST /api/v1/interviews/i1/generate-prompts-async', jsonResponse({ job_id: 'g', status: 'pending', message: '' }, 202));
    fake.on(
      'GET /api/v1/jobs/g',
      jsonResponse(makeJob({ id: 'g', status: 'running', progress_percent: 10, progress_message: 'Generating Epic from interview...' })),
      jsonResponse(makeJob({ id: 'g', status: 'running', progress_percent: 46.7, progress_message: 'Generating Stories 2/3...' })),
      jsonResponse(
        makeJob({
          id: 'g',
          status: 'completed',
          progress_percent: 100,
          progress_message: 'Backlog generation complete',
          result: { success: true, epic_created: { id: 'e1', title: 'Epic', description: '' }, stories_created: 3, tasks_created: 12 },
        }),
      ),
    );
    configureApi({ fetch: fake.fetch });
    const props = renderPanel({ backlog: [] });
    await flush();
    expect(screen.getByTestId('backlog-empty')).toBeTruthy();

    fireEvent.click(screen.getByTestId('generate-backlog'));
    await flush();
    const bar = () => within(screen.getByTestId('backlog-progress')).getByRole('progressbar');
    expect(bar().getAttribute('aria-valuenow')).toBe('10');
    expect(screen.getByText('Generating Epic from interview...')).toBeTruthy();
    expect((screen.getByTestId('generate-backlog') as HTMLButtonElement).disabled).toBe(true);

    await flush(1000);
    expect(bar().getAttribute('aria-valuenow')).toBe('47');
    await flush(1000);
    expect(bar().getAttribute('aria-valuenow')).toBe('100');
    expect(screen.getByTestId('backlog-summary').textContent).toBe('Created epic “Epic”, 3 stories and 12 tasks.');
    expect(props.onBacklogChanged).toHaveBeenCalledTimes(1);
    expect((screen.getByTestId('generate-backlog') as HTMLButtonElement).disabled).toBe(false);
  });

  it('runs item actions with their own bar and shows a refusal on the item', async () => {
    const fake = createFakeFetch();
    fake.on('POST /api/v1/tasks/t2/activate', jsonResponse({ job_id: 'a', status: 'pending', message: '' }, 202));
    fake.on('GET /api/v1/jobs/a', jsonResponse(makeJob({ id: 'a', status: 'running', progress_percent: 10 })), jsonResponse(makeJob({ id: 'a', status: 'completed', progress_percent: 100 })));
    fake.on('POST /api/v1/commits/auto-generate/t1', problemResponse(409, 'Conflict', 'task t1 has no execution yet; execute it first'));
    configureApi({ fetch: fake.fetch });
    const props = renderPanel();
    await flush();

    fireEvent.click(within(row('t2')).getByTestId('activate-button'));
    await flush();
    expect(within(row('t2')).getByTestId('item-progress').getAttribute('data-status')).toBe('running');
    expect((within(row('t2')).getByTestId('activate-button') as HTMLButtonElement).disabled).toBe(true);
    expect((within(row('t1')).getByTestId('execute-button') as HTMLButtonElement).disabled).toBe(false); // others stay usable
    await flush(1000);
    expect(within(row('t2')).getByTestId('item-progress').getAttribute('data-status')).toBe('completed');
    expect(props.onBacklogChanged).toHaveBeenCalled();

    fireEvent.click(within(row('t1')).getByTestId('commit-button'));
    await flush();
    expect(within(row('t1')).getByTestId('item-error').textContent).toBe('Conflict: task t1 has no execution yet; execute it first');
  });

  it('shows the overall and per-task progress of "Execute all", resumed after a reload', async () => {
    const batch = makeJob({ id: 'x', job_type: 'batch_execution', status: 'running', progress_percent: 50, progress_message: 'Task 2/2 executing...' });
    const fake = createFakeFetch();
    fake.on('GET /api/v1/jobs/x', jsonResponse(batch), jsonResponse({ ...batch, status: 'completed', progress_percent: 100 }));
    fake.on(
      'GET /api/v1/jobs',
      jsonResponse({
        items: [
          makeJob({ id: 'c1', parent_id: 'x', status: 'completed', progress_percent: 100, input_data: { task_id: 't1' } }),
          makeJob({ id: 'c2', parent_id: 'x', status: 'running', progress_percent: 40, input_data: { task_id: 't2' } }),
        ],
        next_cursor: null,
      }),
    );
    configureApi({ fetch: fake.fetch });
    renderPanel({ resume: activeProjectJobs([batch], 'i1') });
    await flush();

    expect(within(screen.getByTestId('execute-all-progress')).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('50');
    expect(screen.getByTestId('execute-all-count').textContent).toBe('1/2 tasks finished');
    expect(within(row('t2')).getByTestId('item-progress').getAttribute('data-status')).toBe('running');
    expect(within(within(row('t2')).getByTestId('item-progress')).getByRole('progressbar').getAttribute('aria-valuenow')).toBe('40');
    expect((screen.getByTestId('execute-all') as HTMLButtonElement).disabled).toBe(true);
    expect(new URL(fake.callsTo('GET /api/v1/jobs')[0]!.url, 'http://x').searchParams.get('parent_id')).toBe('x');

    await flush(1000);
    expect(screen.getByTestId('execute-all-progress').getAttribute('data-status')).toBe('completed');
    expect((screen.getByTestId('execute-all') as HTMLButtonElement).disabled).toBe(false);
  });
});
