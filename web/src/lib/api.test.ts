import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { createFakeFetch, jsonResponse, makeJob, problemResponse } from '../test/fakes';
import {
  ApiError,
  JobError,
  PollTimeoutError,
  TOKEN_STORAGE_KEY,
  backlogGenerationApi,
  commitsApi,
  configureApi,
  interviewsApi,
  jobsApi,
  projectsApi,
  tasksApi,
} from './api';
import { jobEventsUrl } from './events';

const JOB = 'GET /api/v1/jobs/job-1';

describe('api client', () => {
  it('uses the global fetch and sends the bearer token stored under orbit.token', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob()));
    vi.stubGlobal('fetch', fake.fetch);
    localStorage.setItem(TOKEN_STORAGE_KEY, 's3cret');

    const job = await jobsApi.get('job-1');

    expect(job.id).toBe('job-1');
    expect(fake.calls[0]?.url).toBe('/api/v1/jobs/job-1');
    expect(fake.calls[0]?.headers.authorization).toBe('Bearer s3cret');
  });

  it('sends no Authorization header without a token and honours baseUrl', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob()));
    configureApi({ fetch: fake.fetch, baseUrl: 'https://orbit.example/' });

    await jobsApi.get('job-1');

    expect(fake.calls[0]?.url).toBe('https://orbit.example/api/v1/jobs/job-1');
    expect(fake.calls[0]?.headers.authorization).toBeUndefined();
  });

  it('maps problem+json answers to ApiError(status, title, detail)', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, problemResponse(404, 'Job not found', 'job job-1 not found'));
    configureApi({ fetch: fake.fetch });

    const error = await jobsApi.get('job-1').catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({
      status: 404,
      title: 'Job not found',
      detail: 'job job-1 not found',
      type: 'https://orbit.dev/problems/404',
    });
  });

  it('maps a plain {"detail"} error body too', async () => {
    const fake = createFakeFetch();
    fake.on('GET /api/v1/projects', jsonResponse({ detail: 'nope' }, 401));
    configureApi({ fetch: fake.fetch });

    const error = await projectsApi.list().catch((e: unknown) => e);

    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(401);
    expect((error as ApiError).detail).toBe('nope');
  });

  it('lists jobs with only the given filters in the query', async () => {
    const fake = createFakeFetch();
    fake.on('GET /api/v1/jobs', jsonResponse({ items: [makeJob()], next_cursor: 'c2' }));
    configureApi({ fetch: fake.fetch });

    const page = await jobsApi.list({ status: 'running', project_id: 'p1', limit: 10 });

    expect(page.next_cursor).toBe('c2');
    const url = new URL(fake.calls[0]!.url, 'http://localhost');
    expect(Object.fromEntries(url.searchParams)).toEqual({
      status: 'running',
      project_id: 'p1',
      limit: '10',
    });
  });

  it('cancels, retries and deletes jobs; a 409 on delete is an ApiError', async () => {
    const fake = createFakeFetch();
    fake.on('POST /api/v1/jobs/job-1/cancel', jsonResponse(makeJob({ status: 'cancelled' }), 202));
    fake.on('POST /api/v1/jobs/job-1/retry', jsonResponse(makeJob({ status: 'pending' })));
    fake.on(
      'DELETE /api/v1/jobs/job-1',
      jsonResponse(null, 204),
      problemResponse(409, 'Conflict', 'job is running'),
    );
    configureApi({ fetch: fake.fetch });

    expect((await jobsApi.cancel('job-1')).status).toBe('cancelled');
    expect((await jobsApi.retry('job-1')).status).toBe('pending');
    await expect(jobsApi.delete('job-1')).resolves.toBeUndefined();
    await expect(jobsApi.delete('job-1')).rejects.toMatchObject({ status: 409 });
  });

  it('long-polls with If-None-Match and reports 304 as "not changed"', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      jsonResponse(makeJob({ version: 2 }), 200, { etag: '"v2"' }),
      jsonResponse(null, 304, { etag: '"v2"' }),
    );
    configureApi({ fetch: fake.fetch });

    const first = await jobsApi.getIfChanged('job-1', { waitSeconds: 25 });
    const second = await jobsApi.getIfChanged('job-1', { etag: first.etag, waitSeconds: 25 });

    expect(first.job?.version).toBe(2);
    expect(second).toEqual({ job: null, etag: '"v2"' });
    expect(fake.calls[1]?.headers['if-none-match']).toBe('"v2"');
    expect(fake.calls[1]?.url).toContain('wait=25');
  });

  it('never puts the token into event stream URLs (the orbit_token cookie carries it)', () => {
    localStorage.setItem(TOKEN_STORAGE_KEY, 'tok');
    const url = new URL(jobEventsUrl('job 1', 7), 'http://localhost');
    expect(url.pathname).toBe('/api/v1/jobs/job%201/events');
    expect(url.searchParams.get('after')).toBe('7');
    expect(url.searchParams.has('access_token')).toBe(false);
    expect(url.href).not.toContain('tok');
  });
});

