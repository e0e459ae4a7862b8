import { useQuery } from '@tanstack/react-query';
import { useState } from 'react';

import { JobTracker } from '../../components/JobTracker';
import { projectsApi } from '../../lib/api';
import { stacksQuery } from '../../lib/projectQueries';
import { describeError } from '../../lib/format';
import type { Job } from '../../lib/types';

export interface ProvisionPanelProps {
  projectId: string;
  /** A `project_provisioning` job still running when the page loaded. */
  resumeJob: Job | null;
}

function workspacePath(result: unknown): string | null {
  if (!result || typeof result !== 'object') return null;
  const workspace = (result as { workspace?: { path?: unknown } }).workspace;
  return typeof workspace?.path === 'string' ? workspace.path : null;
}

/** Provision the project's workspace with a stack (`provision-async`). */
export function ProvisionPanel({ projectId, resumeJob }: ProvisionPanelProps) {
  const [chosen, setStack] = useState('');
  const [jobId, setJobId] = useState<string | null>(resumeJob?.id ?? null);
  const [running, setRunning] = useState(Boolean(resumeJob));
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);

  if (resumeJob && !jobId) {
    setJobId(resumeJob.id);
    setRunning(true);
  }

  const stacksRead = useQuery(stacksQuery());
  const stacks = stacksRead.data ?? null;
  const stack = chosen || stacks?.[0]?.id || '';
  const loadError = stacksRead.error ? describeError(stacksRead.error, 'Could not load the stacks') : null;

  const provision = async () => {
    if (!stack || running) return;
    setRunning(true);
    setError(null);
    setDone(null);
    try {
      const accepted = await projectsApi.provisionAsync(projectId, { stack });
      setJobId(accepted.job_id);
    } catch (err) {
      setError(describeError(err, 'Could not start provisioning'));
      setRunning(false);
    }
  };

  const onFinish = (job: Job) => {
    setRunning(false);
    if (job.status === 'completed') {
      const path = workspacePath(job.result);
      setDone(path ? `Workspace ready at ${path}` : 'Workspace ready.');
    }
  };

  return (
    <section className="orbit-card" aria-labelledby="provision-title" data-testid="provision-panel">
      <h2 id="provision-title">Workspace</h2>
      <div className="orbit-inline">
        <select
          value={stack}
          onChange={(event) => setStack(event.target.value)}
          aria-label="Stack"
          disabled={!stacks?.length}
          data-testid="stack-select"
        >
          {stacks?.map((s) => (
            <option key={s.id} value={s.id} title={s.description}>
              {s.name}
            </option>
          ))}
        </select>
        <button type="button" onClick={() => void provision()} disabled={running || !stack} data-testid="provision-button">
          {running ? 'Provisioning…' : 'Provision'}
        </button>
      </div>
      {jobId ? <JobTracker jobId={jobId} testId="provision-progress" label="Provisioning" onFinish={onFinish} /> : null}
      {done ? (
        <p className="orbit-success" data-testid="provision-result">
          {done}
        </p>
      ) : null}
      {error || loadError ? (
        <p className="orbit-error" role="alert" data-testid="provision-error">
          {error ?? loadError}
        </p>
      ) : null}
    </section>
  );
}
