// The typed API client. Types come from the server's OpenAPI document
// (`npm run gen:api` regenerates src/api/schema.d.ts), so a field the
// server renames breaks the build here rather than a page at run time.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Schemas = components['schemas'];

const tokenKey = 'factflow.token';

/** The API token, when the server runs with auth (kept in localStorage). */
export function getToken(): string | null {
  try {
    return window.localStorage.getItem(tokenKey);
  } catch {
    return null;
  }
}

/** Dispatched on window whenever setToken stores or clears the token. */
export const tokenEvent = 'factflow:token';

export function setToken(token: string | null): void {
  if (token) window.localStorage.setItem(tokenKey, token);
  else window.localStorage.removeItem(tokenKey);
  window.dispatchEvent(new Event(tokenEvent));
}

/**
 * Raised on 401 so the shell can ask for a token. Only 401: a 403
 * (AUTH_SCOPE_INSUFFICIENT) means the token is fine but too weak, which
 * another token prompt would not fix, so it stays an ordinary ApiError.
 */
export const unauthorizedEvent = 'factflow:unauthorized';

/** Headers every request carries: the token, when there is one. */
export function authHeaders(): Record<string, string> {
  const t = getToken();
  return t ? { Authorization: `Bearer ${t}` } : {};
}

const auth: Middleware = {
  onRequest({ request }) {
    const t = getToken();
    if (t) request.headers.set('Authorization', `Bearer ${t}`);
    return request;
  },
  onResponse({ response }) {
    if (response.status === 401) window.dispatchEvent(new Event(unauthorizedEvent));
    return response;
  },
};

export const api = createClient<paths>({
  baseUrl: typeof window === 'undefined' ? 'http://localhost' : window.location.origin,
  // Looked up on every call, so tests can stub the global fetch at any time.
  fetch: (request) => globalThis.fetch(request),
});
api.use(auth);

/** A problem+json answer of the API, thrown by `unwrap`. */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly hint?: string;
  readonly problem?: Schemas['Problem'];
  constructor(status: number, problem?: Partial<Schemas['Problem']>) {
    super(problem?.detail || problem?.title || `HTTP ${status}`);
    this.status = status;
    this.code = problem?.error_code ?? `HTTP_${status}`;
    this.hint = problem?.hint;
    this.problem = problem as Schemas['Problem'] | undefined;
  }
}

/**
 * unwrap turns an openapi-fetch result into its data or throws ApiError,
 * so TanStack Query sees failures as failures.
 */
export async function unwrap<T>(p: Promise<{ data?: T; error?: unknown; response: Response }>): Promise<T> {
  const { data, error, response } = await p;
  if (error !== undefined || !response.ok) {
    throw new ApiError(response.status, (error ?? undefined) as Partial<Schemas['Problem']> | undefined);
  }
  return data as T;
}
