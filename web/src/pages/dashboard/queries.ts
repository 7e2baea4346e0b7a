// Queries of the dashboard; every one refreshes on its own.
import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../../api/client';

export function useHealth() {
  return useQuery({
    queryKey: ['dashboard', 'health'],
    queryFn: () => unwrap(api.GET('/api/v1/system/health', { params: { query: { debug: true } } })),
    refetchInterval: 10_000,
  });
}

export function useSystemInfo() {
  return useQuery({
    queryKey: ['dashboard', 'info'],
    queryFn: () => unwrap(api.GET('/api/v1/system/info')),
    refetchInterval: 60_000,
  });
}

export const runningLimit = 10;

export function useRunning() {
  const query = { status: 'running' as const, limit: runningLimit, offset: 0 };
  return useQuery({
    queryKey: ['executions', 'list', query],
    queryFn: () => unwrap(api.GET('/api/v1/executions', { params: { query } })),
    refetchInterval: 2_000,
  });
}

export function useFailedExecutions() {
  const query = { status: 'failed' as const, limit: 5, offset: 0 };
  return useQuery({
    queryKey: ['executions', 'list', query],
    queryFn: () => unwrap(api.GET('/api/v1/executions', { params: { query } })),
    refetchInterval: 15_000,
  });
}

export function useStepFailures() {
  const query = { limit: 6, sort: 'started_at' as const, order: 'desc' as const };
  return useQuery({
    queryKey: ['dashboard', 'lineage-failures', query],
    queryFn: () => unwrap(api.GET('/api/v1/lineage/failures', { params: { query } })),
    refetchInterval: 15_000,
  });
}

/** How many pending dead letters are read to split the depth by route. */
export const dlqSample = 500;

export function usePendingDeadLetters() {
  const query = { state: 'pending' as const, limit: dlqSample };
  return useQuery({
    queryKey: ['dashboard', 'dead-letters', query],
    queryFn: () => unwrap(api.GET('/api/v1/dead-letters', { params: { query } })),
    refetchInterval: 10_000,
  });
}

/** The newest executions of any status (the dashboard shows the last one). */
export function useLatestExecutions(enabled: boolean) {
  const query = { limit: 3, offset: 0 };
  return useQuery({
    queryKey: ['executions', 'list', query],
    queryFn: () => unwrap(api.GET('/api/v1/executions', { params: { query } })),
    refetchInterval: 10_000,
    enabled,
  });
}
