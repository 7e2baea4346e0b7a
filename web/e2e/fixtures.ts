import { test as base, expect, type Page } from '@playwright/test';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

/** The server the global setup started. */
export function serverURL(): string {
  const url = process.env.FACTFLOW_E2E_URL;
  if (!url) throw new Error('FACTFLOW_E2E_URL is not set (global setup did not run)');
  return url;
}

export function fixturesDir(): string {
  return process.env.FACTFLOW_E2E_FIXTURES!;
}

/**
 * test is Playwright's test with the server as baseURL, and a page that
 * fails the test on any console error or uncaught exception.
 */
export const test = base.extend<{ consoleErrors: string[] }>({
  baseURL: async ({}, use) => use(serverURL()),
  consoleErrors: [
    async ({ page }, use) => {
    const errors: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error') errors.push(m.text());
    });
    page.on('pageerror', (e) => errors.push(`uncaught: ${e.message}`));
      await use(errors);
      expect(errors, 'console errors on the page').toEqual([]);
    },
    { auto: true },
  ],
});

export { expect };

/** shot saves a screenshot for the docs when FACTFLOW_SCREENSHOTS names a folder. */
export async function shot(page: Page, name: string): Promise<void> {
  const dir = process.env.FACTFLOW_SCREENSHOTS;
  if (!dir) return;
  mkdirSync(dir, { recursive: true });
  await page.screenshot({ path: join(dir, `${name}.png`), fullPage: false });
}