describe('enqueueing routes', () => {
  const accepted = { job_id: 'job-9', status: 'pending', message: 'queued' };
  const cases: Array<[string, string, () => Promise<unknown>, unknown]> = [
    [
      'interviews.sendMessageAsync',
      'POST /api/v1/interviews/i1/send-message-async',
      () => interviewsApi.sendMessageAsync('i1', { content: 'hi' }, { idempotencyKey: 'k1' }),
      { content: 'hi' },
    ],
    [
      'interviews.generatePromptsAsync',
      'POST /api/v1/interviews/i1/generate-prompts-async',
      () => interviewsApi.generatePromptsAsync('i1', { idempotencyKey: 'k1' }),
      undefined,
    ],
    ['tasks.activate', 'POST /api/v1/tasks/t1/activate', () => tasksApi.activate('t1', { idempotencyKey: 'k1' }), undefined],
    ['tasks.execute', 'POST /api/v1/tasks/t1/execute', () => tasksApi.execute('t1', { idempotencyKey: 'k1' }), undefined],
    [
      'tasks.executeAll',
      'POST /api/v1/tasks/projects/p1/execute-all',
      () => tasksApi.executeAll('p1', { idempotencyKey: 'k1' }),
      undefined,
    ],
    [
      'backlog.generateEpic',
      'POST /api/v1/backlog/interview/i1/generate-epic',
      () => backlogGenerationApi.generateEpic('i1', { idempotencyKey: 'k1' }),
      undefined,
    ],
    [
      'backlog.generateStories',
      'POST /api/v1/backlog/epic/e1/generate-stories',
      () => backlogGenerationApi.generateStories('e1', { idempotencyKey: 'k1' }),
      undefined,
    ],
    [
      'backlog.generateTasks',
      'POST /api/v1/backlog/story/s1/generate-tasks',
      () => backlogGenerationApi.generateTasks('s1', { idempotencyKey: 'k1' }),
      undefined,
    ],
    [
      'commits.autoGenerate',
      'POST /api/v1/commits/auto-generate/t1',
      () => commitsApi.autoGenerate('t1', { idempotencyKey: 'k1' }),
      undefined,
    ],
    [
      'commits.generateManual',
      'POST /api/v1/commits/generate-manual/p1',
      () => commitsApi.generateManual('p1', { description: 'fix', diff: '+a' }, { idempotencyKey: 'k1' }),
      { description: 'fix', diff: '+a' },
    ],
    [
      'projects.provisionAsync',
      'POST /api/v1/projects/p1/provision-async',
      () => projectsApi.provisionAsync('p1', { stack: 'python' }, { idempotencyKey: 'k1' }),
      { stack: 'python' },
    ],
  ];

  it.each(cases)('%s posts to its route with the Idempotency-Key', async (_name, route, call, body) => {
    const fake = createFakeFetch();
    fake.on(route, jsonResponse(accepted, 202, { location: '/api/v1/jobs/job-9' }));
    configureApi({ fetch: fake.fetch });

    await expect(call()).resolves.toEqual(accepted);

    expect(fake.callsTo(route)).toHaveLength(1);
    expect(fake.calls[0]?.headers['idempotency-key']).toBe('k1');
    expect(fake.calls[0]?.body).toEqual(body);
  });
});

