import { describe, expect, it, vi, afterEach } from 'vitest';
import { configure, screen, waitFor, within, fireEvent } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import { renderPage } from '../../test/render';
import ExecutionDetailPage from './ExecutionDetailPage';
import { emptyRoute } from './detail/api';
import { fetchStub, json } from '../../test/fetch';

// openapi-fetch keeps the fetch it saw when the client was created, so the
// global is replaced before any import and forwards to each test's stub.

const ID = '01a23626-539a-7374-92bf-5233104781a2';

function execution(status: string) {
  return {
    id: ID,
    config_id: 'cfg-1',
    config_name: 'folder-ingest',
    status,
    tag: 'nightly-1',
    created_at: '2026-12-02T09:00:00Z',
    started_at: '2026-12-02T09:00:00Z',
    completed_at: status === 'completed' ? '2026-12-02T09:00:05Z' : undefined,
    updated_at: '2026-12-02T09:00:05Z',
  };
}

const dag = {
  execution_id: ID,
  init_route: 'scan',
  nodes: [
    { route_id: 'scan', name: 'Scan folder', queue: 'f.scan', adapters: [{ type: 'file_source', name: 'file_source' }] },
    {
      route_id: 'convert',
      name: 'Convert',
      queue: 'f.convert',
      adapters: [
        { type: 'html_to_markdown', name: 'html_to_markdown' },
        { type: 'markdown_storage_writer', name: 'writer' },
      ],
    },
  ],
  edges: [{ from_route: 'scan', to_route: 'convert', queue: 'f.convert' }],
};

function route(id: string, over: Record<string, unknown> = {}) {
  return { ...emptyRoute(id), queue: `f.${id}`, ...over };
}

function stats(status: string) {
  return {
    execution_id: ID,
    status,
    elapsed_ms: 5000,
    outstanding: 0,
    artefacts: 7,
    dead_letters: 0,
    lineage_rows: 10,
    totals: route('*', { received: 13, completed: 13 }),
    routes: [route('scan', { received: 1, completed: 1, emitted: 12 }), route('convert', { received: 12, completed: 11, failed: 3 })],
    adapters: [],
  };
}


function sseBody(text: string, keepOpen = false): Response {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(ctl) {
      ctl.enqueue(enc.encode(text));
      if (!keepOpen) ctl.close();
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

interface Call {
  url: string;
  method: string;
  body?: string;
}

function stubApi(status: string, events?: () => Response) {
  const calls: Call[] = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = input instanceof Request ? input.url : String(input);
    const method = input instanceof Request ? input.method : (init?.method ?? 'GET');
    const body = input instanceof Request && method !== 'GET' ? await input.clone().text() : undefined;
    calls.push(body ? { url, method, body } : { url, method });
    const path = new URL(url, 'http://localhost').pathname;
    const base = `/api/v1/executions/${ID}`;
    if (method === 'POST' && path === `${base}/cancel`) return json({ id: ID, status: 'cancelling' });
    if (method === 'PATCH' && path.startsWith('/api/v1/pipelines/')) {
      const routeId = path.split('/').pop();
      return json({ success: true, route_id: routeId, status: 'paused', message: `route ${routeId} paused` });
    }
    if (path === `${base}/events`) return events ? events() : sseBody(': idle\n\n', true);
    if (path === base) return json(execution(status));
    if (path === `${base}/stats`) return json(stats(status));
    if (path === `${base}/dag`) return json(dag);
    if (path === `${base}/replays`) return json({ total: 0, limit: 20, offset: 0, has_more: false, items: [] });
    if (path === '/api/v1/pipelines') return json({ total: 1, limit: 1, offset: 0, has_more: false, items: [{ route_id: 'convert', state: 'paused', updated_at: '2026-12-02T09:00:00Z' }] });
    return json({ error_code: 'NOT_FOUND', detail: `no stub for ${method} ${path}` }, 404);
  });
  fetchStub.impl = fetchMock as unknown as typeof fetch;
  return { calls, fetchMock };
}

function renderDetail() {
  return renderPage(
    <Routes>
      <Route path="/executions/:id" element={<ExecutionDetailPage />} />
    </Routes>,
    `/executions/${ID}`,
  );
}

/** The counts row of a route node, as text. */
async function nodeText(routeId: string) {
  const node = await screen.findByRole('group', { name: `Route ${routeId}` });
  return node;
}

// Mantine and React Flow render slowly in jsdom on a busy machine.
configure({ asyncUtilTimeout: 5000 });
vi.setConfig({ testTimeout: 30_000 });

afterEach(() => {
  fetchStub.impl = null;
});

