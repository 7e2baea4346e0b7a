// Data access of the pipelines pages (configs and adapters).
import { useQuery } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from '../../api/client';

export type Config = Schemas['Config'];
export type Finding = Schemas['Finding'];
export type ValidationReport = Schemas['ValidationReport'];
export type Adapter = Schemas['Adapter'];

export const configKeys = {
  all: ['configs'] as const,
  list: (includeInactive: boolean) => ['configs', 'list', { includeInactive }] as const,
  one: (id: string) => ['configs', 'one', id] as const,
  versions: (id: string) => ['configs', 'versions', id] as const,
  validate: (yaml: string) => ['configs', 'validate', yaml] as const,
};

export function useConfigs(includeInactive = false) {
  return useQuery({
    queryKey: configKeys.list(includeInactive),
    queryFn: () =>
      unwrap(api.GET('/api/v1/configs', { params: { query: { limit: 1000, include_inactive: includeInactive || undefined } } })),
  });
}

export function useConfig(id: string | undefined) {
  return useQuery({
    queryKey: configKeys.one(id ?? ''),
    queryFn: () => unwrap(api.GET('/api/v1/configs/{id}', { params: { path: { id: id! } } })),
    enabled: !!id,
    // The editor owns the text while it is open; do not reset it behind the user's back.
    refetchOnWindowFocus: false,
  });
}

export function useConfigVersions(id: string | undefined) {
  return useQuery({
    queryKey: configKeys.versions(id ?? ''),
    queryFn: () => unwrap(api.GET('/api/v1/configs/{id}/versions', { params: { path: { id: id! } } })),
    enabled: !!id,
  });
}

export function useAdapters() {
  return useQuery({
    queryKey: ['adapters'],
    queryFn: () => unwrap(api.GET('/api/v1/adapters')),
    staleTime: 5 * 60_000,
  });
}

export function validateYaml(yaml: string, signal?: AbortSignal): Promise<ValidationReport> {
  return unwrap(api.POST('/api/v1/configs/validate', { body: { config_yaml: yaml }, signal }));
}

export function findingsOf(r: ValidationReport | undefined | null): Finding[] {
  return r?.findings ?? [];
}
