import { describe, expect, it } from 'vitest';

import { EMPTY_REPLY, appendToken, chatEntries, newTurn, withToken } from './chat';
import type { InterviewMessage } from './types';

const saved: InterviewMessage[] = [
  { id: 'm1', role: 'assistant', content: 'What should it do?', created_at: '2026-01-01T00:00:00Z' },
];

describe('appendToken', () => {
  it('concatenates the batches of one attempt', () => {
    let reply = EMPTY_REPLY;
    for (const text of ['Who ', 'are the ', 'users?']) reply = appendToken(reply, { text, attempt: 1 });
    expect(reply).toEqual({ text: 'Who are the users?', attempt: 1 });
  });

  it('starts over when a retried attempt streams, and drops late tokens of the old one', () => {
    let reply = appendToken(EMPTY_REPLY, { text: 'Half an ans', attempt: 1 });
    reply = appendToken(reply, { text: 'Fresh ', attempt: 2 });
    reply = appendToken(reply, { text: 'wer', attempt: 1 });
    reply = appendToken(reply, { text: 'start', attempt: 2 });
    expect(reply).toEqual({ text: 'Fresh start', attempt: 2 });
  });

  it('accepts tokens without an attempt number', () => {
    const reply = appendToken(appendToken(EMPTY_REPLY, { text: 'a' }), { text: 'b' });
    expect(reply.text).toBe('ab');
  });
});

describe('chatEntries', () => {
  it('shows the pending answer and the reply streamed so far after the saved messages', () => {
    let turn = newTurn('Home cooks', 'job-1');
    turn = withToken(turn, { text: 'Who are ', attempt: 1 });
    turn = withToken(turn, { text: 'they?', attempt: 1 });
    const entries = chatEntries(saved, turn);
    expect(entries.map((e) => [e.role, e.content, e.streaming, e.pending])).toEqual([
      ['assistant', 'What should it do?', false, false],
      ['user', 'Home cooks', false, true],
      ['assistant', 'Who are they?', true, true],
    ]);
  });

  it('lets the final result win over the streamed text', () => {
    const turn = { ...withToken(newTurn('x', 'job-1'), { text: 'partial' }), state: 'done' as const, finalContent: 'Final.' };
    expect(chatEntries(saved, turn).at(-1)).toMatchObject({ content: 'Final.', streaming: false });
  });

  it('hides the pending turn once the saved interview contains its reply', () => {
    const turn = { ...newTurn('x', 'job-1'), state: 'done' as const, finalContent: 'Final.', messageId: 'm3' };
    const after: InterviewMessage[] = [
      ...saved,
      { id: 'm2', role: 'user', content: 'x', created_at: '2026-01-01T00:00:01Z' },
      { id: 'm3', role: 'assistant', content: 'Final.', created_at: '2026-01-01T00:00:01Z' },
    ];
    expect(chatEntries(after, turn).map((e) => e.key)).toEqual(['m1', 'm2', 'm3']);
  });

  it('ignores tokens once the turn is finished', () => {
    const done = { ...newTurn('x', 'job-1'), state: 'done' as const };
    expect(withToken(done, { text: 'late' })).toBe(done);
  });
});
