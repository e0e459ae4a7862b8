import type { JobStatus, TerminalJobStatus } from './types';

export const TERMINAL_STATUSES: readonly TerminalJobStatus[] = ['completed', 'failed', 'cancelled'];
export const ACTIVE_STATUSES: readonly JobStatus[] = ['pending', 'running'];

/** True for `completed`, `failed` and `cancelled`: the job will not change any more by itself. */
export function isTerminalStatus(status: JobStatus | null | undefined): status is TerminalJobStatus {
  return status === 'completed' || status === 'failed' || status === 'cancelled';
}

/** True for `pending` and `running`. */
export function isActiveStatus(status: JobStatus | null | undefined): boolean {
  return status === 'pending' || status === 'running';
}
