/**
 * A small client for the Orbit HTTP API (`/api/v1`).
 *
 * - Same-origin by default; `configureApi({ baseUrl })` points it elsewhere.
 * - Sends `Authorization: Bearer <token>` when a token is stored in localStorage under
 *   `orbit.token` (or `configureApi({ getToken })` returns one). Event streams cannot send
 *   headers: they are authenticated by the `orbit_token` cookie (see `lib/auth.ts`).
 * - Error answers become `ApiError` (problem+json mapped to status, title, detail); a 401
 *   also notifies the `onUnauthorized` listeners, so the app can ask for a token.
 * - Every long operation is enqueued (HTTP 202 + job id) and followed with `jobsApi.poll`,
 *   or live with the hooks in `src/hooks`.
 */
import { ApiError, JobError, PollTimeoutError, apiErrorFromResponse } from './errors';
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

export const API_PREFIX = '/api/v1';
export const TOKEN_STORAGE_KEY = 'orbit.token';
export const DEFAULT_POLL_INTERVAL_MS = 1500;
/** Long AI operations can take a while; `poll` gives up after this by default. */
export const DEFAULT_POLL_TIMEOUT_MS = 30 * 60 * 1000;
/** Largest delay `setTimeout` accepts. */
const MAX_TIMER_MS = 2 ** 31 - 1;

// ---------------------------------------------------------------------------------------
// Configuration and token
// ---------------------------------------------------------------------------------------

export interface ApiConfig {
  /** Origin (and optional path) in front of `/api/v1`; '' means same-origin. */
  baseUrl: string;
  /** The bearer token to send, or null for none. Read on every request. */
  getToken: () => string | null;
  /** The fetch to use; null means the global `fetch` at call time. */
  fetch: typeof fetch | null;
}

/** The token stored in localStorage under `orbit.token`, or null. */
export function readStoredToken(): string | null {
  try {
    return globalThis.localStorage?.getItem(TOKEN_STORAGE_KEY) || null;
  } catch {
    return null; // storage disabled (privacy mode, sandboxed frame)
  }
}

/** Store (or with null, remove) the bearer token in localStorage. */
export function storeToken(token: string | null): void {
  try {
    if (token) globalThis.localStorage?.setItem(TOKEN_STORAGE_KEY, token);
    else globalThis.localStorage?.removeItem(TOKEN_STORAGE_KEY);
  } catch {
    // storage unavailable: nothing to persist to
  }
}

const defaultConfig: ApiConfig = { baseUrl: '', getToken: readStoredToken, fetch: null };
let config: ApiConfig = { ...defaultConfig };

export function configureApi(overrides: Partial<ApiConfig>): void {
  config = { ...config, ...overrides };
}

export function resetApiConfig(): void {
  config = { ...defaultConfig };
}

export function getApiConfig(): Readonly<ApiConfig> {
  return config;
}

// ---------------------------------------------------------------------------------------
// 401 answers
// ---------------------------------------------------------------------------------------

export type UnauthorizedListener = (error: ApiError) => void;

const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Call `listener` whenever the server answers 401; returns the unsubscribe function. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => {
    unauthorizedListeners.delete(listener);
  };
}

/** Tell the `onUnauthorized` listeners about a 401 (the typed client in `client.ts` uses it). */
export function notifyUnauthorized(error: ApiError): void {
  for (const listener of [...unauthorizedListeners]) {
    try {
      listener(error);
    } catch {
      // a failing listener must not hide the error from the caller
    }
  }
}

// ---------------------------------------------------------------------------------------
// Requests
// ---------------------------------------------------------------------------------------

export type QueryValue = string | number | boolean | null | undefined;

/** Absolute or same-origin URL of an API path such as `/jobs/123`. */
export function apiUrl(path: string, query?: Record<string, QueryValue>): string {
  const base = config.baseUrl.replace(/\/+$/, '');
  let url = `${base}${API_PREFIX}${path}`;
  if (query) {
    const params = new URLSearchParams();
    for (const [key, value] of Object.entries(query)) {
      if (value !== undefined && value !== null && value !== '') params.append(key, String(value));
    }
    const qs = params.toString();
    if (qs) url += (url.includes('?') ? '&' : '?') + qs;
  }
  return url;
}

const seg = (value: string) => encodeURIComponent(value);

export interface RequestOptions {
  method?: string;
  /** Sent as JSON when not undefined. */
  body?: unknown;
  query?: Record<string, QueryValue>;
  headers?: Record<string, string>;
  signal?: AbortSignal;
  idempotencyKey?: string;
  /** Statuses besides 2xx to hand back instead of throwing (e.g. 304). */
  acceptStatuses?: readonly number[];
}

