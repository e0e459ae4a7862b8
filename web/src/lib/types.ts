/**
 * Wire types of the Orbit HTTP API (`/api/v1`).
 *
 * Hand-written to match the server's JSON for now; this file is meant to be replaced by
 * types generated from the server's OpenAPI schema, so it holds types only (no runtime code).
 */

/** Where a job is in its life. `completed`, `failed` and `cancelled` are terminal. */
export type JobStatus = 'pending' | 'running' | 'completed' | 'failed' | 'cancelled';

/** Statuses of a finished job. */
export type TerminalJobStatus = Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>;

/** ISO-8601 timestamp as sent by the server. */
export type IsoDateTime = string;

/** A background job, as returned by `GET /api/v1/jobs/{id}`. */
export interface Job<TResult = unknown> {
  id: string;
  job_type: string;
  status: JobStatus;
  /** 0..100, or null while the job has not reported progress. */
  progress_percent: number | null;
  progress_message: string | null;
  created_at: IsoDateTime;
  started_at: IsoDateTime | null;
  completed_at: IsoDateTime | null;
  /** Set once the job completed. */
  result: TResult | null;
  /** Set when the job failed (or was cancelled with a reason). */
  error: string | null;
  input_data: Record<string, unknown> | null;
  project_id: string | null;
  interview_id: string | null;
  attempts: number;
  max_attempts: number;
  /** Bumps on every client-visible change; equals the sequence number of the job's last event. */
  version: number;
  cancel_requested_at: IsoDateTime | null;
  parent_id?: string | null;
  priority?: number;
  run_at?: IsoDateTime | null;
  timeout_seconds?: number | null;
  worker_id?: string | null;
  lease_expires_at?: IsoDateTime | null;
  idempotency_key?: string | null;
  updated_at?: IsoDateTime;
}

/** `GET /api/v1/jobs` */
export interface JobList<TResult = unknown> {
  items: Job<TResult>[];
  next_cursor: string | null;
}

/** Query of `GET /api/v1/jobs`. */
export interface JobListParams {
  status?: JobStatus;
  job_type?: string;
  project_id?: string;
  interview_id?: string;
  parent_id?: string;
  limit?: number;
  cursor?: string;
}

/** `GET /api/v1/jobs/stats` */
export interface JobStats {
  counts: Partial<Record<JobStatus, number>>;
  total: number;
}

/** Query of `GET /api/v1/jobs/stats`. */
export interface JobStatsParams {
  project_id?: string;
  job_type?: string;
}

/** Body of every enqueueing route's `202 Accepted` answer. */
export interface Accepted202 {
  job_id: string;
  /** `pending` for a new job; an idempotent replay may report the existing job's status. */
  status: JobStatus;
  message: string;
}

/** RFC 9457 problem details (`application/problem+json`). */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  instance?: string | null;
  /** Extension members. */
  [extension: string]: unknown;
}

/** Body of `POST /api/v1/interviews/{id}/send-message-async`. */
export interface SendMessageRequest {
  content: string;
}

/** Body of `POST /api/v1/commits/generate-manual/{project_id}`. */
export interface ManualCommitRequest {
  description: string;
  diff?: string;
}

/** Body of `POST /api/v1/projects/{id}/provision-async`. */
export interface ProvisionRequest {
  stack: string;
}

// ---------------------------------------------------------------------------------------
// The app: projects, interviews, backlog, commits, stacks
// ---------------------------------------------------------------------------------------

/** `GET /api/v1/projects/{id}` */
export interface Project {
  id: string;
  name: string;
  description: string | null;
  created_at: IsoDateTime;
}

/** Body of `POST /api/v1/projects`. */
export interface ProjectCreate {
  name: string;
  description?: string | null;
}

export type InterviewRole = 'user' | 'assistant' | 'system';

export interface InterviewMessage {
  id: string;
  role: InterviewRole;
  content: string;
  created_at: IsoDateTime;
}

/** `GET /api/v1/interviews/{id}` */
export interface Interview {
  id: string;
  project_id: string;
  created_at?: IsoDateTime;
  messages: InterviewMessage[];
}

/** Result of an `interview_message` job. */
export interface InterviewMessageResult {
  success: boolean;
  message_id: string;
  content: string;
}

/** Result of a `backlog_generation` job started by `generate-prompts-async`. */
export interface BacklogGenerationResult {
  success: boolean;
  epic_created: { id: string; title: string; description: string } | null;
  stories_created: number;
  tasks_created: number;
}

export type BacklogKind = 'epic' | 'story' | 'task' | 'subtask';
export type BacklogStatus = 'suggested' | 'active' | 'done';

/** One node of `GET /api/v1/projects/{id}/backlog` (epics at the top). */
export interface BacklogItem {
  id: string;
  kind: BacklogKind;
  title: string;
  description: string;
  status: BacklogStatus;
  details: Record<string, unknown> | null;
  position?: number;
  children: BacklogItem[];
}

/** One entry of `GET /api/v1/commits?project_id=`. */
export interface Commit {
  id: string;
  project_id: string;
  item_id: string | null;
  message: string;
  body: string | null;
  created_at: IsoDateTime;
  job_id: string | null;
}

/** One entry of `GET /api/v1/stacks`. */
export interface Stack {
  id: string;
  name: string;
  description: string;
  files?: string[];
}

// ---------------------------------------------------------------------------------------
// Server-Sent Events of `GET /api/v1/jobs/{id}/events` and `GET /api/v1/jobs/events`.
// On the per-project stream every payload also carries `job_id`.
// ---------------------------------------------------------------------------------------

export type JobEventType = 'snapshot' | 'progress' | 'status' | 'token' | 'end';

export interface ProgressEventData {
  percent: number | null;
  message: string | null;
  job_id?: string;
}

export interface StatusEventData {
  status: JobStatus;
  error?: string | null;
  job_id?: string;
}

export interface TokenEventData {
  /** A batch of LLM output text. */
  text: string;
  /** The job attempt that produced it: a retried job streams its reply again from scratch. */
  attempt?: number;
  job_id?: string;
}

export interface EndEventData {
  job_id?: string;
  status?: JobStatus;
  [key: string]: unknown;
}

interface JobEventBase<TType extends JobEventType, TData> {
  type: TType;
  /** The event's sequence number (SSE `id`), or null when the server sent none. */
  id: number | null;
  data: TData;
}

export type SnapshotEvent = JobEventBase<'snapshot', Job>;
export type ProgressEvent = JobEventBase<'progress', ProgressEventData>;
export type StatusEvent = JobEventBase<'status', StatusEventData>;
export type TokenEvent = JobEventBase<'token', TokenEventData>;
export type EndEvent = JobEventBase<'end', EndEventData | null>;

export type JobEvent = SnapshotEvent | ProgressEvent | StatusEvent | TokenEvent | EndEvent;