describe('ExecutionDetailPage', () => {
  it('renders the header, DAG nodes and per-route counts from the API', async () => {
    const { calls } = stubApi('completed');
    renderDetail();
    expect(await screen.findByRole('heading', { name: 'nightly-1' })).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'folder-ingest' })).toHaveAttribute('href', '/pipelines/cfg-1');

    const scan = await nodeText('scan');
    expect(within(scan).getByText('Scan folder')).toBeInTheDocument();
    expect(within(scan).getByText('file_source')).toBeInTheDocument();

    const convert = await nodeText('convert');
    await waitFor(() => {
      const counts = within(convert).getAllByTestId('route-count').map((e) => e.textContent);
      // received, completed, failed, dead-lettered, in flight
      expect(counts).toEqual(['12', '11', '3', '0', '0']);
    });
    expect(within(convert).getByText('writer (markdown_storage_writer)')).toBeInTheDocument();
    // The persisted route state says convert is paused: its button resumes.
    expect(within(convert).getByRole('button', { name: 'Resume route convert' })).toBeInTheDocument();
    expect(within(scan).getByRole('button', { name: 'Pause route scan' })).toBeInTheDocument();

    // A finished execution is not followed live and cannot be cancelled.
    expect(screen.queryByRole('button', { name: 'Cancel execution' })).not.toBeInTheDocument();
    expect(calls.some((c) => c.url.includes('/events'))).toBe(false);
  });

  it('pauses a route key with PATCH /pipelines/{route_id}', async () => {
    const { calls } = stubApi('completed');
    renderDetail();
    const scan = await nodeText('scan');
    fireEvent.click(within(scan).getByRole('button', { name: 'Pause route scan' }));
    await waitFor(() => {
      const patch = calls.find((c) => c.method === 'PATCH');
      expect(patch && new URL(patch.url).pathname).toBe('/api/v1/pipelines/scan');
      expect(JSON.parse(patch!.body!)).toEqual({ state: 'paused' });
    });
    expect(await screen.findByText('route scan paused')).toBeInTheDocument();
  });

  it('cancels after confirmation with a POST to /cancel', async () => {
    const { calls } = stubApi('running');
    renderDetail();
    fireEvent.click(await screen.findByRole('button', { name: 'Cancel execution' }));
    const dialog = await screen.findByRole('dialog', { name: 'Cancel this execution?' });
    expect(calls.some((c) => c.method === 'POST')).toBe(false);
    fireEvent.click(within(dialog).getByRole('button', { name: 'Confirm cancel' }));
    await waitFor(() =>
      expect(calls.filter((c) => c.method === 'POST').map((c) => new URL(c.url).pathname)).toEqual([
        `/api/v1/executions/${ID}/cancel`,
      ]),
    );
  });

  it('updates route counts from SSE progress events and refetches on the terminal status', async () => {
    const progress = {
      id: 'e1',
      execution_id: ID,
      type: 'progress',
      status: 'running',
      created_at: '2026-12-02T09:00:02Z',
      data: {
        outstanding: 4,
        artefacts: 9,
        routes: [
          { route: 'scan', received: 1, completed: 1, in_flight: 0, rate: 0 },
          { route: 'convert', received: 57, completed: 42, failed: 3, dead_lettered: 2, in_flight: 5, rate: 12.5 },
        ],
      },
    };
    let start: () => void = () => {};
    const started = new Promise<void>((r) => (start = r));
    let release: () => void = () => {};
    const gate = new Promise<void>((r) => (release = r));
    const enc = new TextEncoder();
    const { calls } = stubApi('running', () => {
      const body = new ReadableStream<Uint8Array>({
        async start(ctl) {
          ctl.enqueue(enc.encode(': stream\n\n'));
          await started;
          ctl.enqueue(enc.encode(`id: e1\nevent: progress\ndata: ${JSON.stringify(progress)}\n\n`));
          await gate;
          ctl.enqueue(
            enc.encode(
              `id: e2\nevent: status\ndata: ${JSON.stringify({ id: 'e2', execution_id: ID, type: 'status', status: 'completed', created_at: '2026-12-02T09:00:05Z' })}\n\n`,
            ),
          );
          ctl.close();
        },
      });
      return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
    });
    renderDetail();
    expect(await screen.findByLabelText('Live updates on')).toBeInTheDocument();
    const convert = await nodeText('convert');
    // First the counts of GET /stats, then those of the progress event.
    await waitFor(() => {
      const counts = within(convert).getAllByTestId('route-count').map((e) => e.textContent);
      expect(counts).toEqual(['12', '11', '3', '0', '0']);
    });
    start();
    await waitFor(() => {
      const counts = within(convert).getAllByTestId('route-count').map((e) => e.textContent);
      expect(counts).toEqual(['57', '42', '3', '2', '5']);
    });
    expect(within(convert).getByText('12.5 msg/s')).toBeInTheDocument();

    const statsCalls = () => calls.filter((c) => c.url.endsWith('/stats')).length;
    const before = statsCalls();
    release();
    // The terminal status ends the live view and fetches the final numbers.
    await waitFor(() => expect(statsCalls()).toBeGreaterThan(before));
    await waitFor(() => expect(screen.getByLabelText('Not live')).toBeInTheDocument());
  });
});
