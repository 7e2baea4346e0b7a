import { describe, expect, it, vi, afterEach } from 'vitest';
import { SSEParser, stream, type SSEEvent } from './sse';
import { ApiError } from './client';

function parse(chunks: string[]): SSEEvent[] {
  const p = new SSEParser();
  const out: SSEEvent[] = [];
  for (const c of chunks) p.push(c, (e) => out.push(e));
  return out;
}

describe('SSEParser', () => {
  it('splits events, joins data lines and keeps ids across chunks', () => {
    const evs = parse(['id: 1\nevent: status\ndata: {"a":', '1}\n\n: heartbeat\n\nda', 'ta: x\ndata: y\r\n\r\n']);
    expect(evs).toEqual([
      { id: '1', event: 'status', data: '{"a":1}' },
      { id: '1', event: 'message', data: 'x\ny' },
    ]);
  });

  it('ignores comments and events without data', () => {
    expect(parse([': ping\n\nevent: done\n\n'])).toEqual([]);
  });
});

describe('stream', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('sends Last-Event-ID and a JSON body, and returns the last id', async () => {
    const fetchMock = vi.fn(async () => new Response('id: 7\nevent: text\ndata: hi\n\nid: 8\nevent: done\ndata: {}\n\n', { status: 200 }));
    vi.stubGlobal('fetch', fetchMock);
    const seen: string[] = [];
    const last = await stream('/api/v1/chat/stream', {
      method: 'POST',
      body: { question: 'q' },
      lastEventId: '6',
      signal: new AbortController().signal,
      onEvent: (e) => seen.push(`${e.event}:${e.data}`),
    });
    expect(last).toBe('8');
    expect(seen).toEqual(['text:hi', 'done:{}']);
    const [, init] = fetchMock.mock.calls[0] as unknown as [string, RequestInit];
    const headers = init.headers as Record<string, string>;
    expect(headers['Last-Event-ID']).toBe('6');
    expect(headers['Content-Type']).toBe('application/json');
    expect(init.body).toBe('{"question":"q"}');
  });

  it('turns a problem answer into ApiError with its code', async () => {
    vi.stubGlobal(
      'fetch',
      vi.fn(async () => new Response(JSON.stringify({ status: 503, detail: 'no pgvector', error_code: 'PGVECTOR_UNAVAILABLE', hint: 'install it' }), { status: 503 })),
    );
    const err = await stream('/x', { signal: new AbortController().signal, onEvent: () => {} }).catch((e) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect(err.code).toBe('PGVECTOR_UNAVAILABLE');
    expect(err.hint).toBe('install it');
    expect(err.status).toBe(503);
  });
});