describe('jobsApi.poll', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('resolves with the result and stops polling once the job completes', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      jsonResponse(makeJob({ status: 'pending' })),
      jsonResponse(makeJob({ status: 'running', progress_percent: 50 })),
      jsonResponse(makeJob({ status: 'completed', progress_percent: 100, result: { epic: 'E1' } })),
    );
    configureApi({ fetch: fake.fetch });

    const promise = jobsApi.poll('job-1', undefined, 1000, 60_000);
    await vi.advanceTimersByTimeAsync(2000);

    await expect(promise).resolves.toEqual({ epic: 'E1' });
    expect(fake.calls).toHaveLength(3);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.calls).toHaveLength(3);
  });

  it('rejects with Error(job.error) when the job fails, and with a JobError when cancelled', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'failed', error: 'LLM quota exceeded' })));
    fake.on(
      'GET /api/v1/jobs/job-2',
      jsonResponse(makeJob({ id: 'job-2', status: 'cancelled', error: null })),
    );
    configureApi({ fetch: fake.fetch });

    const failed = jobsApi.poll('job-1', undefined, 1000, 60_000).catch((e: unknown) => e);
    const cancelled = jobsApi.poll('job-2', undefined, 1000, 60_000).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);

    const failure = await failed;
    expect(failure).toBeInstanceOf(Error);
    expect(failure).toBeInstanceOf(JobError);
    expect((failure as Error).message).toBe('LLM quota exceeded');
    const cancellation = await cancelled;
    expect(cancellation).toBeInstanceOf(JobError);
    expect((cancellation as JobError).status).toBe('cancelled');
    await vi.advanceTimersByTimeAsync(5000);
    expect(fake.calls).toHaveLength(2);
  });

  it('honours timeoutMs: rejects at the deadline, not before, and stops requesting', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'running', progress_percent: 10 })));
    configureApi({ fetch: fake.fetch });

    let outcome: unknown = 'pending';
    jobsApi.poll('job-1', undefined, 1000, 5000).then(
      () => (outcome = 'resolved'),
      (e: unknown) => (outcome = e),
    );

    await vi.advanceTimersByTimeAsync(4999);
    expect(outcome).toBe('pending');
    await vi.advanceTimersByTimeAsync(1);
    expect(outcome).toBeInstanceOf(PollTimeoutError);
    const callsAtTimeout = fake.calls.length;
    expect(callsAtTimeout).toBeGreaterThanOrEqual(5);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(fake.calls.length).toBe(callsAtTimeout);
  });

  it('calls onProgress only with non-decreasing percents', async () => {
    const fake = createFakeFetch();
    const running = (p: number | null, m: string | null) =>
      jsonResponse(makeJob({ status: 'running', progress_percent: p, progress_message: m }));
    fake.on(
      JOB,
      running(null, null),
      running(10, 'reading'),
      running(40, 'thinking'),
      running(25, 'retrying'), // a retry restarted the job's progress
      running(null, 'queued again'),
      running(60, 'writing'),
      running(60, 'writing'), // unchanged: no call
      jsonResponse(makeJob({ status: 'completed', progress_percent: 100, progress_message: 'done' })),
    );
    configureApi({ fetch: fake.fetch });
    const onProgress = vi.fn();

    const promise = jobsApi.poll('job-1', onProgress, 100, 60_000);
    await vi.advanceTimersByTimeAsync(1000);
    await promise;

    const percents = onProgress.mock.calls.map(([p]) => p as number);
    expect(onProgress.mock.calls).toEqual([
      [10, 'reading'],
      [40, 'thinking'],
      [40, 'retrying'],
      [40, 'queued again'],
      [60, 'writing'],
      [100, 'done'],
    ]);
    for (let i = 1; i < percents.length; i += 1) {
      expect(percents[i]).toBeGreaterThanOrEqual(percents[i - 1]!);
    }
  });

  it('tolerates transient network and 5xx errors, retrying on the next tick', async () => {
    const fake = createFakeFetch();
    fake.on(
      JOB,
      jsonResponse(makeJob({ status: 'running', progress_percent: 20 })),
      new TypeError('Failed to fetch'),
      problemResponse(503, 'Service Unavailable'),
      jsonResponse(makeJob({ status: 'completed', progress_percent: 100, result: 42 })),
    );
    configureApi({ fetch: fake.fetch });

    const promise = jobsApi.poll('job-1', undefined, 1000, 60_000);
    await vi.advanceTimersByTimeAsync(1000);
    expect(fake.calls).toHaveLength(2); // the network error did not end polling
    await vi.advanceTimersByTimeAsync(2000);

    await expect(promise).resolves.toBe(42);
    expect(fake.calls).toHaveLength(4);
  });

  it('rejects at once on a non-transient error such as 404', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, problemResponse(404, 'Not Found', 'no such job'));
    configureApi({ fetch: fake.fetch });

    const promise = jobsApi.poll('job-1', undefined, 1000, 60_000).catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);

    const error = await promise;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(404);
    await vi.advanceTimersByTimeAsync(5000);
    expect(fake.calls).toHaveLength(1);
  });

  it('stops when its AbortSignal fires', async () => {
    const fake = createFakeFetch();
    fake.on(JOB, jsonResponse(makeJob({ status: 'running' })));
    configureApi({ fetch: fake.fetch });
    const controller = new AbortController();

    const promise = jobsApi
      .poll('job-1', undefined, 1000, 60_000, { signal: controller.signal })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(1500);
    controller.abort(new Error('left the page'));

    expect(((await promise) as Error).message).toBe('left the page');
    const calls = fake.calls.length;
    await vi.advanceTimersByTimeAsync(5000);
    expect(fake.calls.length).toBe(calls);
  });
});

