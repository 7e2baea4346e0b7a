import { test, expect } from './fixtures';

// Every page renders inside the shell, in light and dark mode and at phone
// width, without a console error (the fixture fails the test on one).
const pages = [
  { path: '/', name: 'dashboard' },
  { path: '/pipelines', name: 'pipelines' },
  { path: '/pipelines/new', name: 'pipeline-editor' },
  { path: '/executions', name: 'executions' },
  { path: '/storage', name: 'storage' },
  { path: '/dead-letters', name: 'dead-letters' },
  { path: '/search', name: 'search' },
  { path: '/chat', name: 'chat' },
  { path: '/webhooks', name: 'webhooks' },
  { path: '/access', name: 'access' },
];

for (const p of pages) {
  test(`${p.name} page renders`, async ({ page }) => {
    await page.goto(p.path);
    await expect(page.getByRole('navigation', { name: 'Main' })).toBeVisible();
    await expect(page.getByRole('main').getByRole('heading').first()).toBeVisible();
    // Informational alerts are fine; a failed request is not.
    await expect(page.locator('main [data-kind=error]')).toHaveCount(0);
  });
}

test('without auth the caller is the local admin, who may open Access', async ({ page }) => {
  await page.goto('/');
  await expect(page.getByRole('banner').getByText('local', { exact: true })).toBeVisible();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Access' }).click();
  await expect(page).toHaveURL(/\/access$/);
  await expect(page.getByRole('tab', { name: 'Tokens' })).toHaveAttribute('aria-selected', 'true');
  await expect(page.getByRole('tab', { name: 'Audit log' })).toBeVisible();
  await expect(page.locator('main [data-kind=error]')).toHaveCount(0);
});

test('dark mode and phone width', async ({ page }) => {
  await page.goto('/');
  await page.getByRole('button', { name: 'Switch to dark mode' }).click();
  await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', 'dark');
  await page.reload();
  await expect(page.locator('html')).toHaveAttribute('data-mantine-color-scheme', 'dark');
  await page.setViewportSize({ width: 390, height: 844 });
  await expect(page.getByRole('navigation', { name: 'Main' })).not.toBeInViewport();
  await page.getByRole('button', { name: 'Toggle navigation' }).click();
  await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Executions' }).click();
  await expect(page).toHaveURL(/\/executions$/);
  await page.getByRole('button', { name: 'Switch to light mode' }).click();
});

test('unknown paths: the app says so, the API answers a problem', async ({ page, request }) => {
  await page.goto('/no/such/page');
  await expect(page.getByRole('heading', { name: 'Page not found' })).toBeVisible();
  const res = await request.get('/api/v1/no-such-operation');
  expect(res.status()).toBe(404);
  expect((await res.json()).error_code).toBe('NOT_FOUND');
});

