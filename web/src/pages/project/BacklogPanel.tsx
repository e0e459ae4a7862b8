import { useQuery, useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useMemo, useState } from 'react';

import { JobProgressView } from '../../components/JobTracker';
import { PAGE_POLL_MS, useTrackedJob } from '../../hooks/useTrackedJob';
import { commitsApi, interviewsApi, tasksApi } from '../../lib/api';
import { jobKeys, jobListQuery } from '../../lib/queries';
import { describeError } from '../../lib/format';
import { isActiveStatus, isTerminalStatus } from '../../lib/jobStatus';
import type { ItemAction, ItemJob, ProjectJobs } from '../../lib/projectJobs';
import type { BacklogGenerationResult, BacklogItem, Job } from '../../lib/types';
import { BacklogTree } from './BacklogTree';

export interface BacklogPanelProps {
  projectId: string;
  interviewId: string | null;
  backlog: BacklogItem[] | null;
  backlogError: string | null;
  /** Reload the backlog tree. */
  onBacklogChanged: () => void;
  /** Reload the commits list. */
  onCommitted: () => void;
  /** Jobs found running when the page loaded. */
  resume: ProjectJobs | null;
}

function summarise(result: unknown): string | null {
  if (!result || typeof result !== 'object') return null;
  const r = result as Partial<BacklogGenerationResult>;
  const epic = r.epic_created?.title ? `epic “${r.epic_created.title}”` : 'an epic';
  return `Created ${epic}, ${r.stories_created ?? 0} stories and ${r.tasks_created ?? 0} tasks.`;
}

const childrenParams = (parentId: string) => ({ parent_id: parentId, limit: 200 });

/** True while `jobId` is set and its job is not known to be finished. */
function isRunning(jobId: string | null, job: Job | null): boolean {
  if (!jobId) return false;
  if (!job || job.id !== jobId) return true;
  return isActiveStatus(job.status);
}

