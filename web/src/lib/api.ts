/**
 * The Orbit HTTP API (`/api/v1`) as functions, over the typed client (`client.ts`,
 * `openapi-fetch` on the paths generated from the server's OpenAPI document): a wrong path,
 * parameter or body is a type error, and no URL is written by hand here.
 *
 * - Same-origin by default; `configureApi({ baseUrl })` points it elsewhere (`config.ts`).
 * - Sends `Authorization: Bearer <token>` when a token is stored in localStorage under
 *   `orbit.token` (or `configureApi({ getToken })` returns one). Event streams cannot send
 *   headers: they are authenticated by the `orbit_token` cookie (see `lib/auth.ts`).
 * - Error answers become `ApiError` (problem+json mapped to status, title, detail); a 401
 *   also notifies the `onUnauthorized` listeners, so the app can ask for a token.
 * - Every long operation is enqueued (HTTP 202 + job id) and followed with `jobsApi.poll`,
 *   or live with the hooks in `src/hooks`.
 */
import { api, call } from './client';
import { JobError, PollTimeoutError } from './errors';
import { isTerminalStatus } from './jobStatus';
import { watchJob, type JobWatcher } from './poller';
import type {
  Accepted202,
  BacklogItem,
  Commit,
  Interview,
  StartedInterview,
  Job,
  JobList,
  JobListParams,
  JobStats,
  JobStatsParams,
  ManualCommitRequest,
  Project,
  ProjectCreate,
  ProvisionRequest,
  SendMessageRequest,
  Stack,
} from './types';

export { ApiError, JobError, PollTimeoutError } from './errors';
export {
  API_PREFIX,
  TOKEN_STORAGE_KEY,
  configureApi,
  getApiConfig,
  notifyUnauthorized,
  onUnauthorized,
  readStoredToken,
  resetApiConfig,
  storeToken,
} from './config';
export type { ApiConfig, UnauthorizedListener } from './config';

export const DEFAULT_POLL_INTERVAL_MS = 1500;
/** Long AI operations can take a while; `poll` gives up after this by default. */
export const DEFAULT_POLL_TIMEOUT_MS = 30 * 60 * 1000;
/** Largest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface ReadOptions {
  signal?: AbortSignal;
}

/** The query without empty filters (`''`, null, undefined: "not set"). */
function given<T extends object>(query: T): T {
  return Object.fromEntries(
    Object.entries(query).filter(([, value]) => value !== undefined && value !== null && value !== ''),
  ) as T;
}

// ---------------------------------------------------------------------------------------
// Jobs
// ---------------------------------------------------------------------------------------

export type OnProgress = (percent: number, message: string | null) => void;

export interface PollOptions {
  /** Stops polling; the promise rejects with the signal's reason. */
  signal?: AbortSignal;
}

export interface ConditionalGetResult {
  /** The job, or null when it did not change (HTTP 304). */
  job: Job | null;
  /** The ETag to send next time. */
  etag: string | null;
}

function clampPercent(value: number): number {
  return Math.min(100, Math.max(0, value));
}

const jobPath = (jobId: string) => ({ params: { path: { job_id: jobId } } });

