// Follows an execution's event stream and folds its events into the
// React Query cache the page reads from.
import { useCallback, useRef, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useEventStream } from '../../../api/useEventStream';
import type { SSEEvent } from '../../../api/sse';
import { isTerminal, keys, mergeProgress, type Execution, type ExecutionStats, type ProgressRoute } from './api';

export interface LiveState {
  /** The stream is followed (the execution is not over). */
  live: boolean;
  /** When the last event arrived. */
  lastEventAt: number | null;
  events: number;
}

export function useLiveExecution(id: string, execution: Execution | undefined): LiveState {
  const qc = useQueryClient();
  const ended = useRef(false);
  const [state, setState] = useState<{ lastEventAt: number | null; events: number; ended: boolean }>({
    lastEventAt: null,
    events: 0,
    ended: false,
  });
  const running = !!execution && !isTerminal(execution.status) && !state.ended;
  const url = running ? `/api/v1/executions/${encodeURIComponent(id)}/events?timeout=0` : null;

  const onEvent = useCallback(
    (e: SSEEvent) => {
      let ev: { type?: string; status?: string; route?: string; data?: Record<string, unknown> };
      try {
        ev = JSON.parse(e.data);
      } catch {
        return;
      }
      setState((s) => ({ ...s, lastEventAt: Date.now(), events: s.events + 1 }));
      switch (e.event) {
        case 'progress': {
          const data = (ev.data ?? {}) as { routes?: ProgressRoute[]; outstanding?: number; artefacts?: number };
          qc.setQueryData<ExecutionStats>(keys.stats(id), (old) => mergeProgress(old, data, id));
          break;
        }
        case 'status': {
          if (ev.route) break; // a route-level status (paused/resumed)
          if (ev.status) {
            qc.setQueryData<Execution>(keys.execution(id), (old) => (old ? { ...old, status: ev.status! } : old));
          }
          if (isTerminal(ev.status)) {
            ended.current = true;
            setState((s) => ({ ...s, ended: true }));
            // Final counts, timeline, lineage, artefacts: fetch them all again.
            void qc.invalidateQueries({ queryKey: ['executions', id] });
          } else {
            void qc.invalidateQueries({ queryKey: keys.timeline(id) });
          }
          break;
        }
        case 'dead_letter':
          void qc.invalidateQueries({ queryKey: ['executions', id, 'dead-letters'] });
          qc.setQueryData<ExecutionStats>(keys.stats(id), (old) => (old ? { ...old, dead_letters: old.dead_letters + 1 } : old));
          break;
      }
    },
    [id, qc],
  );

  useEventStream(url, onEvent, () => ended.current);
  return { live: running, lastEventAt: state.lastEventAt, events: state.events };
}
