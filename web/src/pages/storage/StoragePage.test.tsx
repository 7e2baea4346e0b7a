import { screen, within, fireEvent } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { renderPage } from '../../test/render';
import StoragePage from './StoragePage';
import { ancestors, parentPrefix, previewKind } from './storageApi';
import { fetchStub, json } from '../../test/fetch';



const list = (prefix: string, folders: string[], items: { key: string; size: number }[] = []) => ({
  total: items.length,
  limit: 100,
  offset: 0,
  has_more: false,
  prefix,
  common_prefixes: folders,
  items: items.map((i) => ({ ...i, last_modified: '2026-12-01T10:00:00Z' })),
});

const mdKey = 'docs/guide/intro.md';
const htmlKey = 'docs/guide/page.html';
const evilHtml = '<h1 id="evil-heading">Evil</h1><script>window.__pwned = true</script><img src="x" onerror="window.__pwned=true">';

let calls: string[];

function stub(overrides: Record<string, () => Response> = {}) {
  calls = [];
  const fetchMock = vi.fn(async (input: RequestInfo | URL) => {
    const raw = input instanceof Request ? input.url : String(input);
    const url = new URL(raw, 'http://localhost');
    const path = decodeURIComponent(url.pathname);
    calls.push(`${url.pathname}${url.search}`);
    for (const [k, f] of Object.entries(overrides)) if (raw.includes(k)) return f();
    if (url.pathname === '/api/v1/storage/events') return json({ title: 'no stream in tests' }, 404);
    if (url.pathname === '/api/v1/storage/objects') {
      const prefix = url.searchParams.get('prefix') ?? '';
      if (prefix === '') return json(list('', ['docs/', 'executions/']));
      if (prefix === 'docs/') return json(list('docs/', ['docs/guide/', 'docs/api/']));
      if (prefix === 'docs/guide/')
        return json(list('docs/guide/', [], [{ key: mdKey, size: 120 }, { key: htmlKey, size: evilHtml.length }]));
      return json(list(prefix, []));
    }
    if (path.endsWith('/metadata')) {
      const key = path.slice('/api/v1/storage/objects/'.length, -'/metadata'.length);
      const ct = key.endsWith('.md') ? 'text/markdown; charset=utf-8' : 'text/html';
      return json({ key, size: 120, content_type: ct, metadata: { execution_id: 'exec-1', route: 'convert' } });
    }
    if (path === `/api/v1/storage/objects/${mdKey}`) {
      return new Response('# Intro heading\n\nSome **bold** text.\n\n| a | b |\n|---|---|\n| 1 | 2 |\n', {
        headers: { 'Content-Type': 'text/markdown' },
      });
    }
    if (path === `/api/v1/storage/objects/${htmlKey}`) {
      return new Response(evilHtml, { headers: { 'Content-Type': 'text/html' } });
    }
    return json({ title: 'not found', error_code: 'NOT_FOUND' }, 404);
  });
  fetchStub.impl = fetchMock as unknown as typeof fetch;
  return fetchMock;
}

beforeEach(() => {
  delete (window as unknown as { __pwned?: boolean }).__pwned;
});
afterEach(() => {
  fetchStub.impl = null;
});

describe('StoragePage', { timeout: 20_000 }, () => {
  it('lists the top-level prefixes in the folder tree and loads children on expand', async () => {
    stub();
    renderPage(<StoragePage />, '/storage');
    const tree = await screen.findByRole('tree', { name: 'Folders' });
    expect(await within(tree).findByText('docs')).toBeInTheDocument();
    expect(within(tree).getByText('executions')).toBeInTheDocument();
    expect(within(tree).queryByText('guide')).not.toBeInTheDocument();
    // The list of the root shows the folders too.
    expect(await screen.findByRole('link', { name: 'Open folder docs' })).toHaveAttribute('href', '/storage?prefix=docs%2F');

    fireEvent.click(within(tree).getByText('docs'));
    expect(await within(tree).findByText('guide')).toBeInTheDocument();
    expect(within(tree).getByText('api')).toBeInTheDocument();
    expect(calls.some((c) => c.includes('prefix=docs%2F') && c.includes('delimiter=%2F'))).toBe(true);
  });

  it('renders a Markdown object as Markdown, fetched with the key path-escaped', async () => {
    stub();
    renderPage(<StoragePage />, `/storage?key=${encodeURIComponent(mdKey)}`);
    const preview = await screen.findByTestId('markdown-preview');
    expect(preview).toHaveClass('markdown-preview');
    expect(within(preview).getByRole('heading', { name: 'Intro heading' })).toBeInTheDocument();
    expect(within(preview).getByText('bold').tagName).toBe('STRONG');
    expect(within(preview).getByRole('table')).toBeInTheDocument(); // GFM tables
    expect(calls).toContain('/api/v1/storage/objects/docs%2Fguide%2Fintro.md');
    expect(calls).toContain('/api/v1/storage/objects/docs%2Fguide%2Fintro.md/metadata');
    // The object's folder is selected and listed.
    expect(await screen.findByRole('link', { name: 'page.html' })).toBeInTheDocument();
  });

  it('shows HTML as escaped source and renders it only in an empty sandbox', async () => {
    stub();
    const { container } = renderPage(<StoragePage />, `/storage?key=${encodeURIComponent(htmlKey)}`);
    const source = await screen.findByLabelText('HTML source');
    expect(source.textContent).toBe(evilHtml);
    // Nothing of the HTML became DOM of the page.
    expect(container.ownerDocument.getElementById('evil-heading')).toBeNull();
    expect(container.ownerDocument.querySelector('script')).toBeNull();
    expect((window as unknown as { __pwned?: boolean }).__pwned).toBeUndefined();

    fireEvent.click(screen.getByText('Rendered (sandboxed)'));
    const frame = await screen.findByTitle('Rendered page.html');
    expect(frame.tagName).toBe('IFRAME');
    expect(frame.getAttribute('sandbox')).toBe('');
    expect(frame.getAttribute('srcdoc')).toBe(evilHtml);
    expect(container.ownerDocument.getElementById('evil-heading')).toBeNull();
  });

  it('shows the API error when the object is missing', async () => {
    stub({
      '/metadata': () =>
        json({ title: 'Not Found', status: 404, detail: 'no object "gone.md"', error_code: 'OBJECT_NOT_FOUND', hint: 'list the keys' }, 404),
    });
    renderPage(<StoragePage />, '/storage?key=gone.md');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('no object "gone.md"');
    expect(alert).toHaveTextContent('OBJECT_NOT_FOUND');
  });
});

describe('storage helpers', () => {
  it('derive folders and kinds', () => {
    expect(ancestors('a/b/c/')).toEqual(['a/', 'a/b/', 'a/b/c/']);
    expect(parentPrefix('a/b/c.md')).toBe('a/b/');
    expect(parentPrefix('c.md')).toBe('');
    expect(previewKind('x.bin', 'text/markdown; charset=utf-8')).toBe('markdown');
    expect(previewKind('x.htm')).toBe('html');
    expect(previewKind('x.json', 'application/octet-stream')).toBe('json');
    expect(previewKind('x.zip', 'application/zip')).toBe('binary');
    expect(previewKind('notes.txt', '')).toBe('text');
  });
});
