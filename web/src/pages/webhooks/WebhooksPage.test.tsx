import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import { renderPage } from '../../test/render';
import WebhooksPage from './WebhooksPage';
import WebhookDetailPage from './WebhookDetailPage';
import { fetchStub, json, noStub, readRequest } from '../../test/fetch';

// Rendering Mantine in jsdom is slow when the whole suite runs in parallel.
vi.setConfig({ testTimeout: 20_000 });


afterEach(() => {
  fetchStub.impl = null;
});


type Call = { path: string; method: string; body: unknown };

function stub(handler: (path: string, method: string, body: unknown) => Response | undefined) {
  const calls: Call[] = [];
  fetchStub.impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { url, method, body } = await readRequest(input, init);
    calls.push({ path: url.pathname, method, body });
    return handler(url.pathname, method, body) ?? noStub(method, url.pathname);
  }) as typeof fetch;
  return calls;
}

const page = <T,>(items: T[]) => ({ total: items.length, limit: 50, offset: 0, has_more: false, items });
const now = '2026-01-01T00:00:00Z';

const hook = {
  id: 'wh-1',
  url: 'https://example.com/hook',
  description: 'Ops alerts',
  event_types: ['execution.failed', 'dead_letter.created'],
  filters: { config_id: 'cfg-1' },
  active: true,
  created_at: now,
  updated_at: now,
};

const delivery = {
  id: 'del-1',
  subscription_id: 'wh-1',
  seq: 1,
  event_type: 'webhook.test',
  event_id: 'ev-1',
  payload: { type: 'webhook.test', data: { message: 'hi' } },
  status: 'dead',
  attempts: 6,
  last_status: 500,
  last_error: 'HTTP 500 from receiver',
  next_attempt_at: now,
  created_at: now,
};

function renderList() {
  return renderPage(
    <Routes>
      <Route path="/webhooks" element={<WebhooksPage />} />
    </Routes>,
    '/webhooks',
  );
}

function renderDetail(id = 'wh-1') {
  return renderPage(
    <Routes>
      <Route path="/webhooks/:id" element={<WebhookDetailPage />} />
    </Routes>,
    `/webhooks/${id}`,
  );
}

