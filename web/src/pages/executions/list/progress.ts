// Message counts of executions: from the record of an ended one, from the
// stats endpoint or the SSE progress events of a running one.
import { useEffect, useRef, useState } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../../api/client';
import { useEventStream } from '../../../api/useEventStream';
import type { SSEEvent } from '../../../api/sse';

export type Execution = Schemas['Execution'];

/** Counts summed over an execution's routes. */
export interface Totals {
  received: number;
  completed: number;
  failed: number;
  deadLettered: number;
  inFlight: number;
  skipped: number;
  /** Completed messages per second lately (0 when unknown). */
  rate: number;
}

export const terminalStatuses = new Set(['completed', 'failed', 'cancelled', 'interrupted']);
export const activeStatuses = new Set(['pending', 'running', 'cancelling']);

export function isActive(status: string | undefined): boolean {
  return activeStatuses.has(status ?? '');
}

function num(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? v : 0;
}

/** totalsOfRoutes sums per-route counts (progress event or error_info.routes). */
export function totalsOfRoutes(routes: unknown): Totals | null {
  if (!Array.isArray(routes)) return null;
  const t: Totals = { received: 0, completed: 0, failed: 0, deadLettered: 0, inFlight: 0, skipped: 0, rate: 0 };
  for (const r of routes as Record<string, unknown>[]) {
    if (!r || typeof r !== 'object') continue;
    t.received += num(r.received);
    t.completed += num(r.completed);
    t.failed += num(r.failed);
    t.deadLettered += num(r.dead_lettered);
    t.inFlight += num(r.in_flight);
    t.skipped += num(r.skipped);
    t.rate += num(r.rate);
  }
  return t;
}

/** totalsOfRecord reads the counts an ended execution keeps in its error_info. */
export function totalsOfRecord(ex: Execution): Totals | null {
  const info = ex.error_info;
  if (!info) return null;
  const fromRoutes = totalsOfRoutes(info.routes);
  if (fromRoutes) return { ...fromRoutes, rate: 0, inFlight: 0 };
  const s = info.stats as Record<string, unknown> | undefined;
  if (s && typeof s === 'object') {
    return {
      received: num(s.received),
      completed: num(s.completed),
      failed: num(s.failed),
      deadLettered: num(s.dead_lettered),
      inFlight: 0,
      skipped: num(s.skipped),
      rate: 0,
    };
  }
  return null;
}

/** totalsOfStats converts the stats endpoint's totals. */
export function totalsOfStats(st: Schemas['ExecutionStats']): Totals {
  const t = st.totals;
  return {
    received: t.received,
    completed: t.completed,
    failed: t.failed,
    deadLettered: t.dead_lettered,
    inFlight: t.in_flight,
    skipped: t.skipped,
    rate: t.rate,
  };
}

/** durationMs is how long an execution ran (so far, for a running one). */
export function durationMs(ex: Execution, now = Date.now()): number | null {
  const start = ex.started_at ?? (isActive(ex.status) ? ex.created_at : undefined);
  if (!start) return null;
  const end = ex.completed_at ? new Date(ex.completed_at).getTime() : isActive(ex.status) ? now : null;
  if (end === null) return null;
  return Math.max(0, end - new Date(start).getTime());
}

export interface LiveProgress {
  totals: Totals | null;
  /** Messages settled but not acknowledged yet. */
  outstanding: number | null;
  /** Completed messages per second (0 when idle). */
  rate: number | null;
  /** The status last seen on the stream. */
  status: string | null;
  /** Where the figures come from. */
  source: 'stream' | 'poll';
}

/** After this long without a progress event the execution counts as idle. */
const idleAfterMs = 3_000;
/** A replayed progress event older than this (server time) says nothing of now. */
const staleEventMs = 10_000;

/**
 * useStreamProgress follows the SSE events of a running execution: each
 * `progress` event carries per-route counts and rates. When the terminal
 * status arrives the execution queries are invalidated.
 */
export function useStreamProgress(id: string, enabled: boolean): LiveProgress {
  const qc = useQueryClient();
  const [state, setState] = useState<Omit<LiveProgress, 'source'> & { at: number; createdAt: number }>({
    totals: null,
    outstanding: null,
    rate: null,
    status: null,
    at: 0,
    createdAt: 0,
  });
  const ended = useRef(false);
  const [, tick] = useState(0);

  // Re-render every second so an idle stream shows 0 messages/s.
  useEffect(() => {
    if (!enabled) return;
    const t = setInterval(() => tick((n) => n + 1), 1_000);
    return () => clearInterval(t);
  }, [enabled]);

  const onEvent = (e: SSEEvent) => {
    let ev: { status?: string; route?: string; created_at?: string; data?: Record<string, unknown> };
    try {
      ev = JSON.parse(e.data);
    } catch {
      return;
    }
    if (e.event === 'progress') {
      const totals = totalsOfRoutes(ev.data?.routes);
      setState((s) => ({
        totals: totals ?? s.totals,
        outstanding: typeof ev.data?.outstanding === 'number' ? ev.data.outstanding : s.outstanding,
        rate: totals ? totals.rate : s.rate,
        status: ev.status ?? s.status,
        at: Date.now(),
        createdAt: ev.created_at ? new Date(ev.created_at).getTime() : Date.now(),
      }));
    } else if (e.event === 'status' && !ev.route) {
      setState((s) => ({ ...s, status: ev.status ?? s.status }));
      if (ev.status && terminalStatuses.has(ev.status)) {
        ended.current = true;
        void qc.invalidateQueries({ queryKey: ['executions'] });
        void qc.invalidateQueries({ queryKey: ['dashboard'] });
      }
    }
  };

  useEventStream(
    enabled ? `/api/v1/executions/${encodeURIComponent(id)}/events` : null,
    onEvent,
    () => ended.current,
  );

  // Idle when no progress arrived lately, or when the last one is old news
  // replayed from the timeline (progress is only sent while counts move).
  const now = Date.now();
  const idle = state.at > 0 && (now - state.at > idleAfterMs || now - state.createdAt > staleEventMs);
  return {
    totals: state.totals,
    outstanding: state.outstanding,
    rate: state.rate === null ? null : idle ? 0 : state.rate,
    status: state.status,
    source: 'stream',
  };
}

/**
 * usePolledProgress reads GET /executions/{id}/stats every 2 s and derives
 * the rate from the change of the completed count between two reads.
 */
export function usePolledProgress(id: string, enabled: boolean): LiveProgress {
  const prev = useRef<{ completed: number; at: number } | null>(null);
  const [rate, setRate] = useState<number | null>(null);
  const q = useQuery({
    queryKey: ['executions', 'stats', id],
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}/stats', { params: { path: { id } } })),
    enabled,
    refetchInterval: 2_000,
  });
  const st = q.data;
  const updated = q.dataUpdatedAt;
  useEffect(() => {
    if (!st) return;
    const completed = st.totals.completed;
    const p = prev.current;
    if (p && updated > p.at) {
      setRate(Math.max(0, ((completed - p.completed) * 1000) / (updated - p.at)));
    } else if (st.totals.rate > 0) {
      setRate(st.totals.rate);
    }
    prev.current = { completed, at: updated };
  }, [st, updated]);
  return {
    totals: st ? totalsOfStats(st) : null,
    outstanding: st ? st.outstanding : null,
    rate,
    status: st?.status ?? null,
    source: 'poll',
  };
}