/** Send a request; resolves with the raw response, throws `ApiError` on an error status. */
export async function apiSend(path: string, options: RequestOptions = {}): Promise<Response> {
  const headers: Record<string, string> = {
    Accept: 'application/json, application/problem+json',
    ...options.headers,
  };
  if (options.body !== undefined) headers['Content-Type'] = 'application/json';
  const token = config.getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (options.idempotencyKey) headers['Idempotency-Key'] = options.idempotencyKey;

  const doFetch = config.fetch ?? globalThis.fetch;
  const response = await doFetch(apiUrl(path, options.query), {
    method: options.method ?? 'GET',
    headers,
    body: options.body === undefined ? undefined : JSON.stringify(options.body),
    signal: options.signal,
    credentials: 'same-origin',
  });
  if (!response.ok && !options.acceptStatuses?.includes(response.status)) {
    const error = await apiErrorFromResponse(response);
    if (error.status === 401) notifyUnauthorized(error);
    throw error;
  }
  return response;
}

/** Send a request and parse the JSON answer (undefined for an empty body, e.g. 204). */
export async function apiRequest<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const response = await apiSend(path, options);
  if (response.status === 204 || response.status === 304) return undefined as T;
  const text = await response.text();
  if (!text) return undefined as T;
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new ApiError(response.status, 'Invalid JSON response', text.slice(0, 200));
  }
}

// ---------------------------------------------------------------------------------------
// Event stream URLs. EventSource cannot send headers; the token never goes into a URL
// (where logs and proxies would keep it): the `orbit_token` cookie carries it instead.
// ---------------------------------------------------------------------------------------

function eventsQuery(after: number | null | undefined, extra: Record<string, QueryValue> = {}) {
  return { ...extra, after: after ?? undefined };
}

/** `GET /api/v1/jobs/{id}/events[?after=N]` */
export function jobEventsUrl(jobId: string, after?: number | null): string {
  return apiUrl(`/jobs/${seg(jobId)}/events`, eventsQuery(after));
}

