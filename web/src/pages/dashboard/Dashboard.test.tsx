import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { notifications } from '@mantine/notifications';
import { renderPage } from '../../test/render';
import Dashboard from '../Dashboard';
import { fetchStub, json } from '../../test/fetch';


type Handler = (url: URL, init: RequestInit | undefined, req: Request | undefined) => Response | undefined;


/** sse answers an event stream that stays open after the given events. */
function sse(events: { event: string; data: unknown }[]): Response {
  const text = events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join('');
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      c.enqueue(new TextEncoder().encode(': stream\n\n' + text));
    },
  });
  return new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } });
}

const now = new Date().toISOString();
const running = {
  id: '01a00000-0000-7000-8000-00000000aaaa',
  config_name: 'folder-ingest',
  status: 'running',
  tag: 'nightly-1',
  created_at: now,
  started_at: now,
  updated_at: now,
};
const failedExec = {
  id: '01a00000-0000-7000-8000-00000000bbbb',
  config_name: 'docs-ingest',
  status: 'failed',
  created_at: now,
  completed_at: now,
  updated_at: now,
  error_info: { message: 'broker went away' },
};
const health = {
  status: 'degraded',
  version: '1.2.3',
  timestamp: now,
  uptime_seconds: 90,
  components: [
    { name: 'database', status: 'healthy', checked_at: now, latency_ms: 0.5 },
    { name: 'queue', status: 'degraded', message: 'nats reconnecting', checked_at: now, latency_ms: 3.2, details: { reconnect_attempts: 4 } },
  ],
};
const info = {
  version: '1.2.3',
  go_version: 'go1.26',
  started_at: now,
  uptime_seconds: 90,
  adapters: 17,
  pipeline_schema_version: '1.0',
  instance_id: 'inst-1',
  providers: {
    queue: { provider: 'nats', url: 'embedded' },
    storage: { uri: 'file:///data/storage' },
    database: { url: 'postgres://x@db/factflow' },
    pgvector: true,
  },
  limits: { max_concurrent_executions: 10, max_body_bytes: 1, sse_heartbeat_seconds: 15 },
};
const deadLetter = (id: string, route: string) => ({
  id,
  execution_id: running.id,
  route,
  queue: `q.${route}`,
  correlation_id: id,
  payload: {},
  reason: 'boom',
  error_class: 'permanent',
  attempt: 1,
  first_failed_at: now,
  created_at: now,
});
const page = <T,>(items: T[], total = items.length) => ({ total, limit: 50, offset: 0, has_more: total > items.length, items });

let requests: string[];
let fetchMock: ReturnType<typeof vi.fn>;

function install(overrides: Handler = () => undefined) {
  requests = [];
  fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : undefined;
    const url = new URL(req ? req.url : String(input), 'http://localhost');
    requests.push(url.pathname + url.search);
    const o = overrides(url, init, req);
    if (o) return o;
    const p = url.pathname;
    if (p === '/api/v1/system/health') return json(health);
    if (p === '/api/v1/system/info') return json(info);
    if (p === '/api/v1/executions') {
      const st = url.searchParams.get('status');
      if (st === 'running') return json(page([running]));
      if (st === 'failed') return json(page([failedExec], 3));
      return json(page([]));
    }
    if (p === `/api/v1/executions/${running.id}/events`) {
      return sse([
        {
          event: 'progress',
          data: {
            id: 'e1',
            execution_id: running.id,
            type: 'progress',
            status: 'running',
            created_at: new Date().toISOString(),
            data: {
              outstanding: 2,
              routes: [
                { route: 'scan', received: 1, completed: 1, failed: 0, dead_lettered: 0, in_flight: 0, rate: 0.5 },
                { route: 'embed', received: 40, completed: 31, failed: 2, dead_lettered: 1, in_flight: 5, rate: 12 },
              ],
            },
          },
        },
      ]);
    }
    if (p === '/api/v1/lineage/failures') {
      return json(
        page(
          [
            {
              id: 'l1',
              correlation_id: 'c1',
              execution_id: running.id,
              route_id: 'embed',
              adapter_name: 'embedding_generator',
              adapter_index: 0,
              stage_name: 'embedding_generator',
              stage_status: 'failed',
              started_at: now,
              completed_at: now,
              duration_ms: 1,
              error_info: { code: 'LLM_TIMEOUT', class: 'transient', message: 'provider timed out' },
            },
          ],
          1,
        ),
      );
    }
    if (p === '/api/v1/dead-letters') {
      return json(page([deadLetter('d1', 'embed'), deadLetter('d2', 'embed'), deadLetter('d3', 'convert')]));
    }
    return json({ title: 'Not Found', status: 404, detail: `no stub for ${p}` }, 404);
  });
  fetchStub.impl = fetchMock as unknown as typeof fetch;
}

