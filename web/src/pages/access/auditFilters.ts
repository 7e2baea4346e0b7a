// The audit log's filters, kept in the address (?actor=&action=&result=
// &target=&since=&page=) so a filtered view can be bookmarked and shared.
import { useSearchParams } from 'react-router';
import { parseInstant } from './tokenForm';

export type AuditResult = 'ok' | 'error' | 'denied';

export interface AuditFilters {
  actor: string;
  action: string;
  result: AuditResult | '';
  target: string;
  /** An RFC 3339 instant, or a span back from now such as 24h or 7d. */
  since: string;
}

export const AUDIT_PAGE_SIZE = 50;

const keys: (keyof AuditFilters)[] = ['actor', 'action', 'result', 'target', 'since'];

/**
 * sinceInstant turns the since filter into the RFC 3339 instant the API
 * takes: "90m", "24h" and "7d" count back from now. Empty gives undefined,
 * anything unreadable null.
 */
export function sinceInstant(v: string, now = Date.now()): string | undefined | null {
  const s = v.trim();
  if (!s) return undefined;
  const rel = /^(\d+)([mhd])$/.exec(s);
  if (rel) {
    const unit = { m: 60_000, h: 3_600_000, d: 86_400_000 }[rel[2] as 'm' | 'h' | 'd'];
    return new Date(now - Number(rel[1]) * unit).toISOString();
  }
  return parseInstant(s)?.toISOString() ?? null;
}

/** auditQuery is the API query for the filters and page (empty ones left out). */
export function auditQuery(f: AuditFilters, page: number, now = Date.now()) {
  return {
    actor: f.actor.trim() || undefined,
    action: f.action.trim() || undefined,
    result: f.result || undefined,
    target: f.target.trim() || undefined,
    since: sinceInstant(f.since, now) ?? undefined,
    limit: AUDIT_PAGE_SIZE,
    offset: (page - 1) * AUDIT_PAGE_SIZE,
  };
}

export function useAuditFilters(): [AuditFilters, number, (f: Partial<AuditFilters> & { page?: number }) => void] {
  const [params, setParams] = useSearchParams();
  const result = params.get('result');
  const filters: AuditFilters = {
    actor: params.get('actor') ?? '',
    action: params.get('action') ?? '',
    result: result === 'ok' || result === 'error' || result === 'denied' ? result : '',
    target: params.get('target') ?? '',
    since: params.get('since') ?? '',
  };
  const page = Math.max(1, Number(params.get('page')) || 1);
  const set = (f: Partial<AuditFilters> & { page?: number }) =>
    setParams(
      (cur) => {
        const q = new URLSearchParams(cur);
        for (const k of keys) {
          const v = f[k];
          if (v === undefined) continue;
          if (v.trim()) q.set(k, v.trim());
          else q.delete(k);
        }
        // Any filter change starts over at the first page.
        if (f.page && f.page > 1) q.set('page', String(f.page));
        else q.delete('page');
        return q;
      },
      { replace: true },
    );
  return [filters, page, set];
}