/** `GET /api/v1/jobs/events?project_id=…[&after=N]`: every job of a project on one stream. */
export function projectEventsUrl(projectId: string, after?: number | null): string {
  return apiUrl('/jobs/events', eventsQuery(after, { project_id: projectId }));
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

export const jobsApi = {
  /** `GET /api/v1/jobs/{id}` */
  get(jobId: string, options: { signal?: AbortSignal } = {}): Promise<Job> {
    return apiRequest<Job>(`/jobs/${seg(jobId)}`, { signal: options.signal });
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
    const headers: Record<string, string> = {};
    if (options.etag) headers['If-None-Match'] = options.etag;
    const response = await apiSend(`/jobs/${seg(jobId)}`, {
      query: { wait: options.waitSeconds },
      headers,
      signal: options.signal,
      acceptStatuses: [304],
    });
    const etag = response.headers.get('etag') ?? options.etag ?? null;
    if (response.status === 304) return { job: null, etag };
    return { job: (await response.json()) as Job, etag };
  },

  /** `GET /api/v1/jobs?status=&job_type=&project_id=&interview_id=&parent_id=&limit=&cursor=` */
  list(params: JobListParams = {}, options: { signal?: AbortSignal } = {}): Promise<JobList> {
    return apiRequest<JobList>('/jobs', { query: { ...params }, signal: options.signal });
  },

  /** `GET /api/v1/jobs/stats[?project_id=&job_type=]`: how many jobs are in each status. */
  stats(params: JobStatsParams = {}, options: { signal?: AbortSignal } = {}): Promise<JobStats> {
    return apiRequest<JobStats>('/jobs/stats', { query: { ...params }, signal: options.signal });
  },

  /** `POST /api/v1/jobs/{id}/cancel`; a running job is asked to stop (`cancel_requested_at`). */
  cancel(jobId: string): Promise<Job> {
    return apiRequest<Job>(`/jobs/${seg(jobId)}/cancel`, { method: 'POST' });
  },

  /** `POST /api/v1/jobs/{id}/retry`: sends a failed or cancelled job back to pending. */
  retry(jobId: string): Promise<Job> {
    return apiRequest<Job>(`/jobs/${seg(jobId)}/retry`, { method: 'POST' });
  },

  /** `DELETE /api/v1/jobs/{id}`; the server answers 409 while the job is pending or running. */
  async delete(jobId: string): Promise<void> {
    await apiRequest<void>(`/jobs/${seg(jobId)}`, { method: 'DELETE' });
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

function enqueue(path: string, body?: unknown, options: EnqueueOptions = {}): Promise<Accepted202> {
  return apiRequest<Accepted202>(path, {
    method: 'POST',
    body,
    idempotencyKey: options.idempotencyKey,
    signal: options.signal,
  });
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
    return apiRequest<StartedInterview>('/interviews', { method: 'POST', body: { project_id: projectId } });
  },
  /** `GET /api/v1/interviews/{id}`: the interview with its messages, in order. */
  get(interviewId: string, options: { signal?: AbortSignal } = {}): Promise<Interview> {
    return apiRequest<Interview>(`/interviews/${seg(interviewId)}`, { signal: options.signal });
  },
  /** `POST /api/v1/interviews/{id}/send-message-async` with `{content}` */
  sendMessageAsync(interviewId: string, body: SendMessageRequest, options?: EnqueueOptions) {
    return enqueue(`/interviews/${seg(interviewId)}/send-message-async`, body, options);
  },
  /** `POST /api/v1/interviews/{id}/generate-prompts-async` */
  generatePromptsAsync(interviewId: string, options?: EnqueueOptions) {
    return enqueue(`/interviews/${seg(interviewId)}/generate-prompts-async`, undefined, options);
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
    return apiRequest(`/tasks/${seg(itemId)}`);
  },
  /** `POST /api/v1/tasks/{id}/activate`: fills in a suggested item's details (any kind). */
  activate(taskId: string, options?: EnqueueOptions) {
    return enqueue(`/tasks/${seg(taskId)}/activate`, undefined, options);
  },
  /** `POST /api/v1/tasks/{id}/execute` */
  execute(taskId: string, options?: EnqueueOptions) {
    return enqueue(`/tasks/${seg(taskId)}/execute`, undefined, options);
  },
  /** `POST /api/v1/tasks/projects/{id}/execute-all` */
  executeAll(projectId: string, options?: EnqueueOptions) {
    return enqueue(`/tasks/projects/${seg(projectId)}/execute-all`, undefined, options);
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
    return enqueue(`/backlog/interview/${seg(interviewId)}/generate-epic`, undefined, options);
  },
  /** `POST /api/v1/backlog/epic/{id}/generate-stories` */
  generateStories(epicId: string, options?: EnqueueOptions) {
    return enqueue(`/backlog/epic/${seg(epicId)}/generate-stories`, undefined, options);
  },
  /** `POST /api/v1/backlog/story/{id}/generate-tasks` */
  generateTasks(storyId: string, options?: EnqueueOptions) {
    return enqueue(`/backlog/story/${seg(storyId)}/generate-tasks`, undefined, options);
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
  list(projectId: string, options: { signal?: AbortSignal } = {}): Promise<Commit[]> {
    return apiRequest<Commit[]>('/commits', { query: { project_id: projectId }, signal: options.signal });
  },
  /** `POST /api/v1/commits/auto-generate/{task_id}` */
  autoGenerate(taskId: string, options?: EnqueueOptions) {
    return enqueue(`/commits/auto-generate/${seg(taskId)}`, undefined, options);
  },
  /** `POST /api/v1/commits/generate-manual/{project_id}` with `{description, diff?}` */
  generateManual(projectId: string, body: ManualCommitRequest, options?: EnqueueOptions) {
    return enqueue(`/commits/generate-manual/${seg(projectId)}`, body, options);
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
  list(options: { signal?: AbortSignal } = {}): Promise<Project[]> {
    return apiRequest<Project[]>('/projects', { signal: options.signal });
  },
  /** `GET /api/v1/projects/{id}` */
  get(projectId: string, options: { signal?: AbortSignal } = {}): Promise<Project> {
    return apiRequest<Project>(`/projects/${seg(projectId)}`, { signal: options.signal });
  },
  /** `POST /api/v1/projects` with `{name, description?}` → 201 */
  create(body: ProjectCreate): Promise<Project> {
    return apiRequest<Project>('/projects', { method: 'POST', body });
  },
  /** `GET /api/v1/projects/{id}/backlog`: the epics, each with its stories, tasks and subtasks. */
  backlog(projectId: string, options: { signal?: AbortSignal } = {}): Promise<BacklogItem[]> {
    return apiRequest<BacklogItem[]>(`/projects/${seg(projectId)}/backlog`, { signal: options.signal });
  },
  /** `POST /api/v1/projects/{id}/provision-async` with `{stack}` */
  provisionAsync(projectId: string, body: ProvisionRequest, options?: EnqueueOptions) {
    return enqueue(`/projects/${seg(projectId)}/provision-async`, body, options);
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
    return apiRequest<Stack[]>('/stacks');
  },
};
