import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState, type FormEvent, type KeyboardEvent } from 'react';

import { JobProgressView } from '../../components/JobTracker';
import { useTrackedJob } from '../../hooks/useTrackedJob';
import { ApiError, interviewsApi } from '../../lib/api';
import { interviewQuery } from '../../lib/projectQueries';
import { chatEntries, newTurn, withToken, type PendingTurn } from '../../lib/chat';
import { describeError } from '../../lib/format';
import { forgetInterview, rememberInterview } from '../../lib/projectJobs';
import type { Interview, InterviewMessageResult, Job } from '../../lib/types';

export interface InterviewPanelProps {
  projectId: string;
  interviewId: string | null;
  /** A new interview was started, or (null) the remembered one no longer exists. */
  onInterviewId: (interviewId: string | null) => void;
  /** An `interview_message` job still running when the page loaded. */
  resumeJob: Job | null;
}

function resumedTurn(job: Job | null): PendingTurn | null {
  if (!job) return null;
  // No message: the job is asking the interview's first question.
  const content = job.input_data?.message ?? job.input_data?.content;
  return newTurn(typeof content === 'string' ? content : '', job.id);
}

/** The first question's job, as the loaded interview reports it (`pending_turn`). */
function openingTurn(interview: Interview): PendingTurn | null {
  const pending = interview.pending_turn;
  if (!pending || interview.messages.length > 0) return null;
  const turn = newTurn('', pending.job_id);
  if (pending.status === 'failed' || pending.status === 'cancelled') {
    return { ...turn, state: 'failed', error: pending.error ?? `The first question's job was ${pending.status}.` };
  }
  return turn;
}

/**
 * The interview as a chat: answers go out with `send-message-async`; the reply streams in
 * from the job's `token` events and is replaced by the saved message when the job is done
 * (or, without a stream, appears from the job's result). The first question arrives the
 * same way, from the job `POST /interviews` started.
 */
