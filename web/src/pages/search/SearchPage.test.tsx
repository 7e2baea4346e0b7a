import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, within } from '@testing-library/react';
import { Route, Routes, useLocation } from 'react-router';
import { renderPage } from '../../test/render';
import SearchPage from './SearchPage';
import { fetchStub, json, readRequest } from '../../test/fetch';

// Rendering Mantine in jsdom is slow when the whole suite runs in parallel.
vi.setConfig({ testTimeout: 20_000 });


const caps = {
  modes: ['semantic', 'hybrid', 'rrf', 'multi_model'],
  models: [{ model_name: 'hashing', profile: 'hashing', provider_model: 'x', dims: 384, vector_count: 430, profile_available: true, indexes: [] }],
  default_model: 'hashing',
  languages: ['english'],
  default_language: 'english',
  pgvector_available: true,
  default_limit: 10,
  max_limit: 100,
};

const hit = {
  segment_id: 'seg-1',
  document_id: 'doc-1',
  execution_id: 'exec-123',
  segment_index: 4,
  text: 'Answered by POST /dead-letters/requeue and DELETE /dead-letters.',
  heading: 'Requeueing dead letters',
  heading_path: ['Runtime error codes', 'Requeueing dead letters'],
  document_key: 'executions/exec-123/scan/errors.md',
  url: 'file:///docs/errors.md',
  title: 'Runtime error codes',
  storage_key: 'executions/exec-123/scan/errors.md',
  markdown_key: 'executions/exec-123/convert/errors-md.md',
  score: 0.4578,
  vector_score: 0.2255,
  text_score: 0.3314,
  model: 'hashing',
};

type Call = { url: string; method: string; body: unknown };

function stubFetch(routes: (url: URL, method: string, body: unknown) => Response | undefined) {
  const calls: Call[] = [];
  const fn = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const { url, method, body } = await readRequest(input, init);
    calls.push({ url: url.pathname + url.search, method, body });
    const res = routes(url, method, body);
    if (res) return res;
    return json({ title: 'Not Found', status: 404, detail: `no stub for ${url.pathname}`, error_code: 'NOT_FOUND' }, 404);
  });
  fetchStub.impl = fn as unknown as typeof fetch;
  return calls;
}


function common(url: URL): Response | undefined {
  if (url.pathname === '/api/v1/search/capabilities') return json(caps);
  if (url.pathname === '/api/v1/search/sources')
    return json({ total: 1, sources: [{ execution_id: 'exec-123', config_name: 'folder-ingest', tag: 'docs', document_count: 1, segment_count: 3, embedding_models: ['hashing'], indexed_at: '2026-01-01T00:00:00Z' }] });
  return undefined;
}

function LocationProbe() {
  const loc = useLocation();
  return <div data-testid="location">{loc.pathname + loc.search}</div>;
}

function renderSearch(route: string) {
  return renderPage(
    <>
      <Routes>
        <Route path="/search" element={<SearchPage />} />
      </Routes>
      <LocationProbe />
    </>,
    route,
  );
}

afterEach(() => {
  fetchStub.impl = null;
});

describe('SearchPage', () => {
  it('runs the search of the URL with the chosen mode and shows scores, title, heading and links', async () => {
    const calls = stubFetch((url, method) => {
      if (url.pathname === '/api/v1/search/hybrid' && method === 'POST')
        return json({ mode: 'hybrid', query: 'requeue', model: 'hashing', models: ['hashing'], results: [hit], took_ms: 12.5, total: 1 });
      return common(url);
    });
    renderSearch('/search?q=requeue&mode=hybrid&execution=docs');

    const list = await screen.findByRole('list', { name: 'Search results' });
    const item = within(list).getAllByRole('listitem')[0];
    expect(within(item).getByText('Runtime error codes', { selector: 'p[title]' })).toBeInTheDocument();
    expect(within(item).getByText('Requeueing dead letters')).toBeInTheDocument();
    expect(within(item).getByLabelText('Score 0.458')).toBeInTheDocument();
    expect(within(item).getByText('vector 0.226')).toBeInTheDocument();
    expect(within(item).getByText('text 0.331')).toBeInTheDocument();
    expect(within(item).getByRole('link', { name: /Open artefact/ })).toHaveAttribute(
      'href',
      '/storage?key=' + encodeURIComponent('executions/exec-123/convert/errors-md.md'),
    );
    expect(within(item).getByRole('link', { name: 'Execution exec-123' })).toHaveAttribute('href', '/executions/exec-123');

    const post = calls.find((c) => c.method === 'POST');
    expect(post?.url).toBe('/api/v1/search/hybrid');
    expect(post?.body).toEqual({ query: 'requeue', limit: 10, filter: { execution_ids: ['docs'] } });
    expect(screen.getByRole('radio', { name: 'Hybrid' })).toBeChecked();
  });

  it('submits the query into the URL and searches semantically by default', async () => {
    const calls = stubFetch((url, method) => {
      if (url.pathname === '/api/v1/search' && method === 'POST')
        return json({ mode: 'semantic', query: 'retries', model: 'hashing', results: [], took_ms: 3, total: 0 });
      return common(url);
    });
    renderSearch('/search');
    expect(screen.getByText('Search the indexed documents')).toBeInTheDocument();
    fireEvent.change(screen.getByRole('textbox', { name: 'Query' }), { target: { value: 'retries' } });
    fireEvent.click(screen.getByRole('button', { name: 'Search' }));

    expect(await screen.findByText('No results')).toBeInTheDocument();
    expect(screen.getByTestId('location').textContent).toBe('/search?q=retries&mode=semantic');
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ query: 'retries', limit: 10 });
  });

  it('shows a problem answer such as PGVECTOR_UNAVAILABLE with its code and hint', async () => {
    stubFetch((url, method) => {
      if (url.pathname === '/api/v1/search' && method === 'POST')
        return json(
          {
            title: 'Service Unavailable',
            status: 503,
            detail: 'pgvector is not installed in the database',
            error_code: 'PGVECTOR_UNAVAILABLE',
            hint: 'install the pgvector extension',
          },
          503,
        );
      return common(url);
    });
    renderSearch('/search?q=anything&mode=semantic');
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('Search failed');
    expect(alert).toHaveTextContent('pgvector is not installed in the database');
    expect(alert).toHaveTextContent('PGVECTOR_UNAVAILABLE');
    expect(alert).toHaveTextContent('install the pgvector extension');
  });

  it('searches every slot in multi-model mode when none is picked', async () => {
    const calls = stubFetch((url, method) => {
      if (url.pathname === '/api/v1/search/multi-model' && method === 'POST')
        return json({
          mode: 'multi_model',
          query: 'q',
          models: ['hashing'],
          results: [{ ...hit, model_scores: { hashing: 0.5 } }],
          took_ms: 1,
          total: 1,
        });
      return common(url);
    });
    renderSearch('/search?q=q&mode=multi-model');
    expect(await screen.findByText('hashing 0.500')).toBeInTheDocument();
    expect(calls.find((c) => c.method === 'POST')?.body).toEqual({ query: 'q', limit: 10, models: ['hashing'] });
  });
});
