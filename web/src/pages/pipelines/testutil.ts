// Test helpers of the pipelines pages: a fetch stub that answers by method and path.
import { vi } from 'vitest';
import { fetchStub, json } from '../../test/fetch';

export { json };

export interface Call {
  method: string;
  url: URL;
  body: unknown;
}

type Handler = (call: Call) => { status?: number; body?: unknown } | undefined;


/**
 * stubFetch installs a fetch that hands each request to handler and records the calls.
 */
export function stubFetch(handler: Handler) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : new Request(String(input), init);
    const text = await req.clone().text();
    let body: unknown = undefined;
    if (text) {
      try {
        body = JSON.parse(text);
      } catch {
        body = text;
      }
    }
    const call = { method: req.method, url: new URL(req.url), body };
    calls.push(call);
    const r = handler(call);
    if (!r) return json({ title: 'Not Found', status: 404, error_code: 'NOT_FOUND', detail: `no stub for ${req.method} ${req.url}` }, 404);
    return json(r.body ?? {}, r.status ?? 200);
  });
  fetchStub.impl = fn as unknown as typeof fetch;
  return { calls, fn };
}

export const validReport = { is_valid: true, error_count: 0, warning_count: 0, findings: [] };

export function makeConfig(over: Record<string, unknown> = {}) {
  return {
    id: '01a23620-f642-7c27-9145-fd0ae1ae5490',
    name: 'folder-ingest',
    description: 'Ingest a folder',
    config_yaml: 'version: "1.0"\nroutes:\n  a:\n    inbound: { queue: demo.a }\n    adapters: [ { type: noop } ]\ninit_message: { route: a, payload: { root: "/srv/docs" } }\n',
    source_type: 'api',
    config_hash: 'abc',
    version: 3,
    is_active: true,
    created_at: '2026-12-01T10:00:00Z',
    updated_at: '2026-12-02T09:00:00Z',
    validation_report: validReport,
    is_runnable: true,
    ...over,
  };
}

export const adapters = {
  total: 2,
  items: [
    {
      type: 'noop',
      category: 'core',
      summary: 'Pass the message on unchanged',
      emits: false,
      example: '- type: noop',
      config_schema: { type: 'object', properties: {} },
    },
    {
      type: 'smart_segmenter',
      category: 'text',
      summary: 'Cut Markdown into segments',
      emits: true,
      example: '- type: smart_segmenter',
      config_schema: {
        type: 'object',
        properties: {
          max_tokens: { type: 'integer', default: 512, description: 'Largest segment' },
          min_tokens: { type: 'integer', default: 64, description: 'Smallest segment' },
          strategy: { type: 'string', enum: ['headings', 'tokens'] },
          old_field: { type: 'number', deprecated: true },
        },
      },
    },
  ],
};