export const jobsApi = {
  /** `GET /api/v1/jobs/{id}` */
  get(jobId: string, options: ReadOptions = {}): Promise<Job> {
    return call(api().GET('/api/v1/jobs/{job_id}', { ...jobPath(jobId), signal: options.signal })) as Promise<Job>;
  },

  /**
   * Conditional long poll: `GET /api/v1/jobs/{id}?wait=N` with `If-None-Match`. Answers as
   * soon as the job's version changes, or with `job: null` (304) when it did not within
   * `waitSeconds`.
   */
  async getIfChanged(
    jobId: string,
    options: { etag?: string | null; waitSeconds?: number; signal?: AbortSignal } = {},
  ): Promise<ConditionalGetResult> {
    const { data, response } = await api().GET('/api/v1/jobs/{job_id}', {
      params: { path: { job_id: jobId }, query: given({ wait: options.waitSeconds }) },
      headers: options.etag ? { 'If-None-Match': options.etag } : {},
      signal: options.signal,
    });
    const etag = response.headers.get('etag') ?? options.etag ?? null;
    if (response.status === 304) return { job: null, etag };
    return { job: data as Job, etag };
  },

  /** `GET /api/v1/jobs?status=&job_type=&project_id=&interview_id=&parent_id=&limit=&cursor=` */
  list(params: JobListParams = {}, options: ReadOptions = {}): Promise<JobList> {
    return call(api().GET('/api/v1/jobs', { params: { query: given(params) }, signal: options.signal })) as Promise<JobList>;
  },

  /** `GET /api/v1/jobs/stats[?project_id=&job_type=]`: how many jobs are in each status. */
  stats(params: JobStatsParams = {}, options: ReadOptions = {}): Promise<JobStats> {
    return call(
      api().GET('/api/v1/jobs/stats', { params: { query: given(params) }, signal: options.signal }),
    ) as Promise<JobStats>;
  },

  /** `POST /api/v1/jobs/{id}/cancel`; a running job is asked to stop (`cancel_requested_at`). */
  cancel(jobId: string): Promise<Job> {
    return call(api().POST('/api/v1/jobs/{job_id}/cancel', jobPath(jobId))) as Promise<Job>;
  },

  /** `POST /api/v1/jobs/{id}/retry`: sends a failed or cancelled job back to pending. */
  retry(jobId: string): Promise<Job> {
    return call(api().POST('/api/v1/jobs/{job_id}/retry', jobPath(jobId))) as Promise<Job>;
  },

  /** `DELETE /api/v1/jobs/{id}`; the server answers 409 while the job is pending or running. */
  async delete(jobId: string): Promise<void> {
    await call(api().DELETE('/api/v1/jobs/{job_id}', jobPath(jobId)));
  },

  /**
   * Poll a job until it finishes.
   *
   * Resolves with `job.result` when it completes; rejects with a `JobError` (an `Error` whose
   * message is `job.error`) when it fails or is cancelled, with a `PollTimeoutError` after
   * `timeoutMs` (0 or Infinity: no timeout), and with the `ApiError` of a non-transient
   * failure (e.g. 404). Network errors, 5xx, 408 and 429 are retried on the next tick.
   * `onProgress` is called when the progress changes, never with a smaller percent than
   * before (a job restarted by a retry keeps its highest percent).
   */
  poll<T = unknown>(
    jobId: string,
    onProgress?: OnProgress,
    intervalMs: number = DEFAULT_POLL_INTERVAL_MS,
    timeoutMs: number = DEFAULT_POLL_TIMEOUT_MS,
    options: PollOptions = {},
  ): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const { signal } = options;
      let settled = false;
      let watcher: JobWatcher | undefined;
      let timeoutTimer: ReturnType<typeof setTimeout> | undefined;
      let reportedPercent: number | null = null;
      let reportedMessage: string | null = null;

      const onAbort = () => finish(() => reject(signal?.reason ?? new Error('Polling aborted')));

      const finish = (settle: () => void) => {
        if (settled) return;
        settled = true;
        watcher?.stop();
        if (timeoutTimer !== undefined) clearTimeout(timeoutTimer);
        signal?.removeEventListener('abort', onAbort);
        settle();
      };

      const report = (job: Job) => {
        if (!onProgress) return;
        const raw = job.progress_percent;
        const percent =
          typeof raw === 'number' && Number.isFinite(raw) ? clampPercent(raw) : null;
        const message = job.progress_message ?? null;
        let next: number;
        if (percent === null) {
          if (message === null || message === reportedMessage) return;
          next = reportedPercent ?? 0;
        } else {
          next = reportedPercent === null ? percent : Math.max(reportedPercent, percent);
        }
        if (next === reportedPercent && message === reportedMessage) return;
        reportedPercent = next;
        reportedMessage = message;
        try {
          onProgress(next, message);
        } catch {
          // a throwing progress callback must not break polling
        }
      };

      if (signal?.aborted) {
        reject(signal.reason ?? new Error('Polling aborted'));
        return;
      }
      signal?.addEventListener('abort', onAbort);

      if (Number.isFinite(timeoutMs) && timeoutMs > 0) {
        timeoutTimer = setTimeout(
          () => finish(() => reject(new PollTimeoutError(jobId, timeoutMs))),
          Math.min(timeoutMs, MAX_TIMER_MS),
        );
      }

      watcher = watchJob(jobId, {
        getJob: (id, { signal: requestSignal }) => jobsApi.get(id, { signal: requestSignal }),
        intervalMs,
        onUpdate: (job) => {
          if (settled) return;
          report(job);
          if (!isTerminalStatus(job.status)) return;
          if (job.status === 'completed') finish(() => resolve(job.result as T));
          else finish(() => reject(new JobError(job)));
        },
        onError: (error, willRetry) => {
          if (!willRetry) finish(() => reject(error));
        },
      });
      if (settled) watcher.stop();
    });
  },
};

// ---------------------------------------------------------------------------------------
// Enqueueing routes (HTTP 202 + job id)
// ---------------------------------------------------------------------------------------

