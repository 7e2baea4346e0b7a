import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { act, screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { notifications } from '@mantine/notifications';
import { Route, Routes, useParams } from 'react-router';
import { renderPage } from '../../../test/render';
import ExecutionsPage from '../ExecutionsPage';
import { fetchStub, json } from '../../../test/fetch';




const t0 = new Date(Date.now() - 60_000).toISOString();
const t1 = new Date(Date.now() - 50_000).toISOString();
const completed = {
  id: '01a00000-0000-7000-8000-000000000001',
  config_name: 'folder-ingest',
  status: 'completed',
  tag: 'nightly-7',
  created_at: t0,
  started_at: t0,
  completed_at: t1,
  updated_at: t1,
  error_info: { stats: { received: 443, completed: 440, failed: 3, dead_lettered: 2, skipped: 0 } },
};
const failed = {
  id: '01a00000-0000-7000-8000-000000000002',
  config_name: 'docs-ingest',
  status: 'failed',
  created_at: t0,
  started_at: t0,
  completed_at: t1,
  updated_at: t1,
};
const configs = {
  total: 2,
  limit: 500,
  offset: 0,
  has_more: false,
  items: [
    { id: 'c1', name: 'folder-ingest', is_runnable: true, description: 'Ingest a folder', config_yaml: 'init_message:\n  route: scan\n  payload: { root: "" }\n', validation_report: { is_valid: true, error_count: 0, warning_count: 0, findings: [] }, source_type: 'file', config_hash: 'h', version: 1, is_active: true, created_at: t0, updated_at: t0 },
    { id: 'c2', name: 'broken', is_runnable: false, config_yaml: 'x', validation_report: { is_valid: false, error_count: 1, warning_count: 0, findings: [] }, source_type: 'api', config_hash: 'h', version: 1, is_active: true, created_at: t0, updated_at: t0 },
  ],
};

interface Call {
  method: string;
  path: string;
  params: URLSearchParams;
  body?: unknown;
}
let calls: Call[];

function install(handler: (c: Call) => Response | undefined = () => undefined) {
  calls = [];
  fetchStub.impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const req = input instanceof Request ? input : undefined;
    const url = new URL(req ? req.url : String(input), 'http://localhost');
    const method = req?.method ?? init?.method ?? 'GET';
    let body: unknown;
    if (req && method !== 'GET') body = JSON.parse(await req.clone().text());
    const c: Call = { method, path: url.pathname, params: url.searchParams, body };
    calls.push(c);
    const o = handler(c);
    if (o) return o;
    if (c.path === '/api/v1/executions' && method === 'GET') {
      return json({ total: 2, limit: 25, offset: 0, has_more: false, items: [completed, failed] });
    }
    if (c.path === '/api/v1/configs') return json(configs);
    return json({ title: 'Not Found', status: 404, detail: 'not found', error_code: 'NOT_FOUND' }, 404);
  }) as typeof fetch;
}

function Detail() {
  const { id } = useParams();
  return <p>detail of {id}</p>;
}

function renderList(route = '/executions') {
  return renderPage(
    <Routes>
      <Route path="/executions" element={<ExecutionsPage />} />
      <Route path="/executions/:id" element={<Detail />} />
    </Routes>,
    route,
  );
}

/** chooseConfig picks a config in the start dialog's select. */
async function chooseConfig(dialog: HTMLElement, name: string) {
  const box = within(dialog).getByRole('combobox', { name: 'Pipeline config' });
  await userEvent.click(box);
  await waitFor(() => expect(box.getAttribute('aria-controls')).toBeTruthy());
  const listbox = document.getElementById(box.getAttribute('aria-controls')!)!;
  const option = await within(listbox).findByRole('option', { name, hidden: true });
  await userEvent.click(option, { pointerEventsCheck: 0 });
  await waitFor(() => expect(box).toHaveValue(name));
}

const listCalls = () => calls.filter((c) => c.path === '/api/v1/executions' && c.method === 'GET');

beforeEach(() => install());
afterEach(() => {
  fetchStub.impl = null;
  // Toasts live in a module-wide store: none may leak into the next test.
  act(() => notifications.clean());
});

