// Public surface of the Orbit web client library.
export * from './lib/types';
export * from './lib/api';
export * from './lib/events';
export * from './lib/jobStatus';
export { ApiError, JobError, PollTimeoutError, isTransientError } from './lib/errors';
export { watchJob } from './lib/poller';
export type { JobWatcher, WatchJobOptions, GetJob } from './lib/poller';
export { useJobPolling } from './hooks/useJobPolling';
export type { UseJobPollingResult } from './hooks/useJobPolling';
export { useJob } from './hooks/useJob';
export type { UseJobOptions, UseJobResult, JobTransport } from './hooks/useJob';
export { ProgressBar } from './components/ProgressBar';
export type { ProgressBarProps } from './components/ProgressBar';
export { JobsDashboard } from './components/JobsDashboard';
