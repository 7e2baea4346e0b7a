import { describe, expect, it, vi } from 'vitest';
import { configure, screen, waitFor, within } from '@testing-library/react';
import userEventLib from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { renderPage } from '../../test/render';
import PipelinesPage from './PipelinesPage';
import { makeConfig, stubFetch } from './testutil';

// openapi-fetch keeps the fetch it saw at creation: delegate to the current stub.
const bad = makeConfig({
  id: '01a23620-0000-7000-8000-000000000002',
  name: 'broken-crawl',
  description: 'Has an unknown adapter',
  is_runnable: false,
  validation_report: {
    is_valid: false,
    error_count: 2,
    warning_count: 0,
    findings: [],
  },
});
const good = makeConfig();

function listStub(extra?: Parameters<typeof stubFetch>[0]) {
  return stubFetch((c) => {
    const r = extra?.(c);
    if (r) return r;
    if (c.method === 'GET' && c.url.pathname === '/api/v1/configs')
      return { body: { total: 2, limit: 1000, offset: 0, has_more: false, items: [good, bad] } };
    return undefined;
  });
}

function renderList() {
  return renderPage(
    <Routes>
      <Route path="/pipelines" element={<PipelinesPage />} />
      <Route path="/executions/:id" element={<div>execution page</div>} />
    </Routes>,
    '/pipelines',
  );
}

// The machine may be busy: no keystroke delay, generous timeouts.
const userEvent = userEventLib.setup({ delay: null });
vi.setConfig({ testTimeout: 30_000 });
configure({ asyncUtilTimeout: 5_000 });

describe('PipelinesPage', () => {
  it('lists configs with their validity and filters them by search', async () => {
    listStub();
    renderList();
    const table = await screen.findByRole('table', { name: 'Pipelines' });
    const rows = within(table).getAllByRole('row');
    expect(rows).toHaveLength(3);
    expect(within(rows[1]).getByText('folder-ingest')).toBeInTheDocument();
    expect(within(rows[1]).getByText('valid')).toBeInTheDocument();
    expect(within(rows[1]).getByText('v3')).toBeInTheDocument();
    expect(within(rows[2]).getByText('2 errors')).toBeInTheDocument();
    expect(within(rows[2]).getByRole('button', { name: 'Run broken-crawl' })).toBeDisabled();
    expect(screen.getByRole('link', { name: 'New pipeline' })).toHaveAttribute('href', '/pipelines/new');

    await userEvent.type(screen.getByRole('textbox', { name: 'Search pipelines' }), 'unknown adapter');
    await waitFor(() => expect(within(table).getAllByRole('row')).toHaveLength(2));
    expect(within(table).getByText('broken-crawl')).toBeInTheDocument();
    expect(within(table).queryByText('folder-ingest')).not.toBeInTheDocument();
  });

  it('shows an error when the list fails', async () => {
    stubFetch(() => ({ status: 500, body: { title: 'Internal Server Error', status: 500, error_code: 'INTERNAL', detail: 'database down' } }));
    renderList();
    expect(await screen.findByText('database down')).toBeInTheDocument();
  });

  it('run dialog rejects invalid JSON, then sends the payload and the tag as query param', async () => {
    const { calls } = listStub((c) =>
      c.method === 'POST' && c.url.pathname.endsWith('/run')
        ? { status: 201, body: { id: 'ex-123', status: 'pending', created_at: '', updated_at: '', tag: 'nightly-1' } }
        : undefined,
    );
    renderList();
    await userEvent.click(await screen.findByRole('button', { name: 'Run folder-ingest' }));
    const dialog = await screen.findByRole('dialog');
    const payload = within(dialog).getByRole('textbox', { name: /Payload overrides/ });
    // Prefilled from the config's init_message payload.
    expect(payload).toHaveValue('{\n  "root": "/srv/docs"\n}');

    await userEvent.clear(payload);
    await userEvent.click(payload);
    await userEvent.paste('{"root": ');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start execution' }));
    expect(await within(dialog).findByText(/Invalid JSON/)).toBeInTheDocument();
    expect(calls.some((c) => c.url.pathname.endsWith('/run'))).toBe(false);

    await userEvent.clear(payload);
    await userEvent.click(payload);
    await userEvent.paste('[1]');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start execution' }));
    expect(await within(dialog).findByText(/must be a JSON object/)).toBeInTheDocument();
    expect(calls.some((c) => c.url.pathname.endsWith('/run'))).toBe(false);

    await userEvent.clear(payload);
    await userEvent.click(payload);
    await userEvent.paste('{"root": "/data"}');
    await userEvent.type(within(dialog).getByRole('textbox', { name: 'Tag' }), 'nightly-1');
    await userEvent.click(within(dialog).getByRole('checkbox', { name: /Skip init message/ }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start execution' }));

    expect(await screen.findByText('execution page')).toBeInTheDocument();
    const run = calls.find((c) => c.url.pathname.endsWith('/run'))!;
    expect(run.method).toBe('POST');
    expect(run.url.pathname).toBe(`/api/v1/configs/${good.id}/run`);
    expect(run.url.searchParams.get('tag')).toBe('nightly-1');
    expect(run.url.searchParams.get('skip_init_message')).toBe('true');
    expect(run.body).toEqual({ root: '/data' });
  });

  it('run dialog shows the API error (tag taken)', async () => {
    listStub((c) =>
      c.method === 'POST' && c.url.pathname.endsWith('/run')
        ? { status: 409, body: { title: 'Conflict', status: 409, error_code: 'EXECUTION_TAG_TAKEN', detail: 'tag nightly is taken', hint: 'choose another tag' } }
        : undefined,
    );
    renderList();
    await userEvent.click(await screen.findByRole('button', { name: 'Run folder-ingest' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByRole('textbox', { name: 'Tag' }), 'nightly');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start execution' }));
    expect(await within(dialog).findByText('tag nightly is taken')).toBeInTheDocument();
    expect(within(dialog).getByText('EXECUTION_TAG_TAKEN')).toBeInTheDocument();
  });

  it('deactivates a config after confirmation', async () => {
    const { calls } = listStub((c) => (c.method === 'DELETE' ? { status: 204 } : undefined));
    renderList();
    await userEvent.click(await screen.findByRole('button', { name: 'Deactivate broken-crawl' }));
    const dialog = await screen.findByRole('dialog', { name: 'Deactivate pipeline?' });
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await userEvent.click(within(dialog).getByRole('button', { name: 'Deactivate' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
    const del = calls.find((c) => c.method === 'DELETE')!;
    expect(del.url.pathname).toBe(`/api/v1/configs/${bad.id}`);
    expect(await screen.findByText('Pipeline deactivated')).toBeInTheDocument();
  });
});