describe('ExecutionsPage', () => {
  it('lists executions with status, config, tag and message counts', async () => {
    renderList();
    const table = await screen.findByRole('table', { name: 'Executions' });
    const row = (await within(table).findByRole('link', { name: 'nightly-7' })).closest('tr')!;
    expect(row).toHaveTextContent('completed');
    expect(row).toHaveTextContent('folder-ingest');
    expect(row).toHaveTextContent('440/443');
    expect(row).toHaveTextContent('3 failed');
    expect(row).toHaveTextContent('2 DLQ');
    expect(row).toHaveTextContent('10.0 s');
    expect(within(table).getByText('docs-ingest').closest('tr')).toHaveTextContent('failed');
    expect(screen.getByText('1–2 of 2')).toBeInTheDocument();
  });

  it('sends the filters held in the URL and pages with offset', async () => {
    install((c) =>
      c.path === '/api/v1/executions' && c.method === 'GET'
        ? json({ total: 60, limit: 25, offset: Number(c.params.get('offset') ?? 0), has_more: true, items: [failed] })
        : undefined,
    );
    renderList('/executions?status=failed&config=folder-ingest');
    await screen.findByRole('table', { name: 'Executions' });
    await waitFor(() => expect(listCalls().length).toBeGreaterThan(0));
    const first = listCalls()[0].params;
    expect(first.get('status')).toBe('failed');
    expect(first.get('config_id')).toBe('folder-ingest');
    expect(first.get('limit')).toBe('25');
    expect(first.get('offset')).toBe('0');
    expect(screen.getByRole('combobox', { name: 'Status' })).toHaveValue('failed');

    await userEvent.click(await screen.findByRole('button', { name: 'next page' }));
    await waitFor(() => expect(listCalls().some((c) => c.params.get('offset') === '25')).toBe(true));
    expect(listCalls().at(-1)!.params.get('status')).toBe('failed');
  });

  it('navigates to the detail page on a row click', async () => {
    renderList();
    const table = await screen.findByRole('table', { name: 'Executions' });
    await userEvent.click(await within(table).findByText('docs-ingest'));
    expect(await screen.findByText(`detail of ${failed.id}`)).toBeInTheDocument();
  });

  it('starts an execution with config, tag, payload and metadata, then opens it', async () => {
    install((c) => {
      if (c.path === '/api/v1/executions' && c.method === 'POST') {
        return json({ ...completed, id: '01a00000-0000-7000-8000-00000000beef', status: 'running', tag: 'ui-run-1' }, 201);
      }
      return undefined;
    });
    renderList();
    await userEvent.click(await screen.findByRole('button', { name: 'Start execution' }));
    const dialog = await screen.findByRole('dialog', { name: 'Start execution' });
    await chooseConfig(dialog, 'folder-ingest');
    // The config's init payload is offered as a template.
    const payload = within(dialog).getByRole('textbox', { name: 'Payload' });
    await waitFor(() => expect(payload).toHaveValue('{\n  "root": ""\n}'));
    await userEvent.clear(payload);
    await userEvent.click(payload);
    await userEvent.paste('{"root": "/work/main/docsite"}');
    await userEvent.click(within(dialog).getByRole('textbox', { name: 'Tag' }));
    await userEvent.paste('ui-run-1');
    await userEvent.click(within(dialog).getByRole('textbox', { name: 'Metadata' }));
    await userEvent.paste('{"ticket": "OPS-42"}');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start' }));

    expect(await screen.findByText('detail of 01a00000-0000-7000-8000-00000000beef')).toBeInTheDocument();
    const post = calls.find((c) => c.method === 'POST' && c.path === '/api/v1/executions');
    expect(post?.body).toEqual({
      config_id: 'folder-ingest',
      tag: 'ui-run-1',
      payload: { root: '/work/main/docsite' },
      metadata: { ticket: 'OPS-42' },
    });
  }, 20_000);

  it('does not start with invalid metadata and shows a server refusal', async () => {
    install((c) => {
      if (c.path === '/api/v1/executions' && c.method === 'POST') {
        return json({ title: 'Conflict', status: 409, detail: 'too many executions', error_code: 'CONCURRENCY_LIMIT', hint: 'wait for one to end' }, 409);
      }
      return undefined;
    });
    renderList();
    await userEvent.click(await screen.findByRole('button', { name: 'Start execution' }));
    const dialog = await screen.findByRole('dialog', { name: 'Start execution' });
    await chooseConfig(dialog, 'folder-ingest');
    await userEvent.click(within(dialog).getByRole('textbox', { name: 'Metadata' }));
    await userEvent.paste('{not json');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start' }));
    expect(within(dialog).getByText('Invalid JSON')).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'POST')).toBe(false);

    await userEvent.clear(within(dialog).getByRole('textbox', { name: 'Metadata' }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent('too many executions');
    expect(alert).toHaveTextContent('CONCURRENCY_LIMIT');
  }, 20_000);

  it('shows an error when the list cannot be loaded', async () => {
    install((c) =>
      c.path === '/api/v1/executions' ? json({ title: 'Internal Server Error', status: 500, detail: 'database down', error_code: 'INTERNAL' }, 500) : undefined,
    );
    renderList();
    const alert = (await screen.findByText('Could not load executions', {}, { timeout: 5000 })).closest('[role="alert"]');
    expect(alert).not.toBeNull();
    expect(alert).toHaveTextContent('database down');
  });

  it('shows an empty state when nothing matches', async () => {
    install((c) =>
      c.path === '/api/v1/executions' ? json({ total: 0, limit: 25, offset: 0, has_more: false, items: [] }) : undefined,
    );
    renderList('/executions?status=cancelled');
    expect(await screen.findByText('No executions match')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Clear filters' }));
    expect(await screen.findByText('No executions yet')).toBeInTheDocument();
  });
});
