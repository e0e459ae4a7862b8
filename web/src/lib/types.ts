/**
 * Wire types of the Orbit HTTP API (`/api/v1`).
 *
 * Derived from `./generated/openapi.ts`, which `npm run gen:types` generates from the
 * server's OpenAPI document (`web/openapi.json`, written by `scripts/export-openapi.py`).
 * Where the server's schema is looser than what the client relies on (a plain `string`
 * for an enum, an untyped `result`), the field is narrowed here; shapes the server does
 * not declare (problem details, commits, stacks, job results, SSE payloads) stay
 * hand-written. Types only: no runtime code.
 */

import type { components, paths } from './generated/openapi';

type Schemas = components['schemas'];

/** Every field of `T` optional and without `null` (query strings: absent means "not set"). */
type QueryOf<T> = { [K in keyof T]?: NonNullable<T[K]> };

/** Where a job is in its life. `completed`, `failed` and `cancelled` are terminal. */
export type JobStatus = Schemas['JobStatus'];

/** Statuses of a finished job. */
export type TerminalJobStatus = Extract<JobStatus, 'completed' | 'failed' | 'cancelled'>;

/** ISO-8601 timestamp as sent by the server. */
export type IsoDateTime = string;

/**
 * Fields of `JobOut` that the client treats as optional (older servers, test fixtures and
 * snapshots built by hand may leave them out), or types more precisely.
 */
type JobRefinedFields =
  | 'result'
  | 'input_data'
  | 'parent_id'
  | 'priority'
  | 'run_at'
  | 'timeout_seconds'
  | 'worker_id'
  | 'updated_at'
  | 'queue'
  | 'error_code';

/** A background job, as returned by `GET /api/v1/jobs/{id}` (`JobOut`). */
export interface Job<TResult = unknown> extends Omit<Schemas['JobOut'], JobRefinedFields> {
  /** Set once the job completed. */
  result: TResult | null;
  input_data: Record<string, unknown> | null;
  parent_id?: string | null;
  priority?: number;
  run_at?: IsoDateTime | null;
  timeout_seconds?: number | null;
  worker_id?: string | null;
  lease_expires_at?: IsoDateTime | null;
  idempotency_key?: string | null;
  updated_at?: IsoDateTime;
  /** The named queue the job runs on (`default` unless enqueued elsewhere). */
  queue?: string;
  /** Why it failed, for machines (`timed_out`, `ai_rate_limited`…); `error` is the message. */
  error_code?: string | null;
}

/** `GET /api/v1/jobs` (`JobList`) */
export interface JobList<TResult = unknown> extends Omit<Schemas['JobList'], 'items'> {
  items: Job<TResult>[];
}

/** Query of `GET /api/v1/jobs`. */
export type JobListParams = QueryOf<
  NonNullable<paths['/api/v1/jobs']['get']['parameters']['query']>
>;

/** `GET /api/v1/jobs/stats` (`JobStats`) */
export interface JobStats extends Omit<Schemas['JobStats'], 'counts'> {
  counts: Partial<Record<JobStatus, number>>;
}

/** Query of `GET /api/v1/jobs/stats`. */
export type JobStatsParams = QueryOf<
  NonNullable<paths['/api/v1/jobs/stats']['get']['parameters']['query']>
>;

/**
 * Body of every enqueueing route's `202 Accepted` answer (`Accepted`). `status` is
 * `pending` for a new job; an idempotent replay may report the existing job's status.
 */
export type Accepted202 = Schemas['Accepted'];

/** RFC 9457 problem details (`application/problem+json`); not declared in the schema. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail?: string | null;
  instance?: string | null;
  /** Extension members. */
  [extension: string]: unknown;
}

/** Body of `POST /api/v1/interviews/{id}/send-message-async` (`MessageIn`). */
export type SendMessageRequest = Schemas['MessageIn'];

/** Body of `POST /api/v1/commits/generate-manual/{project_id}` (`ManualCommit`). */
export interface ManualCommitRequest extends Omit<Schemas['ManualCommit'], 'diff'> {
  diff?: string;
}

/** Body of `POST /api/v1/projects/{id}/provision-async` (`ProvisionRequest`). */
export type ProvisionRequest = Schemas['ProvisionRequest'];

// ---------------------------------------------------------------------------------------
// The app: projects, interviews, backlog, commits, stacks
// ---------------------------------------------------------------------------------------

/** `GET /api/v1/projects/{id}` (`ProjectOut`) */
export type Project = Schemas['ProjectOut'];

/** Body of `POST /api/v1/projects` (`ProjectIn`). */
export type ProjectCreate = Schemas['ProjectIn'];

export type InterviewRole = 'user' | 'assistant' | 'system';

/** One message of an interview (`MessageOut`). */
export interface InterviewMessage extends Omit<Schemas['MessageOut'], 'role'> {
  role: InterviewRole;
}

/** `GET /api/v1/interviews/{id}` (`InterviewOut`); `pending_turn` is the AI's turn to come. */
export interface Interview extends Omit<Schemas['InterviewOut'], 'created_at' | 'messages'> {
  created_at?: IsoDateTime;
  messages: InterviewMessage[];
}

/** `POST /api/v1/interviews` (`StartedInterview`): `job_id` asks the first question. */
export interface StartedInterview extends Interview {
  job_id: string;
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

/** One node of `GET /api/v1/projects/{id}/backlog` (`BacklogItemOut`, epics at the top). */
export interface BacklogItem
  extends Omit<Schemas['BacklogItemOut'], 'kind' | 'status' | 'details' | 'position' | 'children'> {
  kind: BacklogKind;
  status: BacklogStatus;
  details: Record<string, unknown> | null;
  position?: number;
  children: BacklogItem[];
}

/** One entry of `GET /api/v1/commits?project_id=` (the server declares a free-form object). */
export interface Commit {
  id: string;
  project_id: string;
  item_id: string | null;
  message: string;
  body: string | null;
  created_at: IsoDateTime;
  job_id: string | null;
}

/** One entry of `GET /api/v1/stacks` (the server declares a free-form object). */
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
