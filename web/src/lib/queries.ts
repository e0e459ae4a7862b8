/**
 * REST reads through TanStack Query, and the job stream written into its cache.
 *
 * - `createQueryClient()` is built by `App` (never at import): reads are deduplicated and
 *   cached across routes; `refetchInterval` pauses in hidden tabs (TanStack's default).
 * - `jobKeys` names every cached read of jobs, so an action or an event updates them all.
 * - `useJobStream(jobId)` follows one job's SSE log from its first event: each event is
 *   appended to the job's timeline and folded into the cached job; the final read comes
 *   from the server when the stream ends. If streaming is impossible the job is polled.
 */
import { QueryClient, queryOptions, replaceEqualDeep, useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { jobsApi } from './api';
import { call, api } from './client';
import { isTransientError } from './errors';
import { subscribeJobEvents, type EventSourceConstructor } from './events';
import type { Job, JobEvent, JobList, JobListParams, JobStatsParams } from './types';

const MAX_RETRIES = 3;

export function createQueryClient(): QueryClient {
  return new QueryClient({
    defaultOptions: {
      queries: {
        staleTime: 1000,
        // Only what may succeed when repeated unchanged: 5xx, 408, 429, network errors.
        retry: (failures, error) => failures < MAX_RETRIES && isTransientError(error),
      },
    },
  });
}

export const jobKeys = {
  all: ['jobs'] as const,
  lists: ['jobs', 'list'] as const,
  allStats: ['jobs', 'stats'] as const,
  list: (params: JobListParams) => ['jobs', 'list', params] as const,
  stats: (params: JobStatsParams) => ['jobs', 'stats', params] as const,
  detail: (jobId: string) => ['jobs', 'detail', jobId] as const,
  children: (jobId: string) => ['jobs', 'children', jobId] as const,
  timeline: (jobId: string) => ['jobs', 'timeline', jobId] as const,
};

export function jobQuery(jobId: string) {
  return queryOptions({
    queryKey: jobKeys.detail(jobId),
    queryFn: ({ signal }) =>
      call(api().GET('/api/v1/jobs/{job_id}', { params: { path: { job_id: jobId } }, signal })) as Promise<Job>,
  });
}

export function jobChildrenQuery(jobId: string) {
  return queryOptions({
    queryKey: jobKeys.children(jobId),
    queryFn: ({ signal }) =>
      call(api().GET('/api/v1/jobs', { params: { query: { parent_id: jobId, limit: 100 } }, signal })) as Promise<JobList>,
  });
}

/**
 * A fresh read of a list, except for the jobs the cache already holds in a newer version
 * (an event folded in while the read was under way): a read never moves a job back.
 */
export function keepNewerJobs(previous: JobList | undefined, next: JobList): JobList {
  if (!previous) return next;
  const held = new Map(previous.items.map((job) => [job.id, job]));
  const items = next.items.map((job) => {
    const cached = held.get(job.id);
    return cached && cached.version > job.version ? cached : job;
  });
  return replaceEqualDeep(previous, { ...next, items });
}

/** `GET /jobs?…`: a page of jobs, newest first. */
export function jobListQuery(params: JobListParams) {
  return queryOptions({
    queryKey: jobKeys.list(params),
    queryFn: ({ signal }) => jobsApi.list(params, { signal }),
    structuralSharing: (previous, next) => keepNewerJobs(previous as JobList | undefined, next as JobList),
  });
}

/** `GET /jobs/stats?…`: how many jobs are in each status. */
export function jobStatsQuery(params: JobStatsParams) {
  return queryOptions({
    queryKey: jobKeys.stats(params),
    queryFn: ({ signal }) => jobsApi.stats(params, { signal }),
  });
}

/** `DELETE /jobs/{id}`: the job leaves every cached list at once. */
export async function deleteJob(client: QueryClient, jobId: string): Promise<void> {
  await jobsApi.delete(jobId);
  client.setQueriesData<JobList>({ queryKey: jobKeys.lists }, (list) =>
    list ? { ...list, items: list.items.filter((job) => job.id !== jobId) } : list,
  );
  client.removeQueries({ queryKey: jobKeys.detail(jobId) });
  void client.invalidateQueries({ queryKey: jobKeys.all });
}

/** `POST /jobs/{id}/cancel` or `/retry`; the answer (the job) replaces the cached one. */
export async function jobAction(client: QueryClient, jobId: string, action: 'cancel' | 'retry'): Promise<Job> {
  const params = { params: { path: { job_id: jobId } } };
  const job = (await call(
    action === 'cancel'
      ? api().POST('/api/v1/jobs/{job_id}/cancel', params)
      : api().POST('/api/v1/jobs/{job_id}/retry', params),
  )) as Job;
  client.setQueryData(jobKeys.detail(jobId), job);
  client.setQueriesData<JobList>({ queryKey: jobKeys.lists }, (list) =>
    list ? { ...list, items: list.items.map((j) => (j.id === jobId ? { ...j, ...job } : j)) } : list,
  );
  void client.invalidateQueries({ queryKey: jobKeys.all });
  return job;
}

/** The cached job with one stream event folded in (events older than it are ignored). */
export function applyEvent(job: Job | undefined, event: JobEvent): Job | undefined {
  if (event.type === 'snapshot') return event.data;
  if (!job || (event.id !== null && event.id <= job.version)) return job;
  const version = event.id ?? job.version;
  if (event.type === 'progress') {
    return { ...job, version, progress_percent: event.data.percent, progress_message: event.data.message };
  }
  if (event.type === 'status') {
    return { ...job, version, status: event.data.status, error: event.data.error ?? job.error };
  }
  return job;
}

export type StreamMode = 'streaming' | 'polling' | 'ended';

export interface JobStreamOptions {
  EventSource?: EventSourceConstructor | null;
}

/**
 * Follow `jobId`'s events into the query cache (timeline + job) while mounted; one SSE
 * connection per job page; a new `epoch` (after a retry) follows the job again. Returns
 * how the job is being followed.
 */
export function useJobStream(jobId: string, epoch = 0, options: JobStreamOptions = {}): StreamMode {
  const client = useQueryClient();
  const [mode, setMode] = useState<StreamMode>('streaming');
  const Source = options.EventSource;
  useEffect(() => {
    setMode('streaming');
    client.setQueryData<JobEvent[]>(jobKeys.timeline(jobId), []);
    const subscription = subscribeJobEvents(jobId, {
      lastEventId: 0, // the whole log: the timeline starts at the job's first event
      EventSource: Source,
      onOpen: () => setMode('streaming'),
      onEvent: (event) => {
        client.setQueryData<JobEvent[]>(jobKeys.timeline(jobId), (events = []) => [...events, event]);
        client.setQueryData<Job>(jobKeys.detail(jobId), (job) => applyEvent(job, event));
        if (event.type === 'status') void client.invalidateQueries({ queryKey: jobKeys.children(jobId) });
      },
      onEnd: () => {
        setMode('ended');
        void client.invalidateQueries({ queryKey: jobKeys.detail(jobId) }); // result and all
        void client.invalidateQueries({ queryKey: jobKeys.children(jobId) });
      },
      onGiveUp: () => setMode('polling'),
    });
    return () => subscription.close();
  }, [client, jobId, Source, epoch]);
  return mode;
}
