import { act, fireEvent, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';

import { configureApi } from '../../lib/api';
import { resetSharedEventSource } from '../../lib/streams';
import { createFakeEventSource, createFakeFetch, jsonResponse, makeJob, problemResponse } from '../../test/fakes';
import { InterviewPanel } from './InterviewPanel';
import { renderWithClient } from '../../test/render';

async function flush(ms = 0) {
  await act(async () => {
    await vi.advanceTimersByTimeAsync(ms);
  });
}

const question = { id: 'm1', role: 'assistant', content: 'What should it do?', created_at: '2026-01-01T00:00:00Z' };
const answer = { id: 'm2', role: 'user', content: 'Share recipes', created_at: '2026-01-01T00:00:01Z' };
const reply = { id: 'm3', role: 'assistant', content: 'Who are the users?', created_at: '2026-01-01T00:00:01Z' };
const interview = (messages: unknown[]) => ({ id: 'i1', project_id: 'p1', messages });

function messages() {
  return screen.getAllByTestId('chat-message').map((el) => ({
    role: el.getAttribute('data-role'),
    streaming: el.getAttribute('data-streaming'),
    text: el.querySelector('.orbit-chat__text')?.textContent,
  }));
}

function send(text: string) {
  fireEvent.change(screen.getByTestId('chat-input'), { target: { value: text } });
  fireEvent.click(screen.getByTestId('chat-send'));
}

describe('InterviewPanel', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('streams the reply from token events, then shows the saved messages', async () => {
    const FakeES = createFakeEventSource();
    vi.stubGlobal('EventSource', FakeES);
    resetSharedEventSource();
    const fake = createFakeFetch();
    fake.on('GET /api/v1/interviews/i1', jsonResponse(interview([question])), jsonResponse(interview([question, answer, reply])));
    fake.on('POST /api/v1/interviews/i1/send-message-async', jsonResponse({ job_id: 'job-1', status: 'pending', message: 'queued' }, 202));
    fake.on(
      'GET /api/v1/jobs/job-1',
      jsonResponse(makeJob({ id: 'job-1', job_type: 'interview_message', status: 'running', progress_percent: 25, version: 3 })),
      jsonResponse(
        makeJob({
          id: 'job-1',
          job_type: 'interview_message',
          status: 'completed',
          progress_percent: 100,
          result: { success: true, message_id: 'm3', content: 'Who are the users?' },
        }),
      ),
    );
    configureApi({ fetch: fake.fetch });

    renderWithClient(<InterviewPanel projectId="p1" interviewId="i1" onInterviewId={() => {}} resumeJob={null} />);
    await flush();
    expect(messages()).toEqual([{ role: 'assistant', streaming: 'false', text: 'What should it do?' }]);

    send('Share recipes');
    await flush();
    expect(fake.callsTo('POST /api/v1/interviews/i1/send-message-async')[0]?.body).toEqual({ content: 'Share recipes' });
    expect((screen.getByTestId('chat-send') as HTMLButtonElement).disabled).toBe(true);

    // The reply job is read once, then its whole log is streamed (after=0): no token is lost.
    const es = FakeES.latest;
    expect(es.url).toContain('/api/v1/jobs/job-1/events');
    expect(es.after).toBe('0');
    es.open();
    es.emit('token', { text: 'Who are ', attempt: 1 }, 4);
    await flush();
    expect(messages().at(-1)).toEqual({ role: 'assistant', streaming: 'true', text: 'Who are ' });
    es.emit('token', { text: 'the users?', attempt: 1 }, 5);
    es.emit('token', { text: 'the users?', attempt: 1 }, 5); // a duplicate id is dropped
    await flush();
    expect(messages().at(-1)).toEqual({ role: 'assistant', streaming: 'true', text: 'Who are the users?' });
    expect(messages()[1]).toEqual({ role: 'user', streaming: 'false', text: 'Share recipes' });

    es.emit('status', { status: 'completed' }, 7);
    await flush();
    await flush();
    expect(messages()).toEqual([
      { role: 'assistant', streaming: 'false', text: 'What should it do?' },
      { role: 'user', streaming: 'false', text: 'Share recipes' },
      { role: 'assistant', streaming: 'false', text: 'Who are the users?' },
    ]);
    expect(screen.queryAllByTestId('chat-message').filter((el) => el.getAttribute('data-pending') === 'true')).toHaveLength(0);
    expect(fake.callsTo('GET /api/v1/interviews/i1')).toHaveLength(2);
    expect((screen.getByTestId('chat-send') as HTMLButtonElement).disabled).toBe(true); // empty draft
  });

  it('falls back to polling and shows the final result when there is no event stream', async () => {
    vi.stubGlobal('EventSource', undefined);
    resetSharedEventSource();
    const fake = createFakeFetch();
    fake.on(
      'GET /api/v1/interviews/i1',
      jsonResponse(interview([question])),
      problemResponse(503, 'Service Unavailable', 'database is restarting'),
    );
    fake.on('POST /api/v1/interviews/i1/send-message-async', jsonResponse({ job_id: 'job-2', status: 'pending', message: 'queued' }, 202));
    fake.on(
      'GET /api/v1/jobs/job-2',
      jsonResponse(makeJob({ id: 'job-2', status: 'running', progress_percent: 25, progress_message: 'Calling AI model...' })),
      jsonResponse(makeJob({ id: 'job-2', status: 'running', progress_percent: 25, progress_message: 'Calling AI model...' })),
      jsonResponse(
        makeJob({ id: 'job-2', status: 'completed', progress_percent: 100, result: { success: true, message_id: 'm3', content: 'Final answer.' } }),
      ),
    );
    configureApi({ fetch: fake.fetch });

    renderWithClient(<InterviewPanel projectId="p1" interviewId="i1" onInterviewId={() => {}} resumeJob={null} />);
    await flush();
    send('Share recipes');
    await flush();
    expect(screen.getByTestId('chat-progress').getAttribute('data-mode')).toBe('polling');
    expect(screen.getByText('Calling AI model...')).toBeTruthy();

    await flush(1000);
    await flush(1000);
    expect(messages().at(-1)).toEqual({ role: 'assistant', streaming: 'false', text: 'Final answer.' });
  });

  it('shows the problem detail and keeps the answer when sending fails', async () => {
    const fake = createFakeFetch();
    fake.on('GET /api/v1/interviews/i1', jsonResponse(interview([question])));
    fake.on('POST /api/v1/interviews/i1/send-message-async', problemResponse(422, 'Unprocessable Content', 'content must not be blank'));
    configureApi({ fetch: fake.fetch });

    renderWithClient(<InterviewPanel projectId="p1" interviewId="i1" onInterviewId={() => {}} resumeJob={null} />);
    await flush();
    send('   x');
    await flush();
    expect(screen.getByTestId('chat-error').textContent).toBe('Unprocessable Content: content must not be blank');
    expect((screen.getByTestId('chat-input') as HTMLTextAreaElement).value).toBe('x');
  });

  it('picks up a reply still being written when the page was reloaded', async () => {
    const FakeES = createFakeEventSource();
    vi.stubGlobal('EventSource', FakeES);
    resetSharedEventSource();
    const running = makeJob({
      id: 'job-3',
      job_type: 'interview_message',
      status: 'running',
      input_data: { interview_id: 'i1', message: 'Share recipes' },
    });
    const fake = createFakeFetch();
    fake.on('GET /api/v1/interviews/i1', jsonResponse(interview([question])));
    fake.on('GET /api/v1/jobs/job-3', jsonResponse(running));
    configureApi({ fetch: fake.fetch });

    renderWithClient(<InterviewPanel projectId="p1" interviewId="i1" onInterviewId={() => {}} resumeJob={running} />);
    await flush();
    FakeES.latest.emit('token', { text: 'Every token ', attempt: 1 }, 3);
    FakeES.latest.emit('token', { text: 'from the start', attempt: 1 }, 4);
    await flush();
    expect(messages().slice(1)).toEqual([
      { role: 'user', streaming: 'false', text: 'Share recipes' },
      { role: 'assistant', streaming: 'true', text: 'Every token from the start' },
    ]);
  });

  it('forgets a remembered interview the server no longer has', async () => {
    localStorage.setItem('orbit.interview.p1', 'gone');
    const fake = createFakeFetch();
    fake.on('GET /api/v1/interviews/gone', problemResponse(404, 'Not Found', 'interview gone not found'));
    configureApi({ fetch: fake.fetch });
    const onInterviewId = vi.fn();
    renderWithClient(<InterviewPanel projectId="p1" interviewId="gone" onInterviewId={onInterviewId} resumeJob={null} />);
    await flush();
    expect(onInterviewId).toHaveBeenCalledWith(null);
    expect(localStorage.getItem('orbit.interview.p1')).toBeNull();
    expect(screen.queryByTestId('chat-error')).toBeNull();
  });
  it('starts at once and streams the first question from its job as a pending assistant turn', async () => {
    const FakeES = createFakeEventSource();
    vi.stubGlobal('EventSource', FakeES);
    resetSharedEventSource();
    const pending = { job_id: 'job-0', status: 'pending', error: null };
    const fake = createFakeFetch();
    fake.on('POST /api/v1/interviews', jsonResponse({ ...interview([]), job_id: 'job-0', pending_turn: pending }, 201));
    fake.on(
      'GET /api/v1/interviews/i1',
      jsonResponse({ ...interview([]), pending_turn: pending }),
      jsonResponse({ ...interview([question]), pending_turn: null }),
    );
    fake.on(
      'GET /api/v1/jobs/job-0',
      jsonResponse(makeJob({ id: 'job-0', job_type: 'interview_message', status: 'running', input_data: { interview_id: 'i1' } })),
      jsonResponse(
        makeJob({
          id: 'job-0',
          job_type: 'interview_message',
          status: 'completed',
          result: { success: true, message_id: 'm1', content: 'What should it do?' },
        }),
      ),
    );
    configureApi({ fetch: fake.fetch });
    const onInterviewId = vi.fn();

    const view = renderWithClient(<InterviewPanel projectId="p1" interviewId={null} onInterviewId={onInterviewId} resumeJob={null} />);
    fireEvent.click(screen.getByTestId('start-interview'));
    await flush();
    expect(onInterviewId).toHaveBeenCalledWith('i1');
    view.rerender(<InterviewPanel projectId="p1" interviewId="i1" onInterviewId={onInterviewId} resumeJob={null} />);
    await flush();
    // Nothing to answer yet: one pending assistant turn, no user turn, sending disabled.
    const [opening] = screen.getAllByTestId('chat-message');
    expect(screen.getAllByTestId('chat-message')).toHaveLength(1);
    expect(opening?.getAttribute('data-role')).toBe('assistant');
    expect(opening?.getAttribute('data-pending')).toBe('true');
    fireEvent.change(screen.getByTestId('chat-input'), { target: { value: 'too early' } });
    expect((screen.getByTestId('chat-send') as HTMLButtonElement).disabled).toBe(true);

    const es = FakeES.latest;
    expect(es.url).toContain('/api/v1/jobs/job-0/events');
    es.open();
    es.emit('token', { text: 'What should ', attempt: 1 }, 3);
    es.emit('token', { text: 'it do?', attempt: 1 }, 4);
    await flush();
    expect(messages()).toEqual([{ role: 'assistant', streaming: 'true', text: 'What should it do?' }]);
    es.emit('status', { status: 'completed' }, 6);
    await flush();
    await flush();
    expect(messages()).toEqual([{ role: 'assistant', streaming: 'false', text: 'What should it do?' }]);
    expect(screen.getAllByTestId('chat-message')[0]?.getAttribute('data-pending')).toBe('false');
  });

  it('shows why the first question could not be asked', async () => {
    const fake = createFakeFetch();
    fake.on(
      'GET /api/v1/interviews/i1',
      jsonResponse({ ...interview([]), pending_turn: { job_id: 'job-9', status: 'failed', error: 'AI API call failed: HTTP 401' } }),
    );
    fake.on('GET /api/v1/jobs/job-9', jsonResponse(makeJob({ id: 'job-9', status: 'failed', error: 'AI API call failed: HTTP 401' })));
    configureApi({ fetch: fake.fetch });
    renderWithClient(<InterviewPanel projectId="p1" interviewId="i1" onInterviewId={() => {}} resumeJob={null} />);
    await flush();
    expect(screen.getByTestId('chat-error').textContent).toBe('AI API call failed: HTTP 401');
    expect(screen.queryAllByTestId('chat-message')).toHaveLength(0);
  });
});