beforeEach(() => install());
afterEach(() => {
  fetchStub.impl = null;
  // Toasts live in a module-wide store: none may leak into the next test.
  act(() => notifications.clean());
});

describe('Dashboard', () => {
  it('shows component health and system info', async () => {
    renderPage(<Dashboard />);
    const table = await screen.findByRole('table', { name: 'Component health' });
    expect(within(table).getByText('database')).toBeInTheDocument();
    expect(within(table).getByText('nats reconnecting')).toBeInTheDocument();
    expect(within(table).getAllByText('degraded').length).toBeGreaterThan(0);
    // Details of a component unfold.
    await userEvent.click(within(table).getByRole('button', { name: 'Show queue details' }));
    expect(await within(table).findByText(/reconnect_attempts/)).toBeInTheDocument();

    const sys = await screen.findByRole('table', { name: 'System information' });
    expect(within(sys).getByText(/nats · embedded/)).toBeInTheDocument();
    expect(within(sys).getByText('file:///data/storage')).toBeInTheDocument();
    expect(within(sys).getByText('pgvector')).toBeInTheDocument();
    expect(requests).toContain('/api/v1/system/health?debug=true');
  });

  it('shows running executions with live throughput from the event stream', async () => {
    renderPage(<Dashboard />);
    const table = await screen.findByRole('table', { name: 'Running executions' });
    expect(within(table).getByRole('link', { name: 'folder-ingest' })).toHaveAttribute('href', `/executions/${running.id}`);
    // Totals summed over routes: 32 of 41 done, 12.5 msg/s.
    expect(await within(table).findByText('32 / 41')).toBeInTheDocument();
    expect(within(table).getByLabelText('Throughput of nightly-1')).toHaveTextContent('12.5 msg/s');
    expect(within(table).getByText('5 in flight')).toBeInTheDocument();
    expect(within(table).getByText('2 failed')).toBeInTheDocument();
    expect(requests.some((r) => r.startsWith('/api/v1/executions?') && r.includes('status=running') && r.includes('limit=10'))).toBe(true);
  });

  it('shows the dead-letter depth per route and recent failures', async () => {
    renderPage(<Dashboard />);
    const byRoute = await screen.findByRole('table', { name: 'Dead letters by route' });
    const rows = within(byRoute).getAllByRole('row');
    // Header, then routes by depth.
    expect(rows[1]).toHaveTextContent('embed');
    expect(rows[1]).toHaveTextContent('2');
    expect(rows[2]).toHaveTextContent('convert');
    expect(within(byRoute).getByRole('link', { name: 'embed' })).toHaveAttribute('href', '/dead-letters?route=embed');
    expect(screen.getByRole('link', { name: 'Open dead letters' })).toHaveAttribute('href', '/dead-letters');

    const failed = await screen.findByRole('list', { name: 'Failed executions' });
    expect(within(failed).getByText('broker went away')).toBeInTheDocument();
    expect(within(failed).getByRole('link', { name: /docs-ingest/ })).toHaveAttribute('href', `/executions/${failedExec.id}`);

    await userEvent.click(screen.getByRole('tab', { name: /Steps/ }));
    const steps = await screen.findByRole('list', { name: 'Failed steps' });
    expect(within(steps).getByText('LLM_TIMEOUT')).toBeInTheDocument();
    expect(within(steps).getByText(/provider timed out/)).toBeInTheDocument();
  });

  it('shows an error with its code when the health check fails', async () => {
    install((url) =>
      url.pathname === '/api/v1/system/health'
        ? json({ title: 'Service Unavailable', status: 503, detail: 'database unreachable', error_code: 'DB_DOWN', hint: 'check postgres' }, 503)
        : undefined,
    );
    renderPage(<Dashboard />);
    const alert = await screen.findByRole('alert', {}, { timeout: 4000 });
    expect(alert).toHaveTextContent('Health check failed');
    expect(alert).toHaveTextContent('database unreachable');
    expect(alert).toHaveTextContent('DB_DOWN');
  });

  it('says so when nothing runs and the queue is empty', async () => {
    install((url) => {
      if (url.pathname === '/api/v1/executions') return json(page([]));
      if (url.pathname === '/api/v1/dead-letters') return json(page([]));
      return undefined;
    });
    renderPage(<Dashboard />);
    expect(await screen.findByText('Nothing running')).toBeInTheDocument();
    expect(await screen.findByText('Queue is empty')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByRole('table', { name: 'Running executions' })).not.toBeInTheDocument());
  });
});
