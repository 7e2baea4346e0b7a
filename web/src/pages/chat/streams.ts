// Answers being streamed, by thread. They live outside React so that a
// stream keeps going (and stays visible) while the user moves between
// threads, and survives the /chat → /chat/:id navigation of a first message.
import { useSyncExternalStore } from 'react';
import type { QueryClient } from '@tanstack/react-query';
import { ApiError } from '../../api/client';
import { stream } from '../../api/sse';
import type { Citation } from './types';

export interface PendingTurn {
  question: string;
  text: string;
  sources: Citation[];
  status: 'streaming' | 'done' | 'stopped' | 'error';
  error?: unknown;
  meta?: Record<string, unknown>;
  startedAt: number;
}

const turns = new Map<string, PendingTurn>();
const controllers = new Map<string, AbortController>();
const listeners = new Set<() => void>();

function set(threadId: string, t: PendingTurn | undefined) {
  if (t) turns.set(threadId, t);
  else turns.delete(threadId);
  listeners.forEach((l) => l());
}

function subscribe(l: () => void) {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function usePendingTurn(threadId: string | undefined): PendingTurn | undefined {
  return useSyncExternalStore(
    subscribe,
    () => (threadId ? turns.get(threadId) : undefined),
    () => undefined,
  );
}

export function isStreaming(threadId: string | undefined): boolean {
  return !!threadId && turns.get(threadId)?.status === 'streaming';
}

export function stopTurn(threadId: string) {
  controllers.get(threadId)?.abort();
}

/** clearTurn forgets a finished turn (the stored messages show it now). */
export function clearTurn(threadId: string) {
  const t = turns.get(threadId);
  if (t && t.status !== 'streaming') set(threadId, undefined);
}

function parse(data: string): Record<string, unknown> {
  try {
    const v = JSON.parse(data);
    return v && typeof v === 'object' ? (v as Record<string, unknown>) : {};
  } catch {
    return {};
  }
}

/**
 * sendMessage posts a question to a thread and streams the answer:
 * `sources` first, then `text` pieces, then `done` (or `error`).
 */
export async function sendMessage(threadId: string, content: string, qc: QueryClient): Promise<void> {
  controllers.get(threadId)?.abort();
  const ctl = new AbortController();
  controllers.set(threadId, ctl);
  let turn: PendingTurn = { question: content, text: '', sources: [], status: 'streaming', startedAt: Date.now() };
  const update = (patch: Partial<PendingTurn>) => {
    turn = { ...turn, ...patch };
    set(threadId, turn);
  };
  update({});
  try {
    await stream(`/api/v1/chat/threads/${encodeURIComponent(threadId)}/messages`, {
      method: 'POST',
      body: { content },
      signal: ctl.signal,
      onEvent: (e) => {
        const d = parse(e.data);
        switch (e.event) {
          case 'sources':
            update({ sources: (d.sources as Citation[] | undefined) ?? [] });
            break;
          case 'text':
            update({ text: turn.text + String(d.content ?? '') });
            break;
          case 'done':
            update({ status: 'done', meta: d });
            break;
          case 'error':
            update({ status: 'error', error: new ApiError(Number(d.status) || 500, d) });
            break;
        }
      },
    });
    if (turn.status === 'streaming') {
      // The stream ended without `done`: the answer is incomplete.
      update({ status: 'error', error: new Error('The answer stream ended before it was complete.') });
    }
  } catch (err) {
    if (ctl.signal.aborted) update({ status: 'stopped' });
    else update({ status: 'error', error: err });
  } finally {
    if (controllers.get(threadId) === ctl) controllers.delete(threadId);
  }
  await Promise.all([
    qc.invalidateQueries({ queryKey: ['chat', 'messages', threadId] }),
    qc.invalidateQueries({ queryKey: ['chat', 'threads'] }),
    qc.invalidateQueries({ queryKey: ['chat', 'thread', threadId] }),
  ]);
  // A complete answer is stored: the refetched messages show it, so the
  // streamed copy goes. A stopped or failed one stays until the next send.
  if (turn.status === 'done') set(threadId, undefined);
}
