// Page-load figures of the web UI: `make bench-ui` starts
// `factflow serve --embedded` on a free port and loads each page cold (a new
// browser context, so nothing cached) in headless Chromium, several times,
// printing the median and worst time to the first heading of the page, the
// bytes transferred and the requests made. Playwright comes from web/.
import { spawn } from 'node:child_process';
import { createServer, get } from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const here = new URL('.', import.meta.url).pathname;
const require = createRequire(resolve(here, '../../web/package.json'));
const { chromium } = require('playwright-core');

const bin = process.env.FACTFLOW_BIN;
const rounds = Number(process.env.ROUNDS ?? 7);
if (!bin) {
  console.error('FACTFLOW_BIN is not set: run `make bench-ui`');
  process.exit(2);
}
const pages = ['/', '/pipelines', '/pipelines/new', '/executions', '/storage', '/dead-letters', '/search', '/chat', '/webhooks'];

const dir = mkdtempSync(join(tmpdir(), 'factflow-bench-ui-'));
const server = spawn(bin, ['serve', '--embedded', '--port', '0', '--data-dir', join(dir, 'data')], {
  stdio: ['ignore', 'pipe', 'inherit'],
  env: { ...process.env, FACTFLOW_LOG_LEVEL: 'warn' },
});
const url = await new Promise((ok, fail) => {
  let out = '';
  server.stdout.on('data', (b) => {
    out += b;
    const m = /serving on (http:\/\/\S+)/.exec(out);
    if (m) ok(m[1]);
  });
  server.on('exit', (c) => fail(new Error(`factflow serve exited with ${c}`)));
});

const browser = await chromium.launch({
  executablePath: process.env.FACTFLOW_CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync', '--disable-dev-shm-usage'],
});

// wireBytes is the size of one response body as sent, before any decoding.
const wireBytes = (u, encoding) =>
  new Promise((ok, fail) => {
    get(u, { headers: { 'Accept-Encoding': encoding } }, (res) => {
      let n = 0;
      res.on('data', (c) => (n += c.length));
      res.on('end', () => ok(n));
    }).on('error', fail);
  });
const html = await (await fetch(url + '/')).text();
const entry = [...html.matchAll(/(?:src|href)="(\/assets\/[^"]+)"/g)].map((m) => m[1]);
let plain = 0;
let gz = 0;
for (const a of entry) {
  plain += await wireBytes(url + a, 'identity');
  gz += await wireBytes(url + a, 'gzip');
}

// The floor: the same measurement on a static page with one heading,
// served from this process, shows what the browser alone costs.
const floor = createServer((_, res) => {
  res.writeHead(200, { 'Content-Type': 'text/html' });
  res.end('<!doctype html><html><body><main><h1>Baseline</h1></main></body></html>');
});
await new Promise((r) => floor.listen(0, '127.0.0.1', r));
const floorURL = `http://127.0.0.1:${floor.address().port}`;

const pct = (xs, p) => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(p * xs.length))];
const rows = [];
try {
  for (const path of ['baseline', ...pages]) {
    const times = [];
    let bytes = 0;
    let requests = 0;
    for (let i = 0; i < rounds; i++) {
      const ctx = await browser.newContext();
      const page = await ctx.newPage();
      let b = 0;
      let n = 0;
      page.on('requestfinished', async (req) => {
        n++;
        const s = await req.sizes().catch(() => null);
        if (s) b += s.responseBodySize + s.responseHeadersSize;
      });
      const t0 = performance.now();
      await page.goto(path === 'baseline' ? floorURL : url + path, { waitUntil: 'commit' });
      await page.getByRole('main').getByRole('heading').first().waitFor({ state: 'visible' });
      times.push(performance.now() - t0);
      await page.waitForLoadState('load');
      if (i === 0) {
        bytes = b;
        requests = n;
      }
      await ctx.close();
    }
    // The first round also fills the server's compressed-file cache.
    rows.push({ path, p50: pct(times.slice(1), 0.5), max: Math.max(...times.slice(1)), first: times[0], kib: bytes / 1024, requests });
  }
} finally {
  await browser.close();
  floor.close();
  server.kill('SIGTERM');
  await new Promise((r) => server.on('exit', r));
  rmSync(dir, { recursive: true, force: true });
}

console.log(`UI page loads, cold browser context, ${rounds} loads per page (first load reported apart), ${url}`);
console.log(`entry scripts and styles (${entry.length} files): ${(plain / 1024).toFixed(0)} KiB plain, ${(gz / 1024).toFixed(0)} KiB gzipped`);
console.log('page              first ms   p50 ms   max ms   KiB moved   requests');
for (const r of rows) {
  console.log(
    `${r.path.padEnd(16)} ${r.first.toFixed(0).padStart(9)} ${r.p50.toFixed(0).padStart(8)} ${r.max.toFixed(0).padStart(8)} ${r.kib.toFixed(0).padStart(11)} ${String(r.requests).padStart(10)}`,
  );
}
