import { screen, waitFor, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it } from 'vitest';
import { notifications } from '@mantine/notifications';
import { renderPage } from '../../test/render';
import DeadLettersPage from './DeadLettersPage';
import { fetchStub, json, readRequest } from '../../test/fetch';



const dl = (n: number, extra: Record<string, unknown> = {}) => ({
  id: `dl-${n}`,
  execution_id: 'exec-aaaa',
  route: 'explode',
  adapter: 'fail',
  queue: 'demo.fail',
  correlation_id: `corr-${n}`,
  payload: { path: `/docs/file-${n}.md`, n },
  headers: { 'factflow-attempt': '1', 'factflow-route': 'scan' },
  reason: `FAIL_INDUCED: refused document ${n}`,
  error_class: 'permanent',
  attempt: 1,
  first_failed_at: '2026-12-01T10:00:00Z',
  created_at: '2026-12-01T10:00:01Z',
  ...extra,
});

interface Call {
  method: string;
  path: string;
  search: URLSearchParams;
  body?: unknown;
}

function stub(items = [dl(1), dl(2), dl(3)]) {
  const calls: Call[] = [];
  let current = items;
  fetchStub.impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { url, method, body } = await readRequest(input, init);
    const call: Call = { method, path: url.pathname, search: url.searchParams, body };
    calls.push(call);
    if (url.pathname === '/api/v1/dead-letters' && method === 'GET') {
      return json({ total: current.length, limit: 50, offset: 0, has_more: false, items: current });
    }
    if (url.pathname === '/api/v1/dead-letters/requeue') {
      const ids = (call.body as { ids: string[] }).ids;
      current = current.filter((d) => !ids.includes(d.id));
      return json({
        requeued: ids.length,
        executions: [{ execution_id: 'exec-child', requeued: ids.length, status: 'running', source_execution_id: 'exec-aaaa' }],
        items: ids.map((id) => ({ dead_letter_id: id, message_id: `m-${id}`, execution_id: 'exec-child' })),
      });
    }
    const one = url.pathname.match(/^\/api\/v1\/dead-letters\/([^/]+)$/);
    if (one && method === 'DELETE') {
      current = current.filter((d) => d.id !== decodeURIComponent(one[1]));
      return json(null, 204);
    }
    if (one && method === 'GET') {
      const d = current.find((x) => x.id === decodeURIComponent(one[1]));
      return d ? json(d) : json({ title: 'Not Found', error_code: 'DEAD_LETTER_NOT_FOUND' }, 404);
    }
    return json({ title: 'unexpected', detail: `${method} ${url.pathname}` }, 500);
  }) as typeof fetch;
  return calls;
}

afterEach(() => {
  fetchStub.impl = null;
  // The notifications store outlives a test's render.
  notifications.clean();
});

