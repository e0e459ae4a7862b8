/**
 * The dashboard's one connection: `GET /api/v1/events` (the status and progress of every
 * job, or of a project's, of a type) written into the TanStack Query cache.
 *
 * Each `progress` or `status` event is folded into every cached list of jobs and into the
 * job's own cached read, when it is newer than what they hold (`seq` > `version`). A
 * `status` event may also change which jobs a list holds and the counts by status, so the
 * lists and counts are read again (at most once per `refreshMs`). Resumes after a failure
 * with `?after=` the last id; when the stream cannot be had, the caller polls instead.
 */
import { useQueryClient, type QueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';

import { allEventsUrl, subscribeEvents, type AllEventsFilter, type EventSourceConstructor } from './events';
import { applyEvent, jobKeys, type StreamMode } from './queries';
import type { Job, JobEvent, JobList } from './types';

/** A job-wide event as the stream sends it: the job's own event plus `job_id` and `seq`. */
interface StreamedJobEvent {
  job_id?: unknown;
  seq?: unknown;
}

/** The job's own event (`id` = its `seq`) of a jobs-wide event, or null if it is not one. */
export function jobEventOf(event: JobEvent): { jobId: string; event: JobEvent } | null {
  if (event.type !== 'progress' && event.type !== 'status') return null;
  const data = event.data as StreamedJobEvent;
  if (typeof data.job_id !== 'string' || typeof data.seq !== 'number') return null;
  return { jobId: data.job_id, event: { ...event, id: data.seq } as JobEvent };
}

/** Fold one jobs-wide event into the cache; true when the lists should be read again. */
export function writeJobEvent(client: QueryClient, streamed: JobEvent): boolean {
  const found = jobEventOf(streamed);
  if (!found) return false;
  const { jobId, event } = found;
  const fold = (job: Job) => (job.id === jobId ? (applyEvent(job, event) ?? job) : job);
  client.setQueriesData<JobList>({ queryKey: jobKeys.lists }, (list) =>
    list ? { ...list, items: list.items.map(fold) } : list,
  );
  client.setQueryData<Job>(jobKeys.detail(jobId), (job) => applyEvent(job, event));
  return event.type === 'status';
}

export interface JobsStreamOptions {
  /** Default: the browser's `EventSource`; null: none (polling). */
  EventSource?: EventSourceConstructor | null;
  /** Lists and counts are read again at most this often after status events. Default 250. */
  refreshMs?: number;
}

/** Follow every job matching `filter` into the query cache while mounted. */
export function useJobsStream(filter: AllEventsFilter, options: JobsStreamOptions = {}): StreamMode {
  const client = useQueryClient();
  const [mode, setMode] = useState<StreamMode>('streaming');
  const { projectId = null, jobType = null } = filter;
  const { EventSource: Source, refreshMs = 250 } = options;
  useEffect(() => {
    setMode('streaming');
    let timer: ReturnType<typeof setTimeout> | undefined;
    const refresh = () => {
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        void client.invalidateQueries({ queryKey: jobKeys.lists });
        void client.invalidateQueries({ queryKey: jobKeys.allStats });
      }, refreshMs);
    };
    const subscription = subscribeEvents({
      url: (after) => allEventsUrl({ projectId, jobType }, after),
      EventSource: Source,
      onOpen: () => setMode('streaming'),
      onEvent: (event) => {
        if (writeJobEvent(client, event)) refresh();
      },
      onGiveUp: () => setMode('polling'),
    });
    return () => {
      subscription.close();
      if (timer !== undefined) clearTimeout(timer);
    };
  }, [client, projectId, jobType, Source, refreshMs]);
  return mode;
}
