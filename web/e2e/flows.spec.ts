import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from '@playwright/test';
import { test, expect, fixturesDir, shot } from './fixtures';

// What a user does from the browser, in order, on one server: write a
// pipeline, run it and watch it finish, browse what it wrote, requeue what
// it dead-lettered, search and ask the chat about it, subscribe a webhook.

const pipelineYAML = (root: string, adapter = 'file_source') => `version: "1.0"
description: UI end-to-end pipeline
defaults:
  error_handling: { max_retries: 0, retry_delay: 100ms, dead_letter: true }
routes:
  scan:
    inbound: { queue: ui.scan }
    adapters:
      - type: ${adapter}
        config: { include: ["*.md"] }
    outbound: [ { queue: ui.convert } ]
  convert:
    inbound: { queue: ui.convert, concurrency: 2 }
    adapters:
      - type: fail
        condition: { field: relative_path, operator: contains, value: poison }
        config: { mode: always, permanent: true, message: quarantined file }
      - type: storage_retriever
      - type: html_to_markdown
      - type: markdown_storage_writer
      - type: smart_segmenter
        config: { max_tokens: 256, min_tokens: 16 }
      - type: segment_publisher
    outbound: [ { queue: ui.embed } ]
  embed:
    inbound: { queue: ui.embed, concurrency: 8 }
    adapters:
      - type: embedding_generator
init_message:
  route: scan
  payload: { root: ${JSON.stringify(root)} }
`;

/** setEditor replaces the YAML editor's text as a user would: select all, type. */
async function setEditor(page: Page, text: string) {
  const editor = page.getByRole('textbox', { name: 'Pipeline YAML' });
  await editor.click();
  await page.keyboard.press('ControlOrMeta+A');
  await page.keyboard.press('Delete');
  // insertText skips the editor's auto-indent, which typing would apply.
  await page.keyboard.insertText(text);
}

let executionPath = '';

