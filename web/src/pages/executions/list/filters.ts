// The executions list keeps its filters in the URL so a view can be shared
// and survives a reload.

export const statusOptions = [
  'pending',
  'running',
  'cancelling',
  'completed',
  'failed',
  'cancelled',
  'interrupted',
] as const;
export type ExecutionStatus = (typeof statusOptions)[number];

export const pageSizes = [25, 50, 100] as const;

export interface ListFilters {
  status: ExecutionStatus | '';
  config: string;
  q: string;
  page: number;
  size: number;
}

export function readFilters(sp: URLSearchParams): ListFilters {
  const status = sp.get('status') ?? '';
  const page = Number.parseInt(sp.get('page') ?? '1', 10);
  const size = Number.parseInt(sp.get('size') ?? '', 10);
  return {
    status: (statusOptions as readonly string[]).includes(status) ? (status as ExecutionStatus) : '',
    config: sp.get('config') ?? '',
    q: sp.get('q') ?? '',
    page: Number.isFinite(page) && page > 0 ? page : 1,
    size: (pageSizes as readonly number[]).includes(size) ? size : 25,
  };
}

/** writeFilters returns new params with the changes applied; any filter change resets the page. */
export function writeFilters(sp: URLSearchParams, change: Partial<ListFilters>): URLSearchParams {
  const next = new URLSearchParams(sp);
  const set = (k: string, v: string | number | undefined, dflt: string | number) => {
    if (v === undefined) return;
    if (v === '' || v === dflt) next.delete(k);
    else next.set(k, String(v));
  };
  set('status', change.status, '');
  set('config', change.config, '');
  set('q', change.q, '');
  set('size', change.size, 25);
  if (change.page !== undefined) set('page', change.page, 1);
  else if (Object.keys(change).length > 0) next.delete('page');
  return next;
}

/** matchesText reports whether an execution matches a free-text filter. */
export function matchesText(ex: { id: string; tag?: string; config_name?: string; status: string }, q: string): boolean {
  const needle = q.trim().toLowerCase();
  if (!needle) return true;
  return [ex.id, ex.tag, ex.config_name, ex.status].some((v) => v?.toLowerCase().includes(needle));
}
