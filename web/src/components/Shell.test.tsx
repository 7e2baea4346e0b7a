import { describe, expect, it } from 'vitest';
import { act, screen, within } from '@testing-library/react';
import { renderPage } from '../test/render';
import { Shell } from './Shell';
import { unauthorizedEvent } from '../api/client';

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
});