test.describe.serial('a pipeline from the browser', () => {
  test('write a pipeline with live validation, save and run it, watch it complete', async ({ page }) => {
    await page.goto('/pipelines');
    await page.getByRole('link', { name: 'New pipeline' }).click();
    await expect(page).toHaveURL(/\/pipelines\/new$/);
    await page.getByRole('textbox', { name: 'Name' }).fill('ui-e2e');

    // A misspelt adapter type is a finding with its code and line.
    await setEditor(page, pipelineYAML(fixturesDir(), 'file_sourc'));
    const findings = page.getByRole('list', { name: 'Validation findings' });
    await expect(findings.getByRole('button', { name: /^Go to E101 at line 9:/ })).toBeVisible();
    await shot(page, 'pipeline-editor');

    await setEditor(page, pipelineYAML(fixturesDir()));
    await expect(page.getByText('No findings: the pipeline is valid.')).toBeVisible();
    await page.getByRole('button', { name: 'Create pipeline' }).click();
    await expect(page).toHaveURL(/\/pipelines\/[0-9a-f-]{36}$/);

    await page.getByRole('button', { name: 'Run', exact: true }).click();
    const run = page.getByRole('dialog');
    await run.getByRole('textbox', { name: 'Tag' }).fill('ui-e2e-run');
    await run.getByRole('button', { name: 'Start execution' }).click();
    await expect(page).toHaveURL(/\/executions\/[0-9a-f-]{36}$/);
    executionPath = new URL(page.url()).pathname;

    // The page follows the execution live to its end.
    const main = page.getByRole('main');
    await expect(main.getByText('completed', { exact: true }).first()).toBeVisible({ timeout: 60_000 });
    for (const route of ['scan', 'convert', 'embed']) {
      await expect(page.getByRole('group', { name: `Route ${route}` })).toBeVisible();
    }
    // Once more without the notifications, for the docs.
    await page.reload();
    await expect(page.getByRole('group', { name: 'Route convert' })).toBeVisible();
    await shot(page, 'execution');

    await page.goto('/pipelines');
    await expect(page.getByRole('table', { name: 'Pipelines' }).getByText('ui-e2e', { exact: true })).toBeVisible();
    await shot(page, 'pipelines');
  });

  test('drill into lineage and browse the artefacts', async ({ page }) => {
    await page.goto(executionPath);
    await page.getByRole('tab', { name: /^Lineage/ }).click();
    await page.getByRole('button', { name: /^Open message / }).first().click();
    await expect(page.getByRole('button', { name: 'Close message details' })).toBeVisible();
    await page.getByRole('button', { name: 'Close message details' }).click();

    await page.getByRole('tab', { name: /^Artefacts/ }).click();
    const artefacts = page.getByRole('table', { name: 'Artefacts' });
    await artefacts.getByRole('link', { name: /widget\.md$/ }).first().click();
    await expect(page).toHaveURL(/\/storage\?/);
    const preview = page.getByRole('region', { name: 'Object preview' });
    await expect(preview.getByRole('heading', { name: 'Cobalt widget' })).toBeVisible();
    await expect(page.getByRole('tree', { name: 'Folders' })).toBeVisible();
    await shot(page, 'storage');
  });

  test('requeue a dead letter', async ({ page }) => {
    await page.goto('/dead-letters');
    const table = page.getByRole('table', { name: 'Dead letters' });
    await expect(table.getByText('quarantined file').first()).toBeVisible();
    await shot(page, 'dead-letters');
    await table.getByRole('checkbox', { name: /^Select dead letter / }).first().check();
    await page.getByRole('button', { name: 'Requeue selected' }).click();
    await page.getByRole('button', { name: 'Confirm requeue' }).click();
    await expect(page.getByText('1 dead letter went back into their pipelines.')).toBeVisible();
  });

  test('search the ingested segments', async ({ page }) => {
    await page.goto('/search');
    await page.getByRole('radiogroup', { name: 'Search mode' }).getByText('Hybrid', { exact: true }).click();
    await expect(page.getByRole('radio', { name: 'Hybrid' })).toBeChecked();
    await page.getByRole('textbox', { name: 'Query' }).fill('cobalt north codename');
    await page.getByRole('button', { name: 'Search', exact: true }).click();
    const results = page.getByRole('list', { name: 'Search results' });
    await expect(results.getByText('cobalt north').first()).toBeVisible();
    await shot(page, 'search');
  });

  test('ask the chat and open a citation', async ({ page }) => {
    await page.goto('/chat');
    await page.getByRole('textbox', { name: 'Message' }).fill('What is the codename of the widget?');
    await page.getByRole('button', { name: 'Send message' }).click();
    await expect(page).toHaveURL(/\/chat\/[0-9a-f-]{36}$/);
    const answer = page.getByRole('article', { name: 'Answer' }).last();
    await expect(answer).toContainText('cobalt north');
    await shot(page, 'chat');
    await answer.getByRole('button', { name: /^Citation 1:/ }).first().click();
    const source = page.getByRole('dialog', { name: 'Source 1' });
    await expect(source.getByRole('link', { name: 'Open artefact' })).toBeVisible();
  });

  test('subscribe a webhook and send it a signed test delivery', async ({ page }) => {
    const received: IncomingHttpHeaders[] = [];
    const receiver = createServer((req, res) => {
      received.push(req.headers);
      req.resume();
      req.on('end', () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, '127.0.0.1', r));
    const target = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
    try {
      await page.goto('/webhooks');
      await page.getByRole('button', { name: 'New webhook' }).click();
      const form = page.getByRole('dialog');
      await form.getByRole('textbox', { name: 'URL' }).fill(target);
      await form.getByRole('combobox', { name: 'Events' }).click();
      await page.getByRole('option', { name: 'execution.completed' }).click();
      await page.keyboard.press('Escape');
      await form.getByRole('button', { name: 'Create webhook' }).click();
      const secret = page.getByRole('dialog', { name: 'Webhook signing secret' });
      await expect(secret.getByRole('button', { name: 'Copy secret' })).toBeVisible();
      await secret.getByRole('button', { name: 'I have saved the secret' }).click();

      await page.getByRole('table', { name: 'Webhooks' }).getByText(target).click();
      await expect(page).toHaveURL(/\/webhooks\/[0-9a-f-]{36}$/);
      await page.getByRole('button', { name: 'Send test' }).click();
      await expect.poll(() => received.length, { timeout: 30_000 }).toBeGreaterThan(0);
      expect(received[0]['x-factflow-signature']).toMatch(/^sha256=[0-9a-f]{64}$/);
      await expect(page.getByRole('table', { name: 'Deliveries' }).getByText('succeeded').first()).toBeVisible({ timeout: 30_000 });
      await shot(page, 'webhooks');
    } finally {
      receiver.close();
    }
  });

  test('create an API token, see it once, revoke it and find the revocation in the audit log', async ({ page }) => {
    await page.goto('/access');
    const tokens = page.getByRole('table', { name: 'API tokens' });

    // One token that stays, so the list has something in it.
    await page.getByRole('button', { name: 'New token' }).click();
    let form = page.getByRole('dialog', { name: 'New API token' });
    await form.getByRole('textbox', { name: 'Name' }).fill('ci-nightly');
    // With a scope already chosen, its pill covers the input: open the list from the keyboard.
    await form.getByRole('combobox', { name: 'Scopes' }).focus();
    await page.keyboard.press('ArrowDown');
    await page.getByRole('option', { name: /^write/ }).click();
    await page.keyboard.press('Escape');
    await form.getByLabel('Expires', { exact: true }).click();
    await page.getByRole('option', { name: '30 days' }).click();
    await form.getByRole('button', { name: 'Create token' }).click();
    let shown = page.getByRole('dialog', { name: 'API token created' });
    await expect(shown.getByLabel('API token')).toHaveText(/^fft_\S+$/);
    await shown.getByRole('button', { name: 'I have saved the token' }).click();

    // One to revoke: its secret is shown once, then never again.
    await page.getByRole('button', { name: 'New token' }).click();
    form = page.getByRole('dialog', { name: 'New API token' });
    await form.getByRole('textbox', { name: 'Name' }).fill('e2e-temporary');
    await form.getByRole('button', { name: 'Create token' }).click();
    shown = page.getByRole('dialog', { name: 'API token created' });
    await expect(shown.getByRole('button', { name: 'Copy token' })).toBeVisible();
    const secret = (await shown.getByLabel('API token').textContent())!.trim();
    expect(secret).toMatch(/^fft_/);
    await shown.getByRole('button', { name: 'I have saved the token' }).click();
    await expect(shown).toBeHidden();
    await expect(tokens.getByText('e2e-temporary')).toBeVisible();
    await expect(page.getByText(secret)).toHaveCount(0);

    await tokens.getByRole('button', { name: 'Revoke e2e-temporary' }).click();
    await page.getByRole('dialog', { name: 'Revoke token?' }).getByRole('button', { name: 'Revoke token' }).click();
    await expect(tokens.getByText('e2e-temporary')).toHaveCount(0);
    await page.getByRole('switch', { name: 'Show revoked' }).check({ force: true });
    const revoked = tokens.getByRole('row').filter({ hasText: 'e2e-temporary' });
    await expect(revoked.getByText('revoked')).toBeVisible();
    await expect(revoked.getByRole('button', { name: 'Revoke e2e-temporary' })).toBeDisabled();
    // The toast would cover the header in the screenshot.
    await expect(page.getByText('Token revoked')).toBeHidden({ timeout: 15_000 });
    await shot(page, 'access');

    await page.getByRole('tab', { name: 'Audit log' }).click();
    await page.getByRole('textbox', { name: 'Action' }).fill('revoke-token');
    await expect(page).toHaveURL(/tab=audit.*action=revoke-token/);
    const entry = page.getByRole('table', { name: 'Audit log' }).getByRole('row', { name: 'Audit entry revoke-token by local' });
    await expect(async () => {
      await page.getByRole('button', { name: 'Refresh audit log' }).click();
      await expect(entry.first()).toBeVisible({ timeout: 2_000 });
    }).toPass({ timeout: 30_000 });
    await expect(entry.first().getByText('ok', { exact: true })).toBeVisible();
    await entry.first().click();
    const details = page.getByRole('dialog', { name: 'Audit entry' });
    await expect(details).toContainText('"action": "revoke-token"');
    await expect(details).toContainText('"target": "/auth/tokens/');
  });

  test('the dashboard shows components, failures and the queue', async ({ page }) => {
    await page.goto('/');
    await expect(page.getByRole('table', { name: 'Component health' })).toBeVisible();
    await expect(page.getByRole('link', { name: 'Pending dead letters: open' })).toBeVisible();
    await shot(page, 'dashboard');
  });
});
