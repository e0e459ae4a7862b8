/**
 * Which of a project's jobs the workspace shows, found in `GET /jobs?project_id=`: after a
 * reload the page picks up the jobs still pending or running where it left them.
 */
import { isActiveStatus } from './jobStatus';
import type { Job } from './types';

export type ItemAction = 'activate' | 'execute' | 'commit';

export interface ItemJob {
  jobId: string;
  action: ItemAction;
}

export interface ProjectJobs {
  interview: Job | null;
  backlog: Job | null;
  batch: Job | null;
  provisioning: Job | null;
  manualCommit: Job | null;
  /** The backlog item each job works on, for activation, execution and commit jobs. */
  items: Record<string, ItemJob>;
  /** The newest interview a job of the project names, if any. */
  interviewId: string | null;
}

function inputString(job: Job, key: string): string | null {
  const value = job.input_data?.[key];
  return typeof value === 'string' && value ? value : null;
}

/** The backlog item and action of a job, or null for jobs of other kinds. */
export function itemJobOf(job: Job): { itemId: string; action: ItemAction } | null {
  if (job.job_type.endsWith('_activation')) {
    const itemId = inputString(job, 'item_id');
    return itemId ? { itemId, action: 'activate' } : null;
  }
  if (job.job_type === 'task_execution' && !job.parent_id) {
    const itemId = inputString(job, 'task_id');
    return itemId ? { itemId, action: 'execute' } : null;
  }
  if (job.job_type === 'commit_generation') {
    const itemId = inputString(job, 'task_id');
    return itemId ? { itemId, action: 'commit' } : null;
  }
  return null;
}

/**
 * The project's active jobs by the part of the page that shows them (newest first wins).
 * `jobs` is newest first, as `GET /jobs` lists them.
 */
export function activeProjectJobs(jobs: readonly Job[], interviewId: string | null): ProjectJobs {
  const found: ProjectJobs = {
    interview: null,
    backlog: null,
    batch: null,
    provisioning: null,
    manualCommit: null,
    items: {},
    interviewId: jobs.find((job) => job.interview_id)?.interview_id ?? null,
  };
  for (const job of jobs) {
    if (!isActiveStatus(job.status)) continue;
    switch (job.job_type) {
      case 'interview_message':
        if (!found.interview && (!interviewId || job.interview_id === interviewId)) found.interview = job;
        continue;
      case 'backlog_generation':
        found.backlog ??= job;
        continue;
      case 'batch_execution':
        found.batch ??= job;
        continue;
      case 'project_provisioning':
        found.provisioning ??= job;
        continue;
      default:
        break;
    }
    const item = itemJobOf(job);
    if (item) {
      if (!found.items[item.itemId]) found.items[item.itemId] = { jobId: job.id, action: item.action };
    } else if (job.job_type === 'commit_generation') {
      found.manualCommit ??= job;
    }
  }
  return found;
}

/** The interview id remembered for a project in this browser. */
export function rememberedInterview(projectId: string): string | null {
  try {
    return globalThis.localStorage?.getItem(`orbit.interview.${projectId}`) || null;
  } catch {
    return null;
  }
}

export function rememberInterview(projectId: string, interviewId: string): void {
  try {
    globalThis.localStorage?.setItem(`orbit.interview.${projectId}`, interviewId);
  } catch {
    // storage unavailable: the interview is found again from the project's jobs
  }
}

/** Forget the remembered interview (e.g. the server no longer has it). */
export function forgetInterview(projectId: string): void {
  try {
    globalThis.localStorage?.removeItem(`orbit.interview.${projectId}`);
  } catch {
    // storage unavailable: nothing to forget
  }
}
