import { describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { Route, Routes } from 'react-router';
import { renderPage } from '../../test/render';
import { fetchStub, json, noStub, readRequest } from '../../test/fetch';
import { Shell } from '../../components/Shell';
import AccessPage from './AccessPage';
import { formProblem, tokenBody } from './tokenForm';
import { sinceInstant } from './auditFilters';
import { tokenState } from './TokensTab';

// Rendering Mantine in jsdom is slow when the whole suite runs in parallel.
vi.setConfig({ testTimeout: 20_000 });

type Call = { path: string; method: string; query: URLSearchParams; body: unknown };

function stub(handler: (path: string, method: string, query: URLSearchParams) => Response | undefined) {
  const calls: Call[] = [];
  fetchStub.impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { url, method, body } = await readRequest(input, init);
    calls.push({ path: url.pathname, method, query: url.searchParams, body });
    return handler(url.pathname, method, url.searchParams) ?? noStub(method, url.pathname);
  }) as typeof fetch;
  return calls;
}

const page = <T,>(items: T[]) => ({ total: items.length, limit: 50, offset: 0, has_more: false, items });
const now = '2026-01-01T00:00:00Z';

const token = {
  id: 'tok-1',
  name: 'ci-nightly',
  prefix: 'fft_ab12',
  scopes: ['read', 'write'],
  created_by: 'alice',
  created_at: now,
  expires_at: '2999-01-01T00:00:00Z',
};

const entry = {
  id: 'au-1',
  at: now,
  actor: 'alice',
  actor_kind: 'token',
  action: 'revoke-token',
  method: 'DELETE',
  target: '/auth/tokens/tok-1',
  status: 200,
  result: 'ok',
  request_id: 'req-42',
  duration_ms: 3,
};

function renderAccess(route = '/access') {
  return renderPage(
    <Routes>
      <Route path="/access" element={<AccessPage />} />
    </Routes>,
    route,
  );
}

