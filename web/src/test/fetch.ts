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

/** StubRequest is what a fetch stub was asked: the URL, the upper-case method and the parsed JSON body. */
export interface StubRequest {
  url: URL;
  method: string;
  body: unknown;
}

/** readRequest decodes a fetch call (openapi-fetch passes a Request; plain fetch a URL and init). */
export async function readRequest(input: RequestInfo | URL, init?: RequestInit): Promise<StubRequest> {
  const req = input instanceof Request ? input : undefined;
  const url = new URL(req ? req.url : String(input), 'http://localhost');
  const method = (req?.method ?? init?.method ?? 'GET').toUpperCase();
  const text = req ? await req.clone().text() : typeof init?.body === 'string' ? init.body : '';
  return { url, method, body: text ? JSON.parse(text) : undefined };
}

/** noStub is the 404 problem a stub answers for a request it does not know. */
export function noStub(method: string, path: string): Response {
  return json({ title: 'Not Found', status: 404, detail: `no stub for ${method} ${path}`, error_code: 'NOT_FOUND' }, 404);
}
