// One fetch stand-in for every component test: setup.ts points the global
// fetch here, a test sets `fetchStub.impl`, and it is cleared after each
// test so nothing leaks into the next.

export const fetchStub: { impl: typeof fetch | null } = { impl: null };

export function installFetchStub(): void {
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    if (!fetchStub.impl) return Promise.reject(new Error('fetch is not stubbed'));
    return fetchStub.impl(input, init);
  }) as typeof fetch;
}

/** json is an API answer: problem+json from 400 on, no body for 204. */
export function json(body: unknown, status = 200): Response {
  return new Response(status === 204 ? null : JSON.stringify(body), {
    status,
    headers: { 'Content-Type': status >= 400 ? 'application/problem+json' : 'application/json' },
  });
}
