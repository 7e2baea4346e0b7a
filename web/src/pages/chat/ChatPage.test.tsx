import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, screen, waitFor, within } from '@testing-library/react';
import { Route, Routes, useLocation } from 'react-router';
import { renderPage } from '../../test/render';
import ChatPage from './ChatPage';
import { withCitationLinks } from './Answer';
import { fetchStub, json, noStub, readRequest } from '../../test/fetch';

// Rendering Mantine in jsdom is slow when the whole suite runs in parallel.
vi.setConfig({ testTimeout: 20_000 });


afterEach(() => {
  fetchStub.impl = null;
});


type Call = { path: string; method: string; body: unknown };
type Handler = (path: string, method: string, body: unknown, init?: RequestInit) => Response | undefined;

function stub(handler: Handler) {
  const calls: Call[] = [];
  fetchStub.impl = (async (input: RequestInfo | URL, init?: RequestInit) => {
    const { url, method, body } = await readRequest(input, init);
    calls.push({ path: url.pathname + url.search, method, body });
    return handler(url.pathname, method, body, init) ?? noStub(method, url.pathname);
  }) as typeof fetch;
  return calls;
}


/** sseResponse answers with an event stream the test feeds piece by piece. */
function sseResponse(init?: RequestInit) {
  let ctl!: ReadableStreamDefaultController<Uint8Array>;
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctl = c;
    },
  });
  init?.signal?.addEventListener('abort', () => {
    try {
      ctl.error(new DOMException('The operation was aborted.', 'AbortError'));
    } catch {
      /* already closed */
    }
  });
  return {
    response: new Response(body, { status: 200, headers: { 'Content-Type': 'text/event-stream' } }),
    send(event: string, data: unknown) {
      ctl.enqueue(enc.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    },
    close() {
      ctl.close();
    },
  };
}

const now = '2026-01-01T00:00:00Z';
function thread(id: string, title = 'Dead letters') {
  return { id, title, settings: {}, metadata: {}, message_count: 0, created_at: now, updated_at: now };
}
const page = <T,>(items: T[]) => ({ total: items.length, limit: 100, offset: 0, has_more: false, items });

const source1 = {
  index: 1,
  segment_id: 'seg-1',
  document_id: 'doc-1',
  execution_id: 'exec-1',
  storage_key: 'executions/exec-1/scan/errors.md',
  markdown_key: 'executions/exec-1/convert/errors.md',
  url: 'file:///docs/errors.md',
  title: 'Runtime error codes',
  heading: 'Requeueing dead letters',
  snippet: 'Answered by POST /dead-letters/requeue and DELETE /dead-letters.',
  score: 0.4321,
  model: 'hashing',
  cited: true,
};
const source2 = { ...source1, index: 2, segment_id: 'seg-2', title: 'HTTP API', heading: 'Operations', snippet: 'GET /dead-letters', cited: false, markdown_key: undefined };

function LocationProbe() {
  const loc = useLocation();
  return <div data-testid="location">{loc.pathname}</div>;
}

function renderChat(route: string) {
  return renderPage(
    <>
      <Routes>
        <Route path="/chat" element={<ChatPage />} />
        <Route path="/chat/:threadId" element={<ChatPage />} />
      </Routes>
      <LocationProbe />
    </>,
    route,
  );
}

describe('withCitationLinks', () => {
  it('turns [n] and [n, m] into citation links and leaves links and code alone', () => {
    expect(withCitationLinks('See [1] and [2, 3].')).toBe('See [1](#cite-1) and [2](#cite-2)[3](#cite-3).');
    expect(withCitationLinks('[docs](http://x) `a[1]`')).toBe('[docs](http://x) `a[1]`');
  });
});

