import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, fireEvent, screen, waitFor, within } from '@testing-library/react';
import { renderPage } from '../test/render';
import { fetchStub, json, noStub, readRequest } from '../test/fetch';
import { Shell } from './Shell';
import { getToken, setToken, unauthorizedEvent } from '../api/client';

vi.setConfig({ testTimeout: 20_000 });

afterEach(() => window.localStorage.clear());

/** whoami answers GET /auth/whoami with who and counts the calls. */
function whoami(who: Record<string, unknown>) {
  const calls: { auth: string | null }[] = [];
  fetchStub.impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { url, method } = await readRequest(input, init);
    if (url.pathname !== '/api/v1/auth/whoami') return noStub(method, url.pathname);
    calls.push({ auth: input instanceof Request ? input.headers.get('Authorization') : null });
    return json(who);
  }) as typeof fetch;
  return calls;
}

describe('Shell', () => {
  it('lists every area and marks the current one', () => {
    renderPage(<Shell>content</Shell>, '/executions/abc');
    const nav = screen.getByRole('navigation');
    for (const name of ['Dashboard', 'Pipelines', 'Executions', 'Storage', 'Dead letters', 'Search', 'Chat', 'Webhooks']) {
      expect(within(nav).getByRole('link', { name })).toBeInTheDocument();
    }
    expect(within(nav).getByRole('link', { name: 'Executions' })).toHaveAttribute('data-active', 'true');
    expect(within(nav).getByRole('link', { name: 'Dashboard' })).not.toHaveAttribute('data-active');
  });

  it('asks for a token only once the server answers 401', async () => {
    renderPage(<Shell>content</Shell>);
    expect(screen.queryByText('Sign in with an API token')).not.toBeInTheDocument();
    act(() => {
      window.dispatchEvent(new Event(unauthorizedEvent));
    });
    expect(await screen.findByText('Sign in with an API token')).toBeInTheDocument();
  });

  it('shows the caller with the strongest scope, and no Access entry without admin', async () => {
    whoami({ subject: 'alice', kind: 'token', scopes: ['read', 'write'], auth_mode: 'token', token_id: 'tok-1' });
    renderPage(<Shell>content</Shell>);
    const caller = await screen.findByRole('button', { name: 'Caller: alice (write)' });
    expect(within(caller).getByText('alice')).toBeInTheDocument();
    expect(within(caller).getByText('write')).toBeInTheDocument();
    expect(within(screen.getByRole('navigation')).queryByRole('link', { name: 'Access' })).not.toBeInTheDocument();
  });

  it('lists Access for an admin', async () => {
    whoami({ subject: 'root', kind: 'token', scopes: ['read', 'write', 'admin'], auth_mode: 'token' });
    renderPage(<Shell>content</Shell>);
    expect(await screen.findByRole('button', { name: 'Caller: root (admin)' })).toBeInTheDocument();
    expect(within(screen.getByRole('navigation')).getByRole('link', { name: 'Access' })).toHaveAttribute('href', '/access');
  });

  it('says "local" quietly without auth', async () => {
    whoami({ subject: 'local', kind: 'local', scopes: ['read', 'write', 'admin'], auth_mode: 'none' });
    renderPage(<Shell>content</Shell>);
    fireEvent.mouseEnter(await screen.findByText('local'));
    expect(await screen.findByText(/Auth mode: none/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Caller:/ })).not.toBeInTheDocument();
    expect(within(screen.getByRole('navigation')).getByRole('link', { name: 'Access' })).toBeInTheDocument();
  });

  it('signs out: forgets the token and asks again without it', async () => {
    setToken('fft_test_secret');
    const calls = whoami({ subject: 'token:ci', kind: 'token', scopes: ['read'], auth_mode: 'token', token_id: 'tok-1' });
    renderPage(<Shell>content</Shell>);
    fireEvent.click(await screen.findByRole('button', { name: 'Caller: token:ci (read)' }));
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Sign out' }));
    expect(getToken()).toBeNull();
    await waitFor(() => expect(calls.length).toBe(2));
    expect(calls[0].auth).toBe('Bearer fft_test_secret');
    expect(calls[1].auth).toBeNull();
  });
});
