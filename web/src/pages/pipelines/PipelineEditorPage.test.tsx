import { describe, expect, it, vi } from 'vitest';
import { configure, screen, waitFor, within } from '@testing-library/react';
import userEventLib from '@testing-library/user-event';
import { Route, Routes } from 'react-router';
import { renderPage } from '../../test/render';
import PipelineEditorPage from './PipelineEditorPage';
import { NEW_PIPELINE_TEMPLATE } from './template';
import { adapters, makeConfig, stubFetch, validReport, type Call } from './testutil';

// openapi-fetch keeps the fetch it saw at creation: delegate to the current stub.
// jsdom has no layout; CodeMirror asks for client rects while measuring.
if (!Range.prototype.getClientRects) {
  Range.prototype.getClientRects = () => [] as unknown as DOMRectList;
  Range.prototype.getBoundingClientRect = () => new DOMRect();
}

const badReport = {
  is_valid: false,
  error_count: 1,
  warning_count: 1,
  findings: [
    {
      severity: 'error',
      code: 'E101',
      path: 'routes.scan.adapters[0].type',
      line: 15,
      column: 15,
      message: 'unknown adapter type "file_sourc"; did you mean "file_source"?',
      remediation: 'use a registered adapter type: file_source, noop',
    },
    {
      severity: 'warning',
      code: 'W301',
      path: 'routes.convert',
      line: 22,
      column: 0,
      message: 'route convert never receives messages',
    },
  ],
};

function editorStub(opts: { validate?: (c: Call) => unknown; extra?: (c: Call) => { status?: number; body?: unknown } | undefined } = {}) {
  return stubFetch((c) => {
    const r = opts.extra?.(c);
    if (r) return r;
    if (c.method === 'GET' && c.url.pathname === '/api/v1/adapters') return { body: adapters };
    if (c.method === 'POST' && c.url.pathname === '/api/v1/configs/validate') return { body: opts.validate ? opts.validate(c) : validReport };
    return undefined;
  });
}

function renderEditor(route: string) {
  return renderPage(
    <Routes>
      <Route path="/pipelines/new" element={<PipelineEditorPage />} />
      <Route path="/pipelines/:id" element={<PipelineEditorPage />} />
      <Route path="/executions/:id" element={<div>execution page</div>} />
    </Routes>,
    route,
  );
}

// The machine may be busy: no keystroke delay, generous timeouts.
const userEvent = userEventLib.setup({ delay: null });
vi.setConfig({ testTimeout: 30_000 });
configure({ asyncUtilTimeout: 5_000 });