export interface EnqueueOptions {
  /** Sent as `Idempotency-Key`: repeating a request with the same key yields the same job. */
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export interface WithPollingOptions extends EnqueueOptions {
  intervalMs?: number;
  timeoutMs?: number;
  /** Called with the 202 answer before polling starts (e.g. to remember the job id). */
  onEnqueued?: (accepted: Accepted202) => void;
}

/** The request options of an enqueueing call: `Idempotency-Key` and the signal. */
function sent(options: EnqueueOptions = {}) {
  return {
    headers: options.idempotencyKey ? { 'Idempotency-Key': options.idempotencyKey } : {},
    signal: options.signal,
  };
}

/** The 202 answer of an enqueueing call. */
function enqueued(request: Promise<{ data?: unknown; error?: unknown }>): Promise<Accepted202> {
  return call(request) as Promise<Accepted202>;
}

async function enqueueAndPoll<T>(
  start: Promise<Accepted202>,
  onProgress: OnProgress | undefined,
  options: WithPollingOptions,
): Promise<T> {
  const accepted = await start;
  options.onEnqueued?.(accepted);
  return jobsApi.poll<T>(accepted.job_id, onProgress, options.intervalMs, options.timeoutMs, {
    signal: options.signal,
  });
}

export const interviewsApi = {
  /**
   * `POST /api/v1/interviews` with `{project_id}` (201 at once): no messages yet; the job
   * `job_id` asks the first question (stream or poll it like any reply).
   */
  create(projectId: string): Promise<StartedInterview> {
    return call(api().POST('/api/v1/interviews', { body: { project_id: projectId } })) as Promise<StartedInterview>;
  },
  /** `GET /api/v1/interviews/{id}`: the interview with its messages, in order. */
  get(interviewId: string, options: ReadOptions = {}): Promise<Interview> {
    return call(
      api().GET('/api/v1/interviews/{interview_id}', {
        params: { path: { interview_id: interviewId } },
        signal: options.signal,
      }),
    ) as Promise<Interview>;
  },
  /** `POST /api/v1/interviews/{id}/send-message-async` with `{content}` */
  sendMessageAsync(interviewId: string, body: SendMessageRequest, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/interviews/{interview_id}/send-message-async', {
        params: { path: { interview_id: interviewId } },
        body,
        ...sent(options),
      }),
    );
  },
  /** `POST /api/v1/interviews/{id}/generate-prompts-async` */
  generatePromptsAsync(interviewId: string, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/interviews/{interview_id}/generate-prompts-async', {
        params: { path: { interview_id: interviewId } },
        ...sent(options),
      }),
    );
  },
  sendMessageWithPolling<T = unknown>(
    interviewId: string,
    body: SendMessageRequest,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(interviewsApi.sendMessageAsync(interviewId, body, options), onProgress, options);
  },
  generatePromptsWithPolling<T = unknown>(
    interviewId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(interviewsApi.generatePromptsAsync(interviewId, options), onProgress, options);
  },
};

export const tasksApi = {
  /** `GET /api/v1/tasks/{id}`: a backlog item of any kind, with its children and executions. */
  get(itemId: string): Promise<BacklogItem & Record<string, unknown>> {
    return call(api().GET('/api/v1/tasks/{item_id}', { params: { path: { item_id: itemId } } })) as Promise<
      BacklogItem & Record<string, unknown>
    >;
  },
  /** `POST /api/v1/tasks/{id}/activate`: fills in a suggested item's details (any kind). */
  activate(taskId: string, options?: EnqueueOptions) {
    return enqueued(api().POST('/api/v1/tasks/{item_id}/activate', { params: { path: { item_id: taskId } }, ...sent(options) }));
  },
  /** `POST /api/v1/tasks/{id}/execute` */
  execute(taskId: string, options?: EnqueueOptions) {
    return enqueued(api().POST('/api/v1/tasks/{item_id}/execute', { params: { path: { item_id: taskId } }, ...sent(options) }));
  },
  /** `POST /api/v1/tasks/projects/{id}/execute-all` */
  executeAll(projectId: string, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/tasks/projects/{project_id}/execute-all', {
        params: { path: { project_id: projectId } },
        ...sent(options),
      }),
    );
  },
  activateSuggestedEpicWithPolling<T = unknown>(
    taskId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(tasksApi.activate(taskId, options), onProgress, options);
  },
  executeWithPolling<T = unknown>(
    taskId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(tasksApi.execute(taskId, options), onProgress, options);
  },
  executeAllWithPolling<T = unknown>(
    projectId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(tasksApi.executeAll(projectId, options), onProgress, options);
  },
};

