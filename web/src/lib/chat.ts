/**
 * The interview chat's state: saved messages, plus the answer being sent and the
 * assistant's reply as it streams in (`token` events) before the job saves both.
 */
import type { InterviewMessage, TokenEventData } from './types';

/** The assistant's reply assembled from `token` events. */
export interface StreamedReply {
  text: string;
  /** The job attempt the text belongs to (null before the first token). */
  attempt: number | null;
}

export const EMPTY_REPLY: StreamedReply = { text: '', attempt: null };

/**
 * Append a batch of tokens. A token of a later attempt (the job was retried) starts the
 * reply over; a late token of an earlier attempt is dropped.
 */
export function appendToken(reply: StreamedReply, token: Pick<TokenEventData, 'text' | 'attempt'>): StreamedReply {
  const attempt = typeof token.attempt === 'number' ? token.attempt : reply.attempt;
  if (attempt !== null && reply.attempt !== null && attempt !== reply.attempt) {
    return attempt > reply.attempt ? { text: token.text, attempt } : reply;
  }
  return { text: reply.text + token.text, attempt };
}

export type TurnState = 'sending' | 'waiting' | 'streaming' | 'done' | 'failed';

/**
 * An answer the user sent whose reply job has not been saved into the interview yet, or
 * (with empty `content`) the interview's first question, asked by a job too.
 */
export interface PendingTurn {
  /** Null until the server accepted the answer (202). */
  jobId: string | null;
  /** The user's answer; empty for the opening question (no user turn). */
  content: string;
  reply: StreamedReply;
  state: TurnState;
  /** The final reply (the job's result), which wins over the streamed text. */
  finalContent: string | null;
  /** The id of the saved assistant message, once the job completed. */
  messageId: string | null;
  error: string | null;
}

export function newTurn(content: string, jobId: string | null = null): PendingTurn {
  return {
    jobId,
    content,
    reply: EMPTY_REPLY,
    state: jobId ? 'waiting' : 'sending',
    finalContent: null,
    messageId: null,
    error: null,
  };
}

export function withToken(turn: PendingTurn, token: Pick<TokenEventData, 'text' | 'attempt'>): PendingTurn {
  if (turn.state === 'done' || turn.state === 'failed') return turn;
  return { ...turn, reply: appendToken(turn.reply, token), state: 'streaming' };
}

export interface ChatEntry {
  key: string;
  role: InterviewMessage['role'];
  content: string;
  /** True while the text is still arriving. */
  streaming: boolean;
  /** True for the user's answer that the server has not saved yet. */
  pending: boolean;
}

/**
 * What the chat shows: the saved messages, then (until the saved interview contains it)
 * the pending answer and the reply so far.
 */
export function chatEntries(messages: readonly InterviewMessage[], turn: PendingTurn | null): ChatEntry[] {
  const entries: ChatEntry[] = messages.map((m) => ({
    key: m.id,
    role: m.role,
    content: m.content,
    streaming: false,
    pending: false,
  }));
  if (!turn) return entries;
  if (turn.messageId && messages.some((m) => m.id === turn.messageId)) return entries;
  const opening = turn.content === '';
  if (!opening) {
    entries.push({ key: 'pending-user', role: 'user', content: turn.content, streaming: false, pending: true });
  }
  const replyText = turn.finalContent ?? turn.reply.text;
  // The opening question shows as a pending assistant turn from the start: it is all there is.
  if (replyText || turn.state === 'streaming' || (opening && turn.state !== 'failed')) {
    entries.push({
      key: 'pending-assistant',
      role: 'assistant',
      content: replyText,
      streaming: turn.finalContent === null,
      pending: true,
    });
  }
  return entries;
}
