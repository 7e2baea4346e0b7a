import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// globalSetup starts the real server on the embedded default with a
// private data dir and an unused port, writes the fixture folder the
// pipelines ingest, and stops the server (SIGTERM, graceful) at the end.
export default async function globalSetup(): Promise<() => Promise<void>> {
  const bin = process.env.FACTFLOW_BIN;
  if (!bin) throw new Error('FACTFLOW_BIN is not set: run the e2e tests with `make test-e2e`');
  const root = mkdtempSync(join(tmpdir(), 'factflow-e2e-'));
  const fixtures = join(root, 'docs');
  mkdirSync(fixtures);
  writeFileSync(
    join(fixtures, 'widget.md'),
    '# Cobalt widget\n\nThe codename of the widget is cobalt north. It ships every spring.\n\n' +
      '## Installing\n\nInstall the widget with the cobalt installer, then restart the service.\n',
  );
  writeFileSync(join(fixtures, 'gadget.md'), '# Gadget guide\n\nThe gadget runs on solar power and needs no batteries.\n');
  writeFileSync(join(fixtures, 'poison.md'), '# Quarantined\n\nThis file is refused by the pipeline on purpose.\n');

  const server = spawn(bin, ['serve', '--embedded', '--port', '0', '--data-dir', join(root, 'data')], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, FACTFLOW_LOG_LEVEL: process.env.FACTFLOW_LOG_LEVEL ?? 'warn' },
  });
  const url = await serverURL(server);
  process.env.FACTFLOW_E2E_URL = url;
  process.env.FACTFLOW_E2E_FIXTURES = fixtures;
  return async () => {
    await stop(server);
    if (!process.env.FACTFLOW_E2E_KEEP) rmSync(root, { recursive: true, force: true });
  };
}

function serverURL(server: ChildProcess): Promise<string> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      server.kill('SIGTERM');
      reject(new Error(`factflow serve did not start within 120 s:\n${out}\n${err}`));
    }, 120_000);
    server.stdout!.on('data', (b: Buffer) => {
      out += b.toString();
      const m = /serving on (http:\/\/\S+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    server.stderr!.on('data', (b: Buffer) => {
      err += b.toString();
      if (err.length > 64_000) err = err.slice(-32_000);
    });
    server.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`factflow serve exited with ${code} before serving:\n${out}\n${err}`));
    });
  });
}

function stop(server: ChildProcess): Promise<void> {
  return new Promise((resolve) => {
    if (server.exitCode !== null) return resolve();
    const kill = setTimeout(() => server.kill('SIGKILL'), 40_000);
    server.on('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    server.kill('SIGTERM');
  });
}
