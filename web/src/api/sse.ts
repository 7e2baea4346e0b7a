// Server-sent events over fetch rather than EventSource: EventSource can
// neither POST (chat streams) nor send an Authorization header.
import { authHeaders, unauthorizedEvent, ApiError } from './client';

export interface SSEEvent {
  id?: string;
  event: string;
  data: string;
}

/** parseSSE splits a text/event-stream body into events (exported for tests). */
export class SSEParser {
  private buf = '';
  private data: string[] = [];
  private event = '';
  private id: string | undefined;

  push(chunk: string, emit: (e: SSEEvent) => void): void {
    this.buf += chunk;
    let nl: number;
    while ((nl = this.buf.search(/\r\n|\r|\n/)) >= 0) {
      const line = this.buf.slice(0, nl);
      const skip = this.buf.startsWith('\r\n', nl) ? 2 : 1;
      this.buf = this.buf.slice(nl + skip);
      this.line(line, emit);
    }
  }

  private line(line: string, emit: (e: SSEEvent) => void): void {
    if (line === '') {
      if (this.data.length > 0) {
        emit({ id: this.id, event: this.event || 'message', data: this.data.join('\n') });
      }
      this.data = [];
      this.event = '';
      return;
    }
    if (line.startsWith(':')) return; // heartbeat comment
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    switch (field) {
      case 'data':
        this.data.push(value);
        break;
      case 'event':
        this.event = value;
        break;
      case 'id':
        this.id = value;
        break;
    }
  }
}

export interface StreamOptions {
  method?: 'GET' | 'POST';
  body?: unknown;
  signal: AbortSignal;
  lastEventId?: string;
  onEvent: (e: SSEEvent) => void;
}

/** stream reads one SSE response to its end; it resolves with the last event id. */
export async function stream(url: string, opts: StreamOptions): Promise<string | undefined> {
  const headers: Record<string, string> = { Accept: 'text/event-stream', ...authHeaders() };
  if (opts.body !== undefined) headers['Content-Type'] = 'application/json';
  if (opts.lastEventId) headers['Last-Event-ID'] = opts.lastEventId;
  const res = await fetch(url, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    signal: opts.signal,
  });
  if (!res.ok || !res.body) {
    if (res.status === 401) window.dispatchEvent(new Event(unauthorizedEvent));
    let problem;
    try {
      problem = await res.json();
    } catch {
      problem = undefined;
    }
    throw new ApiError(res.status, problem);
  }
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = new SSEParser();
  let last = opts.lastEventId;
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.push(value, (e) => {
      if (e.id) last = e.id;
      opts.onEvent(e);
    });
  }
  return last;
}

/**
 * follow keeps a GET stream open: on a dropped connection it reconnects
 * after a pause with Last-Event-ID, until `done` says the stream ended on
 * purpose or the signal aborts.
 */
export async function follow(
  url: string,
  opts: { signal: AbortSignal; onEvent: (e: SSEEvent) => void; done?: () => boolean; onError?: (err: unknown) => void },
): Promise<void> {
  let last: string | undefined;
  let delay = 500;
  while (!opts.signal.aborted) {
    try {
      last = await stream(url, { signal: opts.signal, lastEventId: last, onEvent: opts.onEvent });
      delay = 500;
      if (opts.done?.() ?? true) return;
    } catch (err) {
      if (opts.signal.aborted) return;
      opts.onError?.(err);
      if (err instanceof ApiError && err.status >= 400 && err.status < 500) return;
    }
    await new Promise((r) => setTimeout(r, delay));
    delay = Math.min(delay * 2, 10_000);
  }
}