describe('PipelineEditorPage', () => {
  it('validates the template and renders the findings of the validate response', async () => {
    const { calls } = editorStub({ validate: () => badReport });
    renderEditor('/pipelines/new');
    expect(screen.getByRole('heading', { name: /New pipeline/ })).toBeInTheDocument();

    const list = await screen.findByRole('list', { name: 'Validation findings' }, { timeout: 3000 });
    const items = within(list).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(items[0]).toHaveTextContent('Line 15:15');
    expect(items[0]).toHaveTextContent('E101');
    expect(items[0]).toHaveTextContent('unknown adapter type "file_sourc"');
    expect(items[0]).toHaveTextContent('Fix: use a registered adapter type');
    expect(items[1]).toHaveTextContent('W301');
    expect(screen.getByText('1 error')).toBeInTheDocument();

    const v = calls.find((c) => c.url.pathname === '/api/v1/configs/validate')!;
    expect(v.body).toEqual({ config_yaml: NEW_PIPELINE_TEMPLATE });

    // The finding is a button that moves the cursor there.
    expect(within(list).getByRole('button', { name: /Go to E101 at line 15/ })).toBeInTheDocument();
  });

  it('shows the findings inline as editor diagnostics', async () => {
    editorStub({ validate: () => badReport });
    const { container } = renderEditor('/pipelines/new');
    await screen.findByRole('list', { name: 'Validation findings' }, { timeout: 3000 });
    await waitFor(() => expect(container.querySelectorAll('.cm-lintRange-error').length).toBe(1));
    expect(container.querySelector('.cm-lintRange-error')).toHaveTextContent('file_source');
    expect(container.querySelectorAll('.cm-lintRange-warning').length).toBe(1);
  });

  it('says so when the YAML is valid', async () => {
    editorStub();
    renderEditor('/pipelines/new');
    expect(await screen.findByText(/No findings/, undefined, { timeout: 3000 })).toBeInTheDocument();
  });

  it('requires a name, then creates the config with POST and opens it', async () => {
    const created = makeConfig({ id: '01a23620-0000-7000-8000-0000000000aa', name: 'my-pipe', version: 1, config_yaml: NEW_PIPELINE_TEMPLATE });
    const { calls } = editorStub({
      extra: (c) => {
        if (c.method === 'POST' && c.url.pathname === '/api/v1/configs') return { status: 201, body: created };
        if (c.method === 'GET' && c.url.pathname === `/api/v1/configs/${created.id}`) return { body: created };
        return undefined;
      },
    });
    renderEditor('/pipelines/new');
    await userEvent.click(screen.getByRole('button', { name: 'Create pipeline' }));
    expect(await screen.findByText('A name is required')).toBeInTheDocument();
    expect(calls.some((c) => c.method === 'POST' && c.url.pathname === '/api/v1/configs')).toBe(false);

    await userEvent.type(screen.getByRole('textbox', { name: 'Name' }), 'my-pipe');
    await userEvent.type(screen.getByRole('textbox', { name: 'Description' }), 'A test pipeline');
    await userEvent.click(screen.getByRole('button', { name: 'Create pipeline' }));

    await waitFor(() => expect(calls.some((c) => c.method === 'POST' && c.url.pathname === '/api/v1/configs')).toBe(true));
    const post = calls.find((c) => c.method === 'POST' && c.url.pathname === '/api/v1/configs')!;
    expect(post.body).toEqual({ name: 'my-pipe', description: 'A test pipeline', config_yaml: NEW_PIPELINE_TEMPLATE });
    // Now the stored config's page: Save and Run, the stored report.
    expect(await screen.findByRole('button', { name: 'Save' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Run' })).toBeEnabled();
    expect(screen.getByText('Stored version 1')).toBeInTheDocument();
    expect(screen.getByText('runnable')).toBeInTheDocument();
    expect(await screen.findByText('Saved my-pipe (v1)')).toBeInTheDocument();
  });

  it('loads a stored config and saves changes with PUT', async () => {
    const cfg = makeConfig();
    const { calls } = editorStub({
      extra: (c) => {
        if (c.method === 'GET' && c.url.pathname === `/api/v1/configs/${cfg.id}`) return { body: cfg };
        if (c.method === 'PUT') return { body: { ...cfg, name: 'folder-ingest-2', version: 4 } };
        return undefined;
      },
    });
    renderEditor(`/pipelines/${cfg.id}`);
    const name = await screen.findByRole('textbox', { name: 'Name' });
    expect(name).toHaveValue('folder-ingest');
    expect(screen.getByText(/Version 3 · api/)).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Save' })).toBeDisabled();

    await userEvent.clear(name);
    await userEvent.type(name, 'folder-ingest-2');
    expect(screen.getByText('unsaved changes')).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    await waitFor(() => expect(calls.some((c) => c.method === 'PUT')).toBe(true));
    const put = calls.find((c) => c.method === 'PUT')!;
    expect(put.url.pathname).toBe(`/api/v1/configs/${cfg.id}`);
    expect(put.body).toEqual({ name: 'folder-ingest-2', description: 'Ingest a folder', config_yaml: cfg.config_yaml });
    expect(await screen.findByText('Stored version 4')).toBeInTheDocument();
    await waitFor(() => expect(screen.queryByText('unsaved changes')).not.toBeInTheDocument());
  });

  it('shows a save failure with its code', async () => {
    const { calls } = editorStub({
      extra: (c) =>
        c.method === 'POST' && c.url.pathname === '/api/v1/configs'
          ? { status: 409, body: { title: 'Conflict', status: 409, error_code: 'CONFIG_NAME_TAKEN', detail: 'config name "x" is taken', hint: 'choose another name' } }
          : undefined,
    });
    renderEditor('/pipelines/new');
    await userEvent.type(screen.getByRole('textbox', { name: 'Name' }), 'x');
    await userEvent.click(screen.getByRole('button', { name: 'Create pipeline' }));
    expect(await screen.findByText('CONFIG_NAME_TAKEN')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'POST' && c.url.pathname === '/api/v1/configs')).toHaveLength(1);
  });

  it('lists versions and restores an old one into the editor', async () => {
    const cfg = makeConfig();
    const old = 'version: "1.0"\nroutes: {}\n';
    editorStub({
      extra: (c) => {
        if (c.url.pathname === `/api/v1/configs/${cfg.id}`) return { body: cfg };
        if (c.url.pathname === `/api/v1/configs/${cfg.id}/versions`)
          return {
            body: {
              config_id: cfg.id,
              current_version: 3,
              total: 2,
              items: [
                { config_id: cfg.id, version: 1, name: 'folder-ingest', description: 'first', config_yaml: old, config_hash: 'a', created_at: '2026-12-01T10:00:00Z', validation_report: { ...badReport, warning_count: 0, findings: [] } },
                { config_id: cfg.id, version: 3, name: 'folder-ingest', config_yaml: cfg.config_yaml, config_hash: 'c', created_at: '2026-12-02T09:00:00Z', validation_report: validReport },
              ],
            },
          };
        return undefined;
      },
    });
    renderEditor(`/pipelines/${cfg.id}`);
    await userEvent.click(await screen.findByRole('tab', { name: 'Versions' }));
    const list = await screen.findByRole('list', { name: 'Versions' });
    const items = within(list).getAllByRole('listitem');
    expect(items[0]).toHaveTextContent('v3');
    expect(items[0]).toHaveTextContent('current');
    expect(items[1]).toHaveTextContent('v1');
    expect(items[1]).toHaveTextContent('1 error');

    await userEvent.click(within(list).getByRole('button', { name: 'View version 1' }));
    const dialog = await screen.findByRole('dialog', { name: /Version 1 of folder-ingest/ });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Restore into editor' }));
    expect(await screen.findByText('unsaved changes')).toBeInTheDocument();
    expect(screen.getByRole('textbox', { name: 'Description' })).toHaveValue('first');
    await waitFor(() => expect(document.querySelector('.cm-content')?.textContent).toContain('routes: {}'));
  });

  it('run dialog from the editor sends the tag as a query param and opens the execution', async () => {
    const cfg = makeConfig();
    const { calls } = editorStub({
      extra: (c) => {
        if (c.method === 'GET' && c.url.pathname === `/api/v1/configs/${cfg.id}`) return { body: cfg };
        if (c.method === 'POST' && c.url.pathname.endsWith('/run')) return { status: 201, body: { id: 'ex-9', status: 'pending', created_at: '', updated_at: '' } };
        return undefined;
      },
    });
    renderEditor(`/pipelines/${cfg.id}`);
    await userEvent.click(await screen.findByRole('button', { name: 'Run' }));
    const dialog = await screen.findByRole('dialog');
    await userEvent.type(within(dialog).getByRole('textbox', { name: 'Tag' }), 'try.1');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Start execution' }));
    expect(await screen.findByText('execution page')).toBeInTheDocument();
    const run = calls.find((c) => c.url.pathname.endsWith('/run'))!;
    expect(run.url.searchParams.get('tag')).toBe('try.1');
    expect(run.url.searchParams.has('skip_init_message')).toBe(false);
    expect(run.body).toEqual({ root: '/srv/docs' });
  });
});