describe('AccessPage tokens', () => {
  it('lists tokens with prefix, scopes and state', async () => {
    const old = { ...token, id: 'tok-2', name: 'old', prefix: 'fft_cd34', revoked_at: now };
    stub((path) => (path === '/api/v1/auth/tokens' ? json(page([token, old])) : undefined));
    renderAccess();
    const table = await screen.findByRole('table', { name: 'API tokens' });
    expect(within(table).getByText('fft_ab12…')).toBeInTheDocument();
    expect(within(table).getByText('active')).toBeInTheDocument();
    expect(within(table).getByText('revoked')).toBeInTheDocument();
    expect(within(table).getByRole('button', { name: 'Revoke old' })).toBeDisabled();
  });

  it('asks for revoked tokens only with the switch on', async () => {
    const calls = stub((path) => (path === '/api/v1/auth/tokens' ? json(page([])) : undefined));
    renderAccess();
    await screen.findByText('No active tokens');
    expect(calls[0].query.get('include_revoked')).toBe('false');
    fireEvent.click(screen.getByRole('switch', { name: 'Show revoked' }));
    await waitFor(() => expect(calls.some((c) => c.query.get('include_revoked') === 'true')).toBe(true));
  });

  it('creates a token and shows it once', async () => {
    let created = false;
    const calls = stub((path, method) => {
      if (path === '/api/v1/auth/tokens' && method === 'GET') return json(page(created ? [token] : []));
      if (path === '/api/v1/auth/tokens' && method === 'POST') {
        created = true;
        return json({ ...token, token: 'fft_ab12_s3cr3t' }, 201);
      }
      return undefined;
    });
    renderAccess();
    await screen.findByText('No active tokens');
    fireEvent.click(screen.getByRole('button', { name: 'New token' }));
    const dialog = await screen.findByRole('dialog', { name: 'New API token' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: /Name/ }), { target: { value: 'ci-nightly' } });
    fireEvent.click(within(dialog).getByRole('combobox', { name: /Scopes/ }));
    fireEvent.click(await screen.findByRole('option', { name: /^write/, hidden: true }));
    fireEvent.click(within(dialog).getByLabelText('Expires'));
    fireEvent.click(await screen.findByRole('option', { name: '30 days', hidden: true }));
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));

    const secret = await screen.findByRole('dialog', { name: 'API token created' });
    expect(within(secret).getByText('fft_ab12_s3cr3t')).toBeInTheDocument();
    expect(within(secret).getByText('Copy this token now')).toBeInTheDocument();
    expect(within(secret).getByRole('button', { name: 'Copy token' })).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ name: 'ci-nightly', scopes: ['read', 'write'], expires_in: '30d' });

    fireEvent.click(within(secret).getByRole('button', { name: 'I have saved the token' }));
    await waitFor(() => expect(screen.queryByText('fft_ab12_s3cr3t')).not.toBeInTheDocument());
    // The list shows the new token by its prefix only.
    const table = await screen.findByRole('table', { name: 'API tokens' });
    expect(within(table).getByText('ci-nightly')).toBeInTheDocument();
    expect(screen.queryByText('fft_ab12_s3cr3t')).not.toBeInTheDocument();
  });

  it('revokes a token only after confirming', async () => {
    const calls = stub((path, method) => {
      if (path === '/api/v1/auth/tokens' && method === 'GET') return json(page([token]));
      if (path === '/api/v1/auth/tokens/tok-1' && method === 'DELETE') return json({ ...token, revoked_at: now });
      return undefined;
    });
    renderAccess();
    const table = await screen.findByRole('table', { name: 'API tokens' });
    fireEvent.click(within(table).getByRole('button', { name: 'Revoke ci-nightly' }));
    const confirm = await screen.findByRole('dialog', { name: 'Revoke token?' });
    expect(calls.some((c) => c.method === 'DELETE')).toBe(false);
    fireEvent.click(within(confirm).getByRole('button', { name: 'Revoke token' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/auth/tokens/tok-1']));
    await waitFor(() => expect(screen.queryByRole('dialog', { name: 'Revoke token?' })).not.toBeInTheDocument());
  });

  it('shows a refused create with its code and hint', async () => {
    stub((path, method) => {
      if (path === '/api/v1/auth/tokens' && method === 'GET') return json(page([]));
      if (path === '/api/v1/auth/tokens' && method === 'POST')
        return json(
          { title: 'Unprocessable Entity', status: 422, detail: 'bad expiry', error_code: 'VALIDATION_FAILED', hint: 'use 90d or 720h' },
          422,
        );
      return undefined;
    });
    renderAccess();
    await screen.findByText('No active tokens');
    fireEvent.click(screen.getByRole('button', { name: 'New token' }));
    const dialog = await screen.findByRole('dialog', { name: 'New API token' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: /Name/ }), { target: { value: 'x' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Create token' }));
    const alert = await within(dialog).findByRole('alert');
    expect(alert).toHaveTextContent('VALIDATION_FAILED');
    expect(alert).toHaveTextContent('use 90d or 720h');
  });
});

describe('AccessPage audit log', () => {
  it('sends the filters of the address and of the inputs, and shows an entry', async () => {
    const calls = stub((path) => (path === '/api/v1/audit' ? json(page([entry])) : undefined));
    renderAccess('/access?tab=audit&actor=alice&result=ok&target=/auth/&since=2026-01-01T00:00:00Z&page=1');
    const table = await screen.findByRole('table', { name: 'Audit log' });
    const first = calls.find((c) => c.path === '/api/v1/audit')!;
    expect(first.query.get('actor')).toBe('alice');
    expect(first.query.get('result')).toBe('ok');
    expect(first.query.get('target')).toBe('/auth/');
    expect(first.query.get('since')).toBe('2026-01-01T00:00:00.000Z');
    expect(first.query.get('offset')).toBe('0');
    expect(first.query.has('action')).toBe(false);

    fireEvent.change(screen.getByRole('textbox', { name: 'Action' }), { target: { value: 'revoke-token' } });
    await waitFor(() =>
      expect(calls.some((c) => c.query.get('action') === 'revoke-token' && c.query.get('actor') === 'alice')).toBe(true),
    );

    fireEvent.click(within(table).getByRole('row', { name: 'Audit entry revoke-token by alice' }));
    const dialog = await screen.findByRole('dialog', { name: 'Audit entry' });
    expect(dialog).toHaveTextContent('"request_id": "req-42"');
  });

  it('refuses an unreadable since without asking the server', async () => {
    const calls = stub((path) => (path === '/api/v1/audit' ? json(page([])) : undefined));
    renderAccess('/access?tab=audit&since=yesterday');
    expect(await screen.findByText(/e\.g\. 24h, 7d/)).toBeInTheDocument();
    expect(calls.some((c) => c.path === '/api/v1/audit')).toBe(false);
  });
});

describe('a 403 on the Access page', () => {
  it('shows the error with its hint, not the token prompt', async () => {
    stub((path) => {
      if (path === '/api/v1/auth/whoami')
        return json({ subject: 'token:ci', kind: 'token', scopes: ['read'], auth_mode: 'token', token_id: 'tok-9' });
      if (path === '/api/v1/auth/tokens')
        return json(
          {
            title: 'Forbidden',
            status: 403,
            detail: 'this operation needs the admin scope',
            error_code: 'AUTH_SCOPE_INSUFFICIENT',
            hint: 'use a token with the admin scope',
          },
          403,
        );
      return undefined;
    });
    renderPage(
      <Shell>
        <Routes>
          <Route path="/access" element={<AccessPage />} />
        </Routes>
      </Shell>,
      '/access',
    );
    const alert = (await screen.findByText('AUTH_SCOPE_INSUFFICIENT')).closest('[role=alert]');
    expect(alert).toHaveTextContent('Could not load tokens');
    expect(alert).toHaveTextContent('use a token with the admin scope');
    expect(screen.queryByText('Sign in with an API token')).not.toBeInTheDocument();
  });
});

describe('access helpers', () => {
  it('builds the create body from the expiry choice', () => {
    const base = { name: ' ci ', scopes: ['read' as const], expiresAt: '' };
    expect(tokenBody({ ...base, expiry: 'never' })).toEqual({ name: 'ci', scopes: ['read'] });
    expect(tokenBody({ ...base, expiry: '7d' })).toEqual({ name: 'ci', scopes: ['read'], expires_in: '7d' });
    expect(tokenBody({ ...base, expiry: 'custom', expiresAt: '2999-01-31' })).toEqual({
      name: 'ci',
      scopes: ['read'],
      expires_at: '2999-01-31T00:00:00.000Z',
    });
    expect(formProblem({ ...base, expiry: 'custom', expiresAt: '31/01/2999' })).toMatch(/RFC 3339/);
    expect(formProblem({ ...base, expiry: 'custom', expiresAt: '2000-01-01T00:00:00Z' })).toMatch(/future/);
    expect(formProblem({ ...base, scopes: [], expiry: 'never' })).toMatch(/scope/);
  });

  it('reads since as a span back or an instant', () => {
    const at = Date.parse('2026-01-08T00:00:00Z');
    expect(sinceInstant('7d', at)).toBe('2026-01-01T00:00:00.000Z');
    expect(sinceInstant('2h', at)).toBe('2026-01-07T22:00:00.000Z');
    expect(sinceInstant('2026-01-01T01:00:00+01:00', at)).toBe('2026-01-01T00:00:00.000Z');
    expect(sinceInstant('', at)).toBeUndefined();
    expect(sinceInstant('soon', at)).toBeNull();
  });

  it('calls a token revoked before expired', () => {
    const t = { ...token, expires_at: '2000-01-01T00:00:00Z' };
    expect(tokenState(t)).toBe('expired');
    expect(tokenState({ ...t, revoked_at: now })).toBe('revoked');
    expect(tokenState(token)).toBe('active');
  });
});