describe('*WithPolling helpers', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('tasksApi.activateSuggestedEpicWithPolling enqueues, then polls the returned job', async () => {
    const fake = createFakeFetch();
    fake.on(
      'POST /api/v1/tasks/t1/activate',
      jsonResponse({ job_id: 'job-7', status: 'pending', message: 'queued' }, 202),
    );
    fake.on(
      'GET /api/v1/jobs/job-7',
      jsonResponse(makeJob({ id: 'job-7', status: 'running', progress_percent: 30, progress_message: 'epic' })),
      jsonResponse(makeJob({ id: 'job-7', status: 'completed', progress_percent: 100, result: { epic_id: 'e1' } })),
    );
    configureApi({ fetch: fake.fetch });
    const onProgress = vi.fn();

    const promise = tasksApi.activateSuggestedEpicWithPolling('t1', onProgress);
    await vi.advanceTimersByTimeAsync(1500);

    await expect(promise).resolves.toEqual({ epic_id: 'e1' });
    expect(onProgress).toHaveBeenNthCalledWith(1, 30, 'epic');
    expect(fake.calls.map((c) => `${c.method} ${c.url}`)).toEqual([
      'POST /api/v1/tasks/t1/activate',
      'GET /api/v1/jobs/job-7',
      'GET /api/v1/jobs/job-7',
    ]);
  });

  it('commitsApi.generateManualWithPolling sends the body and surfaces a failed job', async () => {
    const fake = createFakeFetch();
    fake.on(
      'POST /api/v1/commits/generate-manual/p1',
      jsonResponse({ job_id: 'job-8', status: 'pending', message: 'queued' }, 202),
    );
    fake.on(
      'GET /api/v1/jobs/job-8',
      jsonResponse(makeJob({ id: 'job-8', status: 'failed', error: 'diff too large' })),
    );
    configureApi({ fetch: fake.fetch });

    const promise = commitsApi
      .generateManualWithPolling('p1', { description: 'Refactor' }, undefined, { intervalMs: 10 })
      .catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(0);

    expect(((await promise) as Error).message).toBe('diff too large');
    expect(fake.calls[0]?.body).toEqual({ description: 'Refactor' });
  });

  it('backlog and commit helpers poll the job they enqueued', async () => {
    const fake = createFakeFetch((call) =>
      call.method === 'POST'
        ? jsonResponse({ job_id: 'job-x', status: 'pending', message: 'queued' }, 202)
        : jsonResponse(makeJob({ id: 'job-x', status: 'completed', result: call.url })),
    );
    configureApi({ fetch: fake.fetch });

    const results = await Promise.all([
      backlogGenerationApi.generateEpicWithPolling('i1'),
      backlogGenerationApi.generateStoriesWithPolling('e1'),
      backlogGenerationApi.generateTasksWithPolling('s1'),
      commitsApi.autoGenerateWithPolling('t1'),
    ]);

    expect(results).toEqual(Array(4).fill('/api/v1/jobs/job-x'));
    expect(fake.calls.filter((c) => c.method === 'POST').map((c) => c.url)).toEqual([
      '/api/v1/backlog/interview/i1/generate-epic',
      '/api/v1/backlog/epic/e1/generate-stories',
      '/api/v1/backlog/story/s1/generate-tasks',
      '/api/v1/commits/auto-generate/t1',
    ]);
  });
});
