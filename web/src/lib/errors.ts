import type { Job, JobStatus, Problem } from './types';

/**
 * An HTTP error answer of the API. Problem+json bodies (RFC 9457) are mapped field by field;
 * other bodies fall back to the status text and the body's `detail` or text.
 */
export class ApiError extends Error {
  override readonly name = 'ApiError';
  readonly status: number;
  readonly title: string;
  readonly detail: string | null;
  /** The problem `type` URI (`about:blank` when the server sent none). */
  readonly type: string;
  /** The parsed problem document, when the server sent one. */
  readonly problem: Problem | null;

  constructor(
    status: number,
    title: string,
    detail: string | null = null,
    options: { type?: string; problem?: Problem | null } = {},
  ) {
    super(detail ? `${title}: ${detail}` : title);
    this.status = status;
    this.title = title;
    this.detail = detail;
    this.type = options.type ?? 'about:blank';
    this.problem = options.problem ?? null;
  }
}

/** A job ended `failed` or `cancelled` while being waited for. `message` is the job's error. */
export class JobError extends Error {
  override readonly name = 'JobError';
  readonly job: Job;
  readonly status: JobStatus;

  constructor(job: Job) {
    super(job.error || (job.status === 'cancelled' ? 'Job was cancelled' : 'Job failed'));
    this.job = job;
    this.status = job.status;
  }
}

/** `jobsApi.poll` gave up waiting. */
export class PollTimeoutError extends Error {
  override readonly name = 'PollTimeoutError';
  readonly jobId: string;
  readonly timeoutMs: number;

  constructor(jobId: string, timeoutMs: number) {
    super(`Timed out after ${timeoutMs} ms waiting for job ${jobId}`);
    this.jobId = jobId;
    this.timeoutMs = timeoutMs;
  }
}

const TRANSIENT_STATUSES = new Set([408, 425, 429]);

/**
 * Whether a failed request is worth repeating unchanged: network failures (fetch rejects
 * with a TypeError), timeouts, rate limiting and 5xx answers. Other 4xx answers and aborts
 * are not.
 */
export function isTransientError(error: unknown): boolean {
  if (error instanceof ApiError) {
    return error.status >= 500 || TRANSIENT_STATUSES.has(error.status);
  }
  if (isAbortError(error)) return false;
  return true;
}

export function isAbortError(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    'name' in error &&
    (error as { name: unknown }).name === 'AbortError'
  );
}

export function isProblem(body: unknown): body is Problem {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const candidate = body as Record<string, unknown>;
  return typeof candidate.title === 'string' || typeof candidate.type === 'string';
}

/** Build an `ApiError` from a non-2xx response, reading its body once. */
export async function apiErrorFromResponse(response: Response): Promise<ApiError> {
  const contentType = response.headers.get('content-type') ?? '';
  let text = '';
  try {
    text = await response.text();
  } catch {
    // body unreadable: keep the status line only
  }
  let body: unknown = null;
  if (text && contentType.includes('json')) {
    try {
      body = JSON.parse(text);
    } catch {
      body = null;
    }
  }
  const fallbackTitle = response.statusText || `HTTP ${response.status}`;
  if (isProblem(body)) {
    const detail = typeof body.detail === 'string' ? body.detail : null;
    return new ApiError(response.status, body.title || fallbackTitle, detail, {
      type: typeof body.type === 'string' ? body.type : undefined,
      problem: body,
    });
  }
  if (typeof body === 'object' && body !== null && 'detail' in body) {
    // FastAPI's default error shape: {"detail": "..."} or {"detail": [validation errors]}
    const raw = (body as { detail: unknown }).detail;
    return new ApiError(response.status, fallbackTitle, typeof raw === 'string' ? raw : JSON.stringify(raw));
  }
  return new ApiError(response.status, fallbackTitle, text ? text.slice(0, 500) : null);
}
