// Queries and mutations of the execution detail page.
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { notifications } from '@mantine/notifications';
import { api, unwrap, type Schemas } from '../../../api/client';

export type Execution = Schemas['Execution'];
export type ExecutionStats = Schemas['ExecutionStats'];
export type RouteStats = Schemas['RouteStats'];
export type DAG = Schemas['DAG'];
export type LineageEntry = Schemas['LineageEntry'];

/** Statuses after which an execution never changes again. */
export const terminalStatuses = new Set(['completed', 'failed', 'cancelled']);
export const isTerminal = (s: string | undefined | null) => !!s && terminalStatuses.has(s);

export const keys = {
  execution: (id: string) => ['executions', id] as const,
  stats: (id: string) => ['executions', id, 'stats'] as const,
  dag: (id: string) => ['executions', id, 'dag'] as const,
  timeline: (id: string) => ['executions', id, 'timeline'] as const,
  replays: (id: string) => ['executions', id, 'replays'] as const,
  deadLetters: (id: string, page: number) => ['executions', id, 'dead-letters', page] as const,
  lineage: (id: string, params: object) => ['executions', id, 'lineage', params] as const,
  artefacts: (id: string, params: object) => ['executions', id, 'artefacts', params] as const,
  routeStates: ['route-states'] as const,
};

export function useExecution(id: string) {
  return useQuery({
    queryKey: keys.execution(id),
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}', { params: { path: { id } } })),
  });
}

export function useStats(id: string, enabled = true, live = false) {
  return useQuery({
    queryKey: keys.stats(id),
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}/stats', { params: { path: { id } } })),
    enabled,
    // Progress events carry the route counts; the adapter table comes
    // from the lineage and is refreshed now and then while running.
    refetchInterval: live ? 10_000 : false,
  });
}

export function useDag(id: string) {
  return useQuery({
    queryKey: keys.dag(id),
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}/dag', { params: { path: { id } } })),
    staleTime: Infinity, // from the config snapshot: never changes
  });
}

export function useRouteStates() {
  return useQuery({
    queryKey: keys.routeStates,
    queryFn: () => unwrap(api.GET('/api/v1/pipelines')),
  });
}

export function useReplays(id: string) {
  return useQuery({
    queryKey: keys.replays(id),
    queryFn: () => unwrap(api.GET('/api/v1/executions/{id}/replays', { params: { path: { id }, query: { limit: 20 } } })),
  });
}

function failure(title: string) {
  return (err: Error) => notifications.show({ color: 'red', title, message: err.message });
}

export function useCancel(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/executions/{id}/cancel', { params: { path: { id } } })),
    onSuccess: (res) => {
      notifications.show({ color: 'orange', title: 'Cancellation requested', message: `Execution is ${res.status}` });
      void qc.invalidateQueries({ queryKey: ['executions'] });
    },
    onError: failure('Cancel failed'),
  });
}

export function useRouteControl() {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (v: { routeId: string; state: 'paused' | 'running' }) =>
      unwrap(api.PATCH('/api/v1/pipelines/{route_id}', { params: { path: { route_id: v.routeId } }, body: { state: v.state } })),
    onSuccess: (res) => {
      notifications.show({ color: res.status === 'paused' ? 'yellow' : 'green', title: 'Route updated', message: res.message });
      void qc.invalidateQueries({ queryKey: keys.routeStates });
      void qc.invalidateQueries({ queryKey: ['executions'] });
    },
    onError: failure('Route update failed'),
  });
}

export function useReplay(id: string) {
  const qc = useQueryClient();
  return useMutation({
    mutationFn: (body: Schemas['ExecutionReplay']) =>
      unwrap(api.POST('/api/v1/executions/{id}/replay', { params: { path: { id } }, body })),
    onSuccess: (res) => {
      notifications.show({
        color: 'green',
        title: 'Replay started',
        message: `${res.objects_published} of ${res.objects_found} artefacts sent to ${res.to_route}`,
      });
      void qc.invalidateQueries({ queryKey: keys.replays(id) });
      void qc.invalidateQueries({ queryKey: ['executions'] });
    },
    onError: failure('Replay failed'),
  });
}

/** Route counts from a progress event (orchestrator.RouteStats JSON). */
export interface ProgressRoute {
  route: string;
  received?: number;
  completed?: number;
  failed?: number;
  retried?: number;
  dead_lettered?: number;
  skipped?: number;
  emitted?: number;
  in_flight?: number;
  paused?: boolean;
  rate?: number;
}

/** mergeProgress folds a progress event's route counts into stats. */
export function mergeProgress(
  stats: ExecutionStats | undefined,
  data: { routes?: ProgressRoute[]; outstanding?: number; artefacts?: number },
  executionId: string,
): ExecutionStats {
  const base: ExecutionStats = stats ?? {
    execution_id: executionId,
    status: 'running',
    elapsed_ms: 0,
    outstanding: 0,
    artefacts: 0,
    dead_letters: 0,
    lineage_rows: 0,
    adapters: [],
    routes: [],
    totals: emptyRoute('*'),
  };
  const routes = [...(base.routes ?? [])];
  for (const p of data.routes ?? []) {
    const i = routes.findIndex((r) => r.route_id === p.route);
    const prev = i >= 0 ? routes[i] : emptyRoute(p.route);
    const next: RouteStats = {
      ...prev,
      live: true,
      received: p.received ?? prev.received,
      completed: p.completed ?? prev.completed,
      failed: p.failed ?? prev.failed,
      retried: p.retried ?? prev.retried,
      dead_lettered: p.dead_lettered ?? prev.dead_lettered,
      skipped: p.skipped ?? prev.skipped,
      emitted: p.emitted ?? prev.emitted,
      in_flight: p.in_flight ?? prev.in_flight,
      paused: p.paused ?? prev.paused,
      rate: p.rate ?? prev.rate,
    };
    if (i >= 0) routes[i] = next;
    else routes.push(next);
  }
  const sum = (f: (r: RouteStats) => number) => routes.reduce((a, r) => a + f(r), 0);
  const totals: RouteStats = {
    ...base.totals,
    received: sum((r) => r.received),
    completed: sum((r) => r.completed),
    failed: sum((r) => r.failed),
    retried: sum((r) => r.retried),
    dead_lettered: sum((r) => r.dead_lettered),
    skipped: sum((r) => r.skipped),
    emitted: sum((r) => r.emitted),
    in_flight: sum((r) => r.in_flight),
    rate: sum((r) => r.rate),
    live: true,
  };
  return {
    ...base,
    outstanding: data.outstanding ?? base.outstanding,
    artefacts: data.artefacts ?? base.artefacts,
    routes,
    totals,
  };
}

export function emptyRoute(id: string): RouteStats {
  return {
    route_id: id,
    queue: '',
    live: false,
    received: 0,
    completed: 0,
    failed: 0,
    retried: 0,
    dead_lettered: 0,
    skipped: 0,
    emitted: 0,
    in_flight: 0,
    paused: false,
    rate: 0,
    avg_duration_ms: 0,
  };
}