describe('WebhooksPage', () => {
  it('lists subscriptions with their events, filters and state', async () => {
    stub((path, method) => (path === '/api/v1/webhooks' && method === 'GET' ? json(page([hook])) : undefined));
    renderList();
    const table = await screen.findByRole('table', { name: 'Webhooks' });
    expect(within(table).getByRole('link', { name: 'https://example.com/hook' })).toHaveAttribute('href', '/webhooks/wh-1');
    expect(within(table).getByText('execution.failed')).toBeInTheDocument();
    expect(within(table).getByText('dead_letter.created')).toBeInTheDocument();
    expect(within(table).getByText('config=cfg-1')).toBeInTheDocument();
    expect(within(table).getByRole('switch', { name: 'Active: https://example.com/hook' })).toBeChecked();
  });

  it('creates a webhook and shows its secret once', async () => {
    let created = false;
    const calls = stub((path, method) => {
      if (path === '/api/v1/webhooks' && method === 'GET') return json(page(created ? [hook] : []));
      if (path === '/api/v1/webhooks' && method === 'POST') {
        created = true;
        return json({ ...hook, secret: 's3cr3t-value' }, 201);
      }
      return undefined;
    });
    renderList();
    expect(await screen.findByText('No webhooks yet')).toBeInTheDocument();
    fireEvent.click(screen.getAllByRole('button', { name: 'New webhook' })[0]);
    const dialog = await screen.findByRole('dialog', { name: 'New webhook' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: /URL/ }), { target: { value: 'https://example.com/hook' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Description' }), { target: { value: 'Ops alerts' } });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Config id' }), { target: { value: 'cfg-1' } });
    // Pick two event types in the multi-select.
    fireEvent.click(within(dialog).getByRole('combobox', { name: /Events/ }));
    fireEvent.click(await screen.findByRole('option', { name: 'execution.failed', hidden: true }));
    fireEvent.click(await screen.findByRole('option', { name: 'dead_letter.created', hidden: true }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create webhook' }));

    const secretDialog = await screen.findByRole('dialog', { name: 'Webhook signing secret' });
    expect(within(secretDialog).getByText('s3cr3t-value')).toBeInTheDocument();
    expect(within(secretDialog).getByText('Copy this secret now')).toBeInTheDocument();
    expect(within(secretDialog).getByRole('button', { name: 'Copy secret' })).toBeInTheDocument();

    const post = calls.find((c) => c.method === 'POST');
    expect(post?.body).toEqual({
      url: 'https://example.com/hook',
      event_types: ['execution.failed', 'dead_letter.created'],
      active: true,
      description: 'Ops alerts',
      filters: { config_id: 'cfg-1' },
    });

    fireEvent.click(within(secretDialog).getByRole('button', { name: 'I have saved the secret' }));
    await waitFor(() => expect(screen.queryByText('s3cr3t-value')).not.toBeInTheDocument());
    // The list shows the new webhook, never its secret.
    expect(await screen.findByRole('link', { name: 'https://example.com/hook' })).toBeInTheDocument();
    expect(screen.queryByText('s3cr3t-value')).not.toBeInTheDocument();
  });

  it('shows a refused target with its code and hint', async () => {
    stub((path, method) => {
      if (path === '/api/v1/webhooks' && method === 'GET') return json(page([]));
      if (path === '/api/v1/webhooks' && method === 'POST')
        return json(
          {
            title: 'Unprocessable Entity',
            status: 422,
            detail: 'the webhook target 10.0.0.5 is a private address',
            error_code: 'WEBHOOK_TARGET_FORBIDDEN',
            hint: 'use a public address, or allow private targets in the server config',
          },
          422,
        );
      return undefined;
    });
    renderList();
    await screen.findByText('No webhooks yet');
    fireEvent.click(screen.getAllByRole('button', { name: 'New webhook' })[0]);
    const dialog = await screen.findByRole('dialog', { name: 'New webhook' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: /URL/ }), { target: { value: 'http://10.0.0.5/hook' } });
    fireEvent.click(within(dialog).getByRole('combobox', { name: /Events/ }));
    fireEvent.click(await screen.findByRole('option', { name: 'webhook.test', hidden: true }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create webhook' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent('WEBHOOK_TARGET_FORBIDDEN');
    expect(alert).toHaveTextContent('allow private targets');
  });
});

describe('WebhookDetailPage', () => {
  it('shows deliveries and sends a test and a redelivery', async () => {
    const calls = stub((path, method) => {
      if (path === '/api/v1/webhooks/wh-1' && method === 'GET') return json(hook);
      if (path === '/api/v1/webhooks/wh-1/deliveries' && method === 'GET') return json(page([delivery]));
      if (path === '/api/v1/webhooks/wh-1/test' && method === 'POST')
        return json({ ...delivery, id: 'del-2', status: 'pending', attempts: 0 }, 202);
      if (path === '/api/v1/webhooks/deliveries/del-1/redeliver' && method === 'POST')
        return json({ ...delivery, status: 'pending', attempts: 0 }, 202);
      return undefined;
    });
    renderDetail();
    const table = await screen.findByRole('table', { name: 'Deliveries' });
    expect(within(table).getByText('dead')).toBeInTheDocument();
    expect(within(table).getByText('HTTP 500')).toBeInTheDocument();
    expect(within(table).getByText('HTTP 500 from receiver')).toBeInTheDocument();
    expect(within(table).getByText('6')).toBeInTheDocument();

    fireEvent.click(screen.getByRole('button', { name: 'Send test' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.path === '/api/v1/webhooks/wh-1/test')).toBe(true));

    fireEvent.click(within(table).getByRole('button', { name: 'Redeliver del-1' }));
    await waitFor(() =>
      expect(calls.some((c) => c.method === 'POST' && c.path === '/api/v1/webhooks/deliveries/del-1/redeliver')).toBe(true),
    );
  });

  it('rotates the secret and shows the new one', async () => {
    const calls = stub((path, method) => {
      if (path === '/api/v1/webhooks/wh-1' && method === 'GET') return json(hook);
      if (path === '/api/v1/webhooks/wh-1' && method === 'PATCH') return json({ ...hook, secret: 'new-secret' });
      if (path === '/api/v1/webhooks/wh-1/deliveries' && method === 'GET') return json(page([]));
      return undefined;
    });
    renderDetail();
    await screen.findByText('No deliveries yet');
    fireEvent.click(screen.getByRole('button', { name: 'More webhook actions' }));
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Rotate secret' }));
    const confirm = await screen.findByRole('dialog', { name: 'Rotate the signing secret?' });
    fireEvent.click(within(confirm).getByRole('button', { name: 'Rotate secret' }));
    const secret = await screen.findByRole('dialog', { name: 'New signing secret' });
    expect(within(secret).getByText('new-secret')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ rotate_secret: true });
  });
});
