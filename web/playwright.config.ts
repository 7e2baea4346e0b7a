import { defineConfig } from '@playwright/test';

// End-to-end tests drive the real `factflow serve --embedded` (started by
// e2e/global-setup.ts from FACTFLOW_BIN) in the machine's own headless
// Chromium (FACTFLOW_CHROMIUM): Playwright's browser download is never used.
const executablePath = process.env.FACTFLOW_CHROMIUM || '/usr/bin/chromium';

export default defineConfig({
  testDir: 'e2e',
  globalSetup: './e2e/global-setup.ts',
  // One server holds the state the flows build on, so they run in order.
  workers: 1,
  fullyParallel: false,
  timeout: 90_000,
  expect: { timeout: 20_000 },
  retries: 0,
  reporter: [['list']],
  outputDir: 'test-results',
  use: {
    headless: true,
    viewport: { width: 1440, height: 900 },
    trace: 'retain-on-failure',
    screenshot: 'only-on-failure',
    launchOptions: {
      executablePath,
      // Chromium's background services would reach for the network,
      // which an isolated test machine refuses.
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--disable-dev-shm-usage',
      ],
    },
  },
});
