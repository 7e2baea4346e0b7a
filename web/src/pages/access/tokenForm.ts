// The create-token form's choices and how they become a request body.
import type { Schemas } from '../../api/client';
import type { Scope } from '../../api/auth';

export type Expiry = 'never' | '7d' | '30d' | '90d' | 'custom';

export const EXPIRY_OPTIONS: { value: Expiry; label: string }[] = [
  { value: 'never', label: 'Never' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: 'custom', label: 'Custom date…' },
];

export interface TokenForm {
  name: string;
  scopes: Scope[];
  expiry: Expiry;
  /** RFC 3339 instant, used when expiry is custom. */
  expiresAt: string;
}

/** parseInstant reads an RFC 3339 date-time (or a plain date, taken as UTC midnight). */
export function parseInstant(v: string): Date | null {
  const s = v.trim();
  if (!/^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?([Zz]|[+-]\d{2}:\d{2}))?$/.test(s)) return null;
  const d = new Date(s);
  return Number.isNaN(d.getTime()) ? null : d;
}

/** expiryProblem is what is wrong with a custom expiry, or null. */
export function expiryProblem(f: TokenForm, now = Date.now()): string | null {
  if (f.expiry !== 'custom') return null;
  const d = parseInstant(f.expiresAt);
  if (!d) return 'An RFC 3339 date, e.g. 2027-01-31T00:00:00Z';
  if (d.getTime() <= now) return 'The expiry must be in the future';
  return null;
}

/** formProblem is why the form cannot be sent yet, or null when it can. */
export function formProblem(f: TokenForm, now = Date.now()): string | null {
  if (!f.name.trim()) return 'A name is required';
  if (f.scopes.length === 0) return 'Pick at least one scope';
  return expiryProblem(f, now);
}

/** tokenBody is the POST /auth/tokens body for a valid form. */
export function tokenBody(f: TokenForm): Schemas['TokenCreate'] {
  const body: Schemas['TokenCreate'] = { name: f.name.trim(), scopes: f.scopes };
  if (f.expiry === 'custom') body.expires_at = parseInstant(f.expiresAt)!.toISOString();
  else if (f.expiry !== 'never') body.expires_in = f.expiry;
  return body;
}