export const backlogGenerationApi = {
  /** `POST /api/v1/backlog/interview/{id}/generate-epic` */
  generateEpic(interviewId: string, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/backlog/interview/{interview_id}/generate-epic', {
        params: { path: { interview_id: interviewId } },
        ...sent(options),
      }),
    );
  },
  /** `POST /api/v1/backlog/epic/{id}/generate-stories` */
  generateStories(epicId: string, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/backlog/epic/{epic_id}/generate-stories', { params: { path: { epic_id: epicId } }, ...sent(options) }),
    );
  },
  /** `POST /api/v1/backlog/story/{id}/generate-tasks` */
  generateTasks(storyId: string, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/backlog/story/{story_id}/generate-tasks', { params: { path: { story_id: storyId } }, ...sent(options) }),
    );
  },
  generateEpicWithPolling<T = unknown>(
    interviewId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(backlogGenerationApi.generateEpic(interviewId, options), onProgress, options);
  },
  generateStoriesWithPolling<T = unknown>(
    epicId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(backlogGenerationApi.generateStories(epicId, options), onProgress, options);
  },
  generateTasksWithPolling<T = unknown>(
    storyId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(backlogGenerationApi.generateTasks(storyId, options), onProgress, options);
  },
};

export const commitsApi = {
  /** `GET /api/v1/commits?project_id=`: the project's commits, newest first. */
  list(projectId: string, options: ReadOptions = {}): Promise<Commit[]> {
    return call(
      api().GET('/api/v1/commits', { params: { query: { project_id: projectId } }, signal: options.signal }),
    ) as unknown as Promise<Commit[]>; // the server does not declare the shape
  },
  /** `POST /api/v1/commits/auto-generate/{task_id}` */
  autoGenerate(taskId: string, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/commits/auto-generate/{task_id}', { params: { path: { task_id: taskId } }, ...sent(options) }),
    );
  },
  /** `POST /api/v1/commits/generate-manual/{project_id}` with `{description, diff?}` */
  generateManual(projectId: string, body: ManualCommitRequest, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/commits/generate-manual/{project_id}', {
        params: { path: { project_id: projectId } },
        body,
        ...sent(options),
      }),
    );
  },
  autoGenerateWithPolling<T = unknown>(
    taskId: string,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(commitsApi.autoGenerate(taskId, options), onProgress, options);
  },
  generateManualWithPolling<T = unknown>(
    projectId: string,
    body: ManualCommitRequest,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(commitsApi.generateManual(projectId, body, options), onProgress, options);
  },
};

export const projectsApi = {
  /** `GET /api/v1/projects` */
  list(options: ReadOptions = {}): Promise<Project[]> {
    return call(api().GET('/api/v1/projects', { signal: options.signal })) as Promise<Project[]>;
  },
  /** `GET /api/v1/projects/{id}` */
  get(projectId: string, options: ReadOptions = {}): Promise<Project> {
    return call(
      api().GET('/api/v1/projects/{project_id}', { params: { path: { project_id: projectId } }, signal: options.signal }),
    ) as Promise<Project>;
  },
  /** `POST /api/v1/projects` with `{name, description?}` → 201 */
  create(body: ProjectCreate): Promise<Project> {
    return call(api().POST('/api/v1/projects', { body })) as Promise<Project>;
  },
  /** `GET /api/v1/projects/{id}/backlog`: the epics, each with its stories, tasks and subtasks. */
  backlog(projectId: string, options: ReadOptions = {}): Promise<BacklogItem[]> {
    return call(
      api().GET('/api/v1/projects/{project_id}/backlog', {
        params: { path: { project_id: projectId } },
        signal: options.signal,
      }),
    ) as Promise<BacklogItem[]>;
  },
  /** `POST /api/v1/projects/{id}/provision-async` with `{stack}` */
  provisionAsync(projectId: string, body: ProvisionRequest, options?: EnqueueOptions) {
    return enqueued(
      api().POST('/api/v1/projects/{project_id}/provision-async', {
        params: { path: { project_id: projectId } },
        body,
        ...sent(options),
      }),
    );
  },
  provisionWithPolling<T = unknown>(
    projectId: string,
    body: ProvisionRequest,
    onProgress?: OnProgress,
    options: WithPollingOptions = {},
  ): Promise<T> {
    return enqueueAndPoll<T>(projectsApi.provisionAsync(projectId, body, options), onProgress, options);
  },
};

export const stacksApi = {
  /** `GET /api/v1/stacks`: the stacks a project can be provisioned with. */
  list(): Promise<Stack[]> {
    return call(api().GET('/api/v1/stacks')) as unknown as Promise<Stack[]>; // undeclared shape
  },
};
