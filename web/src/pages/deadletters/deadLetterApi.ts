// Dead-letter requests and the words the page uses for their results.
import { api, unwrap, type Schemas } from '../../api/client';

export type DeadLetter = Schemas['DeadLetter'];
export type RequeueResult = Schemas['DeadLetterRequeueResult'];

export const PAGE_SIZE = 50;

export interface DeadLetterFilters {
  execution: string;
  route: string;
  adapter: string;
  errorClass: string;
  state: 'pending' | 'requeued' | 'all';
}

export const emptyFilters: DeadLetterFilters = { execution: '', route: '', adapter: '', errorClass: '', state: 'pending' };

/** filterQuery is the API's query for the filters (empty ones left out). */
export function filterQuery(f: DeadLetterFilters) {
  return {
    execution_id: f.execution.trim() || undefined,
    route: f.route.trim() || undefined,
    adapter: f.adapter.trim() || undefined,
    error_class: f.errorClass || undefined,
    state: f.state,
  };
}

/** narrowed: some filter other than the state narrows the selection. */
export function narrowed(f: DeadLetterFilters): boolean {
  return !!(f.execution.trim() || f.route.trim() || f.adapter.trim() || f.errorClass);
}

export function listDeadLetters(f: DeadLetterFilters, page: number) {
  return unwrap(
    api.GET('/api/v1/dead-letters', {
      params: { query: { ...filterQuery(f), limit: PAGE_SIZE, offset: (page - 1) * PAGE_SIZE } },
    }),
  );
}

export interface RequeueInput {
  ids?: string[];
  filters?: DeadLetterFilters;
  delaySeconds?: number;
}

export function requeue({ ids, filters, delaySeconds }: RequeueInput): Promise<RequeueResult> {
  const body: Schemas['DeadLetterRequeue'] = {};
  if (ids) body.ids = ids;
  else if (filters) {
    const q = filterQuery(filters);
    body.filter = { execution_id: q.execution_id, route: q.route, adapter: q.adapter, error_class: q.error_class };
  }
  if (delaySeconds && delaySeconds > 0) body.delay_seconds = delaySeconds;
  return unwrap(api.POST('/api/v1/dead-letters/requeue', { body }));
}

/**
 * discardIds deletes dead letters one by one, a few at a time (the bulk
 * DELETE takes a filter, not ids).
 */
export async function discardIds(ids: string[]): Promise<{ deleted: string[]; failed: { id: string; error: unknown }[] }> {
  const deleted: string[] = [];
  const failed: { id: string; error: unknown }[] = [];
  let next = 0;
  const worker = async () => {
    while (next < ids.length) {
      const id = ids[next++];
      try {
        await unwrap(api.DELETE('/api/v1/dead-letters/{id}', { params: { path: { id } } }));
        deleted.push(id);
      } catch (error) {
        failed.push({ id, error });
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(6, ids.length) }, worker));
  return { deleted, failed };
}

/** discardMatching deletes every dead letter the filters select. */
export function discardMatching(f: DeadLetterFilters) {
  const q = filterQuery(f);
  return unwrap(api.DELETE('/api/v1/dead-letters', { params: { query: { ...q, confirm: narrowed(f) ? undefined : true } } }));
}

/** requeueSummary says in words where the requeued messages went. */
export function requeueSummary(r: RequeueResult): string {
  if (r.requeued === 0) return 'Nothing was requeued: no pending dead letter matched.';
  const parts = (r.executions ?? []).map((e) =>
    e.source_execution_id
      ? `${e.requeued} into new execution ${e.execution_id} (from finished ${e.source_execution_id})`
      : `${e.requeued} into execution ${e.execution_id} (${e.status})`,
  );
  return `${r.requeued} dead letter${r.requeued === 1 ? '' : 's'} requeued: ${parts.join('; ')}.`;
}