describe('DeadLettersPage', { timeout: 20_000 }, () => {
  it('lists dead letters with the filters from the address', async () => {
    const calls = stub();
    renderPage(<DeadLettersPage />, '/dead-letters?execution=exec-aaaa');
    const table = await screen.findByRole('table', { name: 'Dead letters' });
    expect(within(table).getByText('FAIL_INDUCED: refused document 2')).toBeInTheDocument();
    const list = calls.find((c) => c.path === '/api/v1/dead-letters');
    expect(list?.search.get('execution_id')).toBe('exec-aaaa');
    expect(list?.search.get('state')).toBe('pending');
    expect(screen.getByLabelText('Execution')).toHaveValue('exec-aaaa');
  });

  it('bulk requeue sends exactly the selected ids and reports where they went', async () => {
    const user = userEvent.setup();
    const calls = stub();
    renderPage(<DeadLettersPage />, '/dead-letters');
    await user.click(await screen.findByRole('checkbox', { name: 'Select dead letter dl-1' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select dead letter dl-3' }));
    expect(screen.getByText('2 selected')).toBeInTheDocument();

    await user.click(screen.getByRole('button', { name: 'Requeue selected' }));
    const dialog = await screen.findByRole('dialog', { name: 'Requeue 2 dead letters?' });
    await user.click(within(dialog).getByRole('button', { name: 'Confirm requeue' }));

    await waitFor(() => expect(calls.some((c) => c.path === '/api/v1/dead-letters/requeue')).toBe(true));
    const req = calls.find((c) => c.path === '/api/v1/dead-letters/requeue')!;
    expect(req.method).toBe('POST');
    expect(req.body).toEqual({ ids: ['dl-1', 'dl-3'] });

    // The answer says where they went, and the list is fetched again.
    expect(await screen.findByText(/2 into new execution exec-child/)).toBeInTheDocument();
    const outcome = screen.getByRole('link', { name: 'exec-child' });
    expect(outcome).toHaveAttribute('href', '/executions/exec-child');
    await waitFor(() => expect(screen.queryByText('FAIL_INDUCED: refused document 1')).not.toBeInTheDocument());
    expect(screen.getByText('FAIL_INDUCED: refused document 2')).toBeInTheDocument();
    expect(calls.filter((c) => c.path === '/api/v1/dead-letters' && c.method === 'GET').length).toBeGreaterThan(1);
  });

  it('requeue with a delay sends delay_seconds', async () => {
    const user = userEvent.setup();
    const calls = stub();
    renderPage(<DeadLettersPage />, '/dead-letters');
    await user.click(await screen.findByRole('checkbox', { name: 'Select dead letter dl-2' }));
    await user.click(screen.getByRole('button', { name: 'Requeue selected' }));
    const dialog = await screen.findByRole('dialog', { name: 'Requeue 1 dead letter?' });
    const delay = within(dialog).getByRole('textbox', { name: /Delay before delivery/ });
    await user.clear(delay);
    await user.type(delay, '30');
    await user.click(within(dialog).getByRole('button', { name: 'Confirm requeue' }));
    await waitFor(() => expect(calls.some((c) => c.path === '/api/v1/dead-letters/requeue')).toBe(true));
    expect(calls.find((c) => c.path === '/api/v1/dead-letters/requeue')!.body).toEqual({ ids: ['dl-2'], delay_seconds: 30 });
  });

  it('discard from the drawer asks first, then deletes that one letter', async () => {
    const user = userEvent.setup();
    const calls = stub();
    renderPage(<DeadLettersPage />, '/dead-letters');
    await user.click(await screen.findByRole('button', { name: 'Show dead letter dl-2' }));
    const drawer = await screen.findByRole('dialog', { name: 'Dead letter' });
    expect(within(drawer).getByText(/"path": "\/docs\/file-2.md"/)).toBeInTheDocument();
    expect(within(drawer).getByText('factflow-route')).toBeInTheDocument();
    expect(within(drawer).getByRole('link', { name: 'exec-aaaa' })).toHaveAttribute('href', '/executions/exec-aaaa');

    await user.click(within(drawer).getByRole('button', { name: 'Discard' }));
    const confirm = await screen.findByRole('dialog', { name: 'Discard 1 dead letter?' });
    // Nothing is deleted before the confirmation.
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    await user.click(within(confirm).getByRole('button', { name: 'Confirm discard' }));

    await waitFor(() => expect(calls.some((c) => c.method === 'DELETE')).toBe(true));
    const deletes = calls.filter((c) => c.method === 'DELETE');
    expect(deletes.map((c) => c.path)).toEqual(['/api/v1/dead-letters/dl-2']);
    expect(await screen.findByText('1 dead letter discarded.')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText('FAIL_INDUCED: refused document 2')).not.toBeInTheDocument());
  });

  it('bulk discard deletes each selected letter after confirmation', async () => {
    const user = userEvent.setup();
    const calls = stub();
    renderPage(<DeadLettersPage />, '/dead-letters');
    await user.click(await screen.findByRole('checkbox', { name: 'Select dead letter dl-1' }));
    await user.click(screen.getByRole('checkbox', { name: 'Select dead letter dl-2' }));
    await user.click(screen.getByRole('button', { name: 'Discard selected' }));
    const confirm = await screen.findByRole('dialog', { name: 'Discard 2 dead letters?' });
    await user.click(within(confirm).getByRole('button', { name: 'Confirm discard' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'DELETE')).toHaveLength(2));
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path).sort()).toEqual([
      '/api/v1/dead-letters/dl-1',
      '/api/v1/dead-letters/dl-2',
    ]);
    expect(await screen.findByText('2 dead letters discarded.')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText('FAIL_INDUCED: refused document 1')).not.toBeInTheDocument());
    expect(screen.getByText('FAIL_INDUCED: refused document 3')).toBeInTheDocument();
  });

  it('cancelling the discard confirmation deletes nothing', async () => {
    const user = userEvent.setup();
    const calls = stub();
    renderPage(<DeadLettersPage />, '/dead-letters');
    await user.click(await screen.findByRole('checkbox', { name: 'Select all on this page' }));
    expect(screen.getByText('3 selected')).toBeInTheDocument();
    await user.click(screen.getByRole('button', { name: 'Discard selected' }));
    const confirm = await screen.findByRole('dialog', { name: 'Discard 3 dead letters?' });
    await user.click(within(confirm).getByRole('button', { name: 'Cancel' }));
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Discard 3 dead letters?' })).not.toBeInTheDocument());
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
  });

  it('shows the API error when listing fails', async () => {
    fetchStub.impl = (async () =>
      json({ title: 'Not Found', status: 404, detail: 'no execution "nope"', error_code: 'EXECUTION_NOT_FOUND' }, 404)) as typeof fetch;
    renderPage(<DeadLettersPage />, '/dead-letters?execution=nope');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('no execution "nope"');
    expect(alert).toHaveTextContent('EXECUTION_NOT_FOUND');
  });
});