/** "Generate backlog", the backlog tree with per-item actions, and "Execute all". */
export function BacklogPanel(props: BacklogPanelProps) {
  const client = useQueryClient();
  const { projectId, interviewId, backlog, backlogError, onBacklogChanged, onCommitted, resume } = props;

  // -- backlog generation ----------------------------------------------------------------
  const [genJobId, setGenJobId] = useState<string | null>(null);
  const [genStarting, setGenStarting] = useState(false);
  const [genError, setGenError] = useState<string | null>(null);
  const [genSummary, setGenSummary] = useState<string | null>(null);
  const gen = useTrackedJob(genJobId, {
    onFinish: (job) => {
      if (job.status === 'completed') setGenSummary(summarise(job.result));
      onBacklogChanged();
    },
  });
  const genBusy = genStarting || isRunning(genJobId, gen.job);

  const generate = async () => {
    if (!interviewId) return;
    setGenStarting(true);
    setGenError(null);
    setGenSummary(null);
    try {
      const accepted = await interviewsApi.generatePromptsAsync(interviewId);
      setGenJobId(accepted.job_id);
    } catch (err) {
      setGenError(describeError(err, 'Could not start the backlog generation'));
    } finally {
      setGenStarting(false);
    }
  };

  // -- execute all -------------------------------------------------------------------------
  const [batchJobId, setBatchJobId] = useState<string | null>(null);
  const [batchStarting, setBatchStarting] = useState(false);
  const [batchError, setBatchError] = useState<string | null>(null);

  const batch = useTrackedJob(batchJobId, {
    onFinish: (job) => {
      void client.invalidateQueries({ queryKey: jobKeys.list(childrenParams(job.id)) });
      onBacklogChanged();
    },
  });
  const batchBusy = batchStarting || isRunning(batchJobId, batch.job);
  // The batch's child jobs, read again every second while it runs.
  const childrenRead = useQuery({
    ...jobListQuery(childrenParams(batchJobId ?? '')),
    enabled: Boolean(batchJobId),
    refetchInterval: batchBusy ? PAGE_POLL_MS : false,
  });
  const children = useMemo(() => (batchJobId ? (childrenRead.data?.items ?? []) : []), [batchJobId, childrenRead.data]);

  const executeAll = async () => {
    setBatchStarting(true);
    setBatchError(null);
    try {
      const accepted = await tasksApi.executeAll(projectId);
      setBatchJobId(accepted.job_id);
    } catch (err) {
      setBatchError(describeError(err, 'Could not start the execution'));
    } finally {
      setBatchStarting(false);
    }
  };

  const batchChildren = useMemo(() => {
    const byTask: Record<string, Job> = {};
    for (const child of children) {
      const taskId = child.input_data?.task_id;
      if (typeof taskId === 'string') byTask[taskId] = child;
    }
    return byTask;
  }, [children]);
  const childrenDone = children.filter((child) => isTerminalStatus(child.status)).length;

  // -- per-item jobs -----------------------------------------------------------------------
  const [itemJobs, setItemJobs] = useState<Record<string, ItemJob>>({});
  const [itemErrors, setItemErrors] = useState<Record<string, string>>({});

  const onAction = useCallback(async (item: BacklogItem, action: ItemAction) => {
    setItemErrors(({ [item.id]: _dropped, ...rest }) => rest);
    try {
      const accepted =
        action === 'activate'
          ? await tasksApi.activate(item.id)
          : action === 'execute'
            ? await tasksApi.execute(item.id)
            : await commitsApi.autoGenerate(item.id);
      setItemJobs((jobs) => ({ ...jobs, [item.id]: { jobId: accepted.job_id, action } }));
    } catch (err) {
      setItemErrors((errors) => ({ ...errors, [item.id]: describeError(err) }));
    }
  }, []);

  const onJobFinish = useCallback(
    (_item: BacklogItem, action: ItemAction, job: Job) => {
      if (action === 'commit') {
        if (job.status === 'completed') onCommitted();
      } else {
        onBacklogChanged();
      }
    },
    [onBacklogChanged, onCommitted],
  );

  // -- jobs found running at load ----------------------------------------------------------
  useEffect(() => {
    if (!resume) return;
    if (resume.backlog) setGenJobId((current) => current ?? resume.backlog?.id ?? null);
    if (resume.batch) setBatchJobId((current) => current ?? resume.batch?.id ?? null);
    if (Object.keys(resume.items).length) setItemJobs((jobs) => ({ ...resume.items, ...jobs }));
  }, [resume]);

  const hasBacklog = Boolean(backlog && backlog.length);

  return (
    <section className="orbit-card" aria-labelledby="backlog-title" data-testid="backlog-panel">
      <div className="orbit-card__toolbar">
        <h2 id="backlog-title">Backlog</h2>
        <span className="orbit-card__actions">
          <button
            type="button"
            className="orbit-button--primary"
            onClick={() => void generate()}
            disabled={!interviewId || genBusy}
            title={interviewId ? undefined : 'Start the interview first'}
            data-testid="generate-backlog"
          >
            {genBusy ? 'Generating…' : 'Generate backlog'}
          </button>
          <button type="button" onClick={() => void executeAll()} disabled={batchBusy || !hasBacklog} data-testid="execute-all">
            {batchBusy ? 'Executing…' : 'Execute all'}
          </button>
        </span>
      </div>

      {genJobId ? (
        <JobProgressView
          jobId={genJobId}
          job={gen.job && gen.job.id === genJobId ? gen.job : null}
          testId="backlog-progress"
          label="Backlog generation"
          mode={gen.mode}
        />
      ) : null}
      {genSummary ? (
        <p className="orbit-success" data-testid="backlog-summary">
          {genSummary}
        </p>
      ) : null}
      {genError ? (
        <p className="orbit-error" role="alert" data-testid="backlog-error">
          {genError}
        </p>
      ) : null}

      {batchJobId ? (
        <JobProgressView
          jobId={batchJobId}
          job={batch.job && batch.job.id === batchJobId ? batch.job : null}
          testId="execute-all-progress"
          label="Execute all"
          mode={batch.mode}
        >
          {children.length ? (
            <p className="orbit-muted" data-testid="execute-all-count">
              {childrenDone}/{children.length} tasks finished
            </p>
          ) : null}
        </JobProgressView>
      ) : null}
      {batchError ? (
        <p className="orbit-error" role="alert" data-testid="execute-all-error">
          {batchError}
        </p>
      ) : null}

      {backlogError ? (
        <p className="orbit-error" role="alert">
          {backlogError}
        </p>
      ) : null}
      {backlog && backlog.length === 0 && !genBusy ? (
        <p className="orbit-muted" data-testid="backlog-empty">
          No backlog yet. Answer the interview, then generate it.
        </p>
      ) : null}
      {backlog && backlog.length ? (
        <BacklogTree
          items={backlog}
          itemJobs={itemJobs}
          batchChildren={batchChildren}
          itemErrors={itemErrors}
          onAction={onAction}
          onJobFinish={onJobFinish}
        />
      ) : null}
    </section>
  );
}
