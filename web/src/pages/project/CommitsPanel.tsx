import { useState, type FormEvent } from 'react';

import { JobTracker } from '../../components/JobTracker';
import { commitsApi } from '../../lib/api';
import { describeError, formatTime } from '../../lib/format';
import type { Commit, Job } from '../../lib/types';

export interface CommitsPanelProps {
  projectId: string;
  commits: Commit[] | null;
  error: string | null;
  onCommitted: () => void;
  /** A manual `commit_generation` job still running when the page loaded. */
  resumeJob: Job | null;
}

/** The project's commit messages, and a form to write one for a described change. */
export function CommitsPanel({ projectId, commits, error, onCommitted, resumeJob }: CommitsPanelProps) {
  const [description, setDescription] = useState('');
  const [diff, setDiff] = useState('');
  const [jobId, setJobId] = useState<string | null>(resumeJob?.id ?? null);
  const [running, setRunning] = useState(Boolean(resumeJob));
  const [formError, setFormError] = useState<string | null>(null);

  if (resumeJob && !jobId) {
    setJobId(resumeJob.id);
    setRunning(true);
  }

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (!description.trim() || running) return;
    setRunning(true);
    setFormError(null);
    try {
      const accepted = await commitsApi.generateManual(projectId, {
        description: description.trim(),
        ...(diff.trim() ? { diff } : {}),
      });
      setJobId(accepted.job_id);
    } catch (err) {
      setFormError(describeError(err, 'Could not start the commit message'));
      setRunning(false);
    }
  };

  const onFinish = (job: Job) => {
    setRunning(false);
    if (job.status === 'completed') {
      setDescription('');
      setDiff('');
      onCommitted();
    }
  };

  return (
    <section className="orbit-card" aria-labelledby="commits-title" data-testid="commits-panel">
      <h2 id="commits-title">Commits</h2>
      {error ? (
        <p className="orbit-error" role="alert">
          {error}
        </p>
      ) : null}
      {commits && commits.length === 0 ? (
        <p className="orbit-muted" data-testid="commits-empty">
          No commit messages yet: execute a task and use “Generate commit”, or describe a change below.
        </p>
      ) : null}
      <ul className="orbit-commits" data-testid="commits-list">
        {commits?.map((commit) => (
          <li key={commit.id} className="orbit-commit" data-testid="commit-item" data-item-id={commit.item_id ?? ''}>
            <code className="orbit-commit__message">{commit.message}</code>
            {commit.body ? <pre className="orbit-commit__body">{commit.body}</pre> : null}
            <span className="orbit-list__meta">{formatTime(commit.created_at)}</span>
          </li>
        ))}
      </ul>
      <form className="orbit-form" onSubmit={(event) => void submit(event)}>
        <label>
          Describe a change
          <input
            value={description}
            onChange={(event) => setDescription(event.target.value)}
            placeholder="e.g. fix the login redirect"
            data-testid="manual-commit-description"
          />
        </label>
        <label>
          Diff (optional)
          <textarea value={diff} onChange={(event) => setDiff(event.target.value)} rows={2} data-testid="manual-commit-diff" />
        </label>
        <div className="orbit-form__actions">
          <button type="submit" disabled={running || !description.trim()} data-testid="manual-commit-submit">
            {running ? 'Writing…' : 'Write commit message'}
          </button>
        </div>
      </form>
      {jobId ? (
        <JobTracker jobId={jobId} testId="manual-commit-progress" label="Commit message" onFinish={onFinish} />
      ) : null}
      {formError ? (
        <p className="orbit-error" role="alert" data-testid="manual-commit-error">
          {formError}
        </p>
      ) : null}
    </section>
  );
}
