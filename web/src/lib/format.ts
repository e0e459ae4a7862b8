/** Display helpers shared by the pages. */
import { ApiError } from './errors';

/** A user-facing sentence for an error: the problem's title and detail when the server sent one. */
export function describeError(error: unknown, fallback = 'Something went wrong'): string {
  if (error instanceof ApiError) return error.detail ? `${error.title}: ${error.detail}` : error.title;
  if (error instanceof Error && error.message) return error.message;
  return fallback;
}

export function formatTime(value: string | null | undefined): string {
  if (!value) return '';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString();
}

/** `850 ms`, `4.2 s`, `3 min 5 s`. */
export function formatDuration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const minutes = Math.floor(ms / 60_000);
  const seconds = Math.round((ms % 60_000) / 1000);
  return `${minutes} min ${seconds} s`;
}

/** `66.7 %`, or `—` for null. */
export function formatRate(rate: number | null): string {
  if (rate === null) return '—';
  return `${(Math.round(rate * 1000) / 10).toFixed(1)} %`;
}

/** `backlog_generation` → `backlog generation`. */
export function humanJobType(jobType: string): string {
  return jobType.replace(/_/g, ' ');
}
