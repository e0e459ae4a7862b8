import { useState } from 'react';

import { JobProgressView } from '../../components/JobTracker';
import { useTrackedJob } from '../../hooks/useTrackedJob';
import { isActiveStatus } from '../../lib/jobStatus';
import type { ItemAction, ItemJob } from '../../lib/projectJobs';
import type { BacklogItem, Job } from '../../lib/types';

export interface BacklogTreeProps {
  items: BacklogItem[];
  /** The job each item's own button started (or that was running at load). */
  itemJobs: Record<string, ItemJob>;
  /** The `batch_execution` child job of each task, by task id. */
  batchChildren: Record<string, Job>;
  /** Enqueue errors (problem details), by item id. */
  itemErrors: Record<string, string>;
  onAction: (item: BacklogItem, action: ItemAction) => Promise<void>;
  onJobFinish: (item: BacklogItem, action: ItemAction, job: Job) => void;
}

const EXECUTABLE = new Set(['task', 'subtask']);

const ACTION_LABEL: Record<ItemAction, string> = {
  activate: 'Activation',
  execute: 'Execution',
  commit: 'Commit message',
};

/** The backlog as a tree (epic → stories → tasks → subtasks) with per-item actions. */
export function BacklogTree(props: BacklogTreeProps) {
  return (
    <ul className="orbit-tree" data-testid="backlog-tree">
      {props.items.map((item) => (
        <BacklogNode key={item.id} item={item} {...props} />
      ))}
    </ul>
  );
}

function BacklogNode({ item, ...props }: BacklogTreeProps & { item: BacklogItem }) {
  return (
    <li className={`orbit-tree__node orbit-tree__node--${item.kind}`}>
      <ItemRow
        item={item}
        entry={props.itemJobs[item.id]}
        batchChild={props.batchChildren[item.id]}
        error={props.itemErrors[item.id]}
        onAction={props.onAction}
        onJobFinish={props.onJobFinish}
      />
      {item.children.length ? (
        <ul className="orbit-tree">
          {item.children.map((child) => (
            <BacklogNode key={child.id} {...props} item={child} />
          ))}
        </ul>
      ) : null}
    </li>
  );
}

interface ItemRowProps {
  item: BacklogItem;
  entry: ItemJob | undefined;
  batchChild: Job | undefined;
  error: string | undefined;
  onAction: BacklogTreeProps['onAction'];
  onJobFinish: BacklogTreeProps['onJobFinish'];
}

function ItemRow({ item, entry, batchChild, error, onAction, onJobFinish }: ItemRowProps) {
  const [starting, setStarting] = useState<ItemAction | null>(null);
  const tracked = useTrackedJob(entry?.jobId ?? null, {
    onFinish: (job) => {
      if (entry) onJobFinish(item, entry.action, job);
    },
  });
  const ownJob = entry && tracked.job?.id === entry.jobId ? tracked.job : null;
  const ownBusy = Boolean(entry) && (!ownJob || isActiveStatus(ownJob.status));
  const childBusy = Boolean(batchChild) && isActiveStatus(batchChild?.status);
  const busy = starting !== null || ownBusy || childBusy;
  const executable = EXECUTABLE.has(item.kind);

  const run = async (action: ItemAction) => {
    setStarting(action);
    try {
      await onAction(item, action);
    } finally {
      setStarting(null);
    }
  };

  return (
    <div
      className="orbit-item"
      data-testid="backlog-item"
      data-item-id={item.id}
      data-kind={item.kind}
      data-status={item.status}
      data-busy={busy ? 'true' : 'false'}
    >
      <div className="orbit-item__head">
        <span className={`orbit-kind orbit-kind--${item.kind}`}>{item.kind}</span>
        <span className="orbit-item__title" data-testid="backlog-item-title" title={item.description}>
          {item.title}
        </span>
        <span className={`orbit-badge orbit-badge--${item.status}`} data-testid="backlog-item-status">
          {item.status}
        </span>
        <span className="orbit-item__actions">
          {item.status === 'suggested' ? (
            <button type="button" onClick={() => void run('activate')} disabled={busy} data-testid="activate-button">
              {starting === 'activate' || (ownBusy && entry?.action === 'activate') ? 'Activating…' : 'Activate'}
            </button>
          ) : null}
          {executable && item.status === 'active' ? (
            <button type="button" onClick={() => void run('execute')} disabled={busy} data-testid="execute-button">
              {starting === 'execute' || (ownBusy && entry?.action === 'execute') || childBusy ? 'Executing…' : 'Execute'}
            </button>
          ) : null}
          {executable && item.status !== 'suggested' ? (
            <button type="button" onClick={() => void run('commit')} disabled={busy} data-testid="commit-button">
              {starting === 'commit' || (ownBusy && entry?.action === 'commit') ? 'Writing…' : 'Generate commit'}
            </button>
          ) : null}
        </span>
      </div>
      {entry ? (
        <JobProgressView
          jobId={entry.jobId}
          job={ownJob}
          testId="item-progress"
          label={`${ACTION_LABEL[entry.action]} of ${item.title}`}
          mode={tracked.mode}
        />
      ) : batchChild ? (
        <JobProgressView jobId={batchChild.id} job={batchChild} testId="item-progress" label={`Execution of ${item.title}`} />
      ) : null}
      {error ? (
        <p className="orbit-error" role="alert" data-testid="item-error">
          {error}
        </p>
      ) : null}
    </div>
  );
}
