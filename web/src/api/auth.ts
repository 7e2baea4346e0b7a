// Who the caller is, as the server sees it (GET /auth/whoami), and the
// scope order the server enforces.
import { useEffect, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api, getToken, tokenEvent, unwrap, type Schemas } from './client';

export type Whoami = Schemas['Whoami'];
export type Scope = 'read' | 'write' | 'admin';

/** Scopes from weakest to strongest: each includes the ones before it. */
export const SCOPES: Scope[] = ['read', 'write', 'admin'];

export const whoamiKey = ['auth', 'whoami'] as const;

/** highestScope is the strongest scope in the list, or undefined for none. */
export function highestScope(scopes: readonly string[] | null | undefined): Scope | undefined {
  const have = new Set(scopes ?? []);
  return [...SCOPES].reverse().find((s) => have.has(s));
}

/** hasScope tells whether scopes grant want (a stronger scope includes it). */
export function hasScope(scopes: readonly string[] | null | undefined, want: Scope): boolean {
  const top = highestScope(scopes);
  return top !== undefined && SCOPES.indexOf(top) >= SCOPES.indexOf(want);
}

export const scopeColor: Record<Scope, string> = { read: 'gray', write: 'blue', admin: 'grape' };

/** useWhoami asks the server who the caller is; the operation is public, so it works before sign-in. */
export function useWhoami() {
  return useQuery({
    queryKey: whoamiKey,
    queryFn: () => unwrap(api.GET('/api/v1/auth/whoami')),
    staleTime: 60_000,
  });
}

/** useStoredToken is the token in local storage, following sign-in and sign-out. */
export function useStoredToken(): string | null {
  const [token, setTokenState] = useState(getToken);
  useEffect(() => {
    const sync = () => setTokenState(getToken());
    window.addEventListener(tokenEvent, sync);
    window.addEventListener('storage', sync);
    return () => {
      window.removeEventListener(tokenEvent, sync);
      window.removeEventListener('storage', sync);
    };
  }, []);
  return token;
}