describe('ChatPage', () => {
  it('streams the answer, shows citations as badges and opens the cited passage in a drawer', async () => {
    let sse: ReturnType<typeof sseResponse> | undefined;
    const calls = stub((path, method, _body, init) => {
      if (path === '/api/v1/chat/threads' && method === 'GET') return json(page([thread('t-stream')]));
      if (path === '/api/v1/chat/threads/t-stream' && method === 'GET') return json(thread('t-stream'));
      if (path === '/api/v1/chat/threads/t-stream/messages' && method === 'GET')
        // Once answered, the thread holds both turns, as the server stores them.
        return json(
          page(
            sse
              ? [
                  { id: 'u1', thread_id: 't-stream', role: 'user', content: 'How do I requeue dead letters?', sources: [], metadata: {}, created_at: now },
                  {
                    id: 'a1',
                    thread_id: 't-stream',
                    role: 'assistant',
                    content: 'Requeue them with `POST /dead-letters/requeue` [1].',
                    sources: [source1, source2],
                    metadata: {},
                    created_at: now,
                  },
                ]
              : [],
          ),
        );
      if (path === '/api/v1/chat/threads/t-stream/messages' && method === 'POST') {
        sse = sseResponse(init);
        return sse.response;
      }
      return undefined;
    });
    renderChat('/chat/t-stream');
    expect(await screen.findByText('Ask about your documents')).toBeInTheDocument();

    fireEvent.change(screen.getByRole('textbox', { name: 'Message' }), { target: { value: 'How do I requeue dead letters?' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));

    await waitFor(() => expect(sse).toBeDefined());
    const post = calls.find((c) => c.method === 'POST');
    expect(post).toEqual({ path: '/api/v1/chat/threads/t-stream/messages', method: 'POST', body: { content: 'How do I requeue dead letters?' } });
    // The question shows at once, and Stop replaces Send while streaming.
    expect(await screen.findByText('How do I requeue dead letters?', { selector: 'p' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Stop generating' })).toBeInTheDocument();

    sse!.send('sources', { sources: [source1, source2], strategy: 'merge', retrieval_ms: 3 });
    sse!.send('text', { content: 'Requeue them with ' });
    expect(await screen.findByText(/Requeue them with/)).toBeInTheDocument();
    // Not done yet: the answer is still streaming.
    expect(screen.getByRole('article', { name: 'Answer (streaming)' })).toBeInTheDocument();

    sse!.send('text', { content: '`POST /dead-letters/requeue` [1].' });
    expect(await screen.findByRole('button', { name: 'Citation 1: Runtime error codes' })).toBeInTheDocument();
    expect(screen.getByText('POST /dead-letters/requeue')).toBeInTheDocument();

    sse!.send('done', { completed: true, model: 'extractive-v1', usage: { total_tokens: 0 }, timing: { total_ms: 12 } });
    sse!.close();
    await waitFor(() => expect(screen.getByRole('button', { name: 'Send message' })).toBeInTheDocument());
    // The stored answer replaces the streamed one, once.
    await waitFor(() => expect(screen.getAllByRole('article', { name: 'Answer' })).toHaveLength(1));
    expect(screen.getAllByText('How do I requeue dead letters?', { selector: 'p' })).toHaveLength(1);

    fireEvent.click(screen.getByRole('button', { name: 'Citation 1: Runtime error codes' }));
    const drawer = await screen.findByRole('dialog', { name: 'Source 1' });
    expect(within(drawer).getByText('Runtime error codes')).toBeInTheDocument();
    expect(within(drawer).getByText('Requeueing dead letters')).toBeInTheDocument();
    expect(within(drawer).getByText(source1.snippet)).toBeInTheDocument();
    expect(within(drawer).getByText('score 0.432')).toBeInTheDocument();
    expect(within(drawer).getByText('file:///docs/errors.md')).toBeInTheDocument();
    expect(within(drawer).getByRole('link', { name: 'Open artefact' })).toHaveAttribute(
      'href',
      '/storage?key=' + encodeURIComponent(source1.markdown_key),
    );

    // The sources list names every passage; an uncited one opens too.
    const list = screen.getByRole('region', { name: 'Sources' });
    expect(within(list).getByRole('button', { name: 'Source 2: HTTP API' })).toBeInTheDocument();
  });

  it('creates a thread for the first message from /chat and navigates to it', async () => {
    let sse: ReturnType<typeof sseResponse> | undefined;
    const calls = stub((path, method, _body, init) => {
      if (path === '/api/v1/chat/threads' && method === 'GET') return json(page([]));
      if (path === '/api/v1/chat/threads' && method === 'POST') return json(thread('t-new', ''), 201);
      if (path === '/api/v1/chat/threads/t-new' && method === 'GET') return json(thread('t-new', 'What is Factflow?'));
      if (path === '/api/v1/chat/threads/t-new/messages' && method === 'GET') return json(page([]));
      if (path === '/api/v1/chat/threads/t-new/messages' && method === 'POST') {
        sse = sseResponse(init);
        return sse.response;
      }
      return undefined;
    });
    renderChat('/chat');
    expect(await screen.findByText('No threads yet. Ask a question to start one.')).toBeInTheDocument();
    fireEvent.change(screen.getByRole('textbox', { name: 'Message' }), { target: { value: 'What is Factflow?' } });
    fireEvent.keyDown(screen.getByRole('textbox', { name: 'Message' }), { key: 'Enter' });

    await waitFor(() => expect(screen.getByTestId('location').textContent).toBe('/chat/t-new'));
    await waitFor(() => expect(sse).toBeDefined());
    expect(calls.filter((c) => c.method === 'POST').map((c) => c.path)).toEqual([
      '/api/v1/chat/threads',
      '/api/v1/chat/threads/t-new/messages',
    ]);
    sse!.send('sources', { sources: [] });
    sse!.send('text', { content: 'A pipeline server.' });
    expect(await screen.findByText('A pipeline server.')).toBeInTheDocument();
    sse!.send('done', { completed: true });
    sse!.close();
    await waitFor(() => expect(screen.getByRole('button', { name: 'Send message' })).toBeInTheDocument());
  });

  it('stops a streaming answer with the Stop button', async () => {
    let aborted = false;
    let sse: ReturnType<typeof sseResponse> | undefined;
    stub((path, method, _body, init) => {
      if (path === '/api/v1/chat/threads' && method === 'GET') return json(page([thread('t-stop')]));
      if (path === '/api/v1/chat/threads/t-stop' && method === 'GET') return json(thread('t-stop'));
      if (path === '/api/v1/chat/threads/t-stop/messages' && method === 'GET') return json(page([]));
      if (path === '/api/v1/chat/threads/t-stop/messages' && method === 'POST') {
        init?.signal?.addEventListener('abort', () => (aborted = true));
        sse = sseResponse(init);
        return sse.response;
      }
      return undefined;
    });
    renderChat('/chat/t-stop');
    await screen.findByText('Ask about your documents');
    fireEvent.change(screen.getByRole('textbox', { name: 'Message' }), { target: { value: 'Long question' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));
    await waitFor(() => expect(sse).toBeDefined());
    sse!.send('text', { content: 'Partial answer' });
    await screen.findByText('Partial answer');
    fireEvent.click(screen.getByRole('button', { name: 'Stop generating' }));
    expect(await screen.findByText(/Stopped/)).toBeInTheDocument();
    expect(aborted).toBe(true);
    expect(screen.getByRole('button', { name: 'Send message' })).toBeInTheDocument();
  });

  it('shows an error event of the stream with its code', async () => {
    let sse: ReturnType<typeof sseResponse> | undefined;
    stub((path, method, _body, init) => {
      if (path === '/api/v1/chat/threads' && method === 'GET') return json(page([thread('t-err')]));
      if (path === '/api/v1/chat/threads/t-err' && method === 'GET') return json(thread('t-err'));
      if (path === '/api/v1/chat/threads/t-err/messages' && method === 'GET') return json(page([]));
      if (path === '/api/v1/chat/threads/t-err/messages' && method === 'POST') {
        sse = sseResponse(init);
        return sse.response;
      }
      return undefined;
    });
    renderChat('/chat/t-err');
    await screen.findByText('Ask about your documents');
    fireEvent.change(screen.getByRole('textbox', { name: 'Message' }), { target: { value: 'Q' } });
    fireEvent.click(screen.getByRole('button', { name: 'Send message' }));
    await waitFor(() => expect(sse).toBeDefined());
    sse!.send('error', { status: 502, title: 'Bad Gateway', detail: 'the model did not answer', error_code: 'CHAT_GENERATION_FAILED' });
    sse!.close();
    const alert = await screen.findByRole('alert');
    expect(alert).toHaveTextContent('the model did not answer');
    expect(alert).toHaveTextContent('CHAT_GENERATION_FAILED');
  });

  it('renders stored messages with their sources and renames a thread', async () => {
    const calls = stub((path, method) => {
      if (path === '/api/v1/chat/threads' && method === 'GET') return json(page([thread('t-old', 'Old thread')]));
      if (path === '/api/v1/chat/threads/t-old' && method === 'GET') return json(thread('t-old', 'Old thread'));
      if (path === '/api/v1/chat/threads/t-old' && method === 'PATCH') return json(thread('t-old', 'Renamed'));
      if (path === '/api/v1/chat/threads/t-old/messages' && method === 'GET')
        return json(
          page([
            { id: 'm1', thread_id: 't-old', role: 'user', content: 'Stored question', sources: [], metadata: {}, created_at: now },
            { id: 'm2', thread_id: 't-old', role: 'assistant', content: 'Stored answer [1].', sources: [source1], metadata: { model: 'extractive-v1' }, created_at: now },
          ]),
        );
      return undefined;
    });
    renderChat('/chat/t-old');
    expect(await screen.findByText('Stored question')).toBeInTheDocument();
    expect(await screen.findByRole('button', { name: 'Citation 1: Runtime error codes' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Source 1: Runtime error codes' })).toBeInTheDocument();

    fireEvent.click(screen.getByRole('button', { name: 'Actions for thread Old thread' }));
    fireEvent.click(await screen.findByRole('menuitem', { name: 'Rename' }));
    const dialog = await screen.findByRole('dialog', { name: 'Rename thread' });
    fireEvent.change(within(dialog).getByRole('textbox', { name: 'Title' }), { target: { value: 'Renamed' } });
    fireEvent.click(within(dialog).getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.find((c) => c.method === 'PATCH')?.body).toEqual({ title: 'Renamed' }));
  });
});