export function InterviewPanel({ projectId, interviewId, onInterviewId, resumeJob }: InterviewPanelProps) {
  const client = useQueryClient();
  const [interview, setInterview] = useState<Interview | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  const [turn, setTurn] = useState<PendingTurn | null>(() => resumedTurn(resumeJob));
  const [draft, setDraft] = useState('');
  const listRef = useRef<HTMLOListElement>(null);

  useEffect(() => {
    if (resumeJob) setTurn((current) => current ?? resumedTurn(resumeJob));
  }, [resumeJob]);

  const load = useCallback(async (id: string) => {
    try {
      // Through the cache (one read however many callers), always fresh.
      const loaded = await client.fetchQuery({ ...interviewQuery(id), staleTime: 0 });
      setInterview(loaded);
      setLoadError(null);
      const opening = openingTurn(loaded);
      if (opening) setTurn((current) => current ?? opening);
      return loaded;
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) {
        // Remembered from an earlier database: offer to start a new interview instead.
        forgetInterview(projectId);
        onInterviewId(null);
        return null;
      }
      setLoadError(describeError(err, 'Could not load the interview'));
      return null;
    }
  }, [client, projectId, onInterviewId]);

  useEffect(() => {
    if (interviewId) void load(interviewId);
  }, [interviewId, load]);

  const onFinish = useCallback(
    (job: Job) => {
      if (job.status === 'completed') {
        const result = (job.result ?? {}) as Partial<InterviewMessageResult>;
        setTurn((current) =>
          current && current.jobId === job.id
            ? {
                ...current,
                state: 'done',
                finalContent: typeof result.content === 'string' ? result.content : current.reply.text,
                messageId: result.message_id ?? null,
              }
            : current,
        );
        if (interviewId) {
          void load(interviewId).then((loaded) => {
            if (loaded && (!result.message_id || loaded.messages.some((m) => m.id === result.message_id))) {
              setTurn((current) => (current && current.jobId === job.id ? null : current));
            }
          });
        }
      } else {
        setTurn((current) =>
          current && current.jobId === job.id
            ? { ...current, state: 'failed', error: job.error ?? `The reply job was ${job.status}.` }
            : current,
        );
      }
    },
    [interviewId, load],
  );

  const onToken = useCallback((_text: string, data: { text: string; attempt?: number }) => {
    setTurn((current) => (current ? withToken(current, data) : current));
  }, []);

  const tracked = useTrackedJob(turn?.jobId ?? null, { onFinish, onToken, replay: true });
  const busy = turn !== null && turn.state !== 'done' && turn.state !== 'failed';

  const entries = chatEntries(interview?.messages ?? [], turn);
  const lastText = entries[entries.length - 1]?.content;
  useEffect(() => {
    const list = listRef.current;
    if (list) list.scrollTop = list.scrollHeight;
  }, [entries.length, lastText]);

  const start = async () => {
    setStarting(true);
    setLoadError(null);
    try {
      // 201 at once: the first question comes from a job, streamed like every reply.
      const created = await interviewsApi.create(projectId);
      rememberInterview(projectId, created.id);
      setInterview(created);
      setTurn(newTurn('', created.job_id));
      onInterviewId(created.id);
    } catch (err) {
      setLoadError(describeError(err, 'Could not start the interview'));
    } finally {
      setStarting(false);
    }
  };

  const send = async (event?: FormEvent) => {
    event?.preventDefault();
    const content = draft.trim();
    if (!content || busy || !interviewId) return;
    setDraft('');
    setTurn(newTurn(content));
    try {
      const accepted = await interviewsApi.sendMessageAsync(interviewId, { content });
      setTurn((current) => (current && current.jobId === null ? { ...current, jobId: accepted.job_id, state: 'waiting' } : current));
    } catch (err) {
      setTurn((current) => (current ? { ...current, state: 'failed', error: describeError(err) } : current));
      setDraft(content);
    }
  };

  const onKeyDown = (event: KeyboardEvent<HTMLTextAreaElement>) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) void send();
  };

  if (!interviewId) {
    return (
      <section className="orbit-card" aria-labelledby="interview-title" data-testid="interview-panel">
        <h2 id="interview-title">Interview</h2>
        <p className="orbit-muted">The AI asks about the project; your answers shape the backlog.</p>
        <button type="button" className="orbit-button--primary" onClick={() => void start()} disabled={starting} data-testid="start-interview">
          {starting ? 'Starting…' : 'Start interview'}
        </button>
        {loadError ? (
          <p className="orbit-error" role="alert" data-testid="chat-error">
            {loadError}
          </p>
        ) : null}
      </section>
    );
  }

  return (
    <section className="orbit-card orbit-chat" aria-labelledby="interview-title" data-testid="interview-panel">
      <h2 id="interview-title">Interview</h2>
      <ol className="orbit-chat__messages" ref={listRef} data-testid="chat-messages" aria-live="polite">
        {entries.map((entry) => (
          <li
            key={entry.key}
            className={`orbit-chat__message orbit-chat__message--${entry.role}${entry.pending ? ' orbit-chat__message--pending' : ''}`}
            data-testid="chat-message"
            data-role={entry.role}
            data-streaming={entry.streaming ? 'true' : 'false'}
            data-pending={entry.pending ? 'true' : 'false'}
          >
            <span className="orbit-chat__role">{entry.role === 'user' ? 'You' : 'Orbit'}</span>
            <p className="orbit-chat__text">
              {entry.content}
              {entry.streaming ? <span className="orbit-chat__cursor" aria-hidden="true" /> : null}
            </p>
          </li>
        ))}
      </ol>
      {turn?.jobId && turn.state !== 'done' ? (
        <JobProgressView
          jobId={turn.jobId}
          job={tracked.job && tracked.job.id === turn.jobId ? tracked.job : null}
          testId="chat-progress"
          label="Reply progress"
          mode={tracked.mode}
        />
      ) : null}
      {turn?.state === 'failed' ? (
        <p className="orbit-error" role="alert" data-testid="chat-error">
          {turn.error}
        </p>
      ) : null}
      {loadError ? (
        <p className="orbit-error" role="alert" data-testid="chat-error">
          {loadError}
        </p>
      ) : null}
      <form className="orbit-chat__form" onSubmit={(event) => void send(event)}>
        <textarea
          value={draft}
          onChange={(event) => setDraft(event.target.value)}
          onKeyDown={onKeyDown}
          rows={3}
          placeholder="Your answer (Ctrl+Enter sends)"
          aria-label="Your answer"
          data-testid="chat-input"
        />
        <button type="submit" className="orbit-button--primary" disabled={busy || !draft.trim()} data-testid="chat-send">
          {busy ? 'Waiting for reply…' : 'Send'}
        </button>
      </form>
    </section>
  );
}
