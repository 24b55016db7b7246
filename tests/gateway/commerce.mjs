// The commerce server as the test runs it: the debug binary (built first,
// as tests/browser does), on a free port, over a fresh database of its own
// that is dropped afterwards, with NATS out of the picture (no outbox
// relay, changes announced to nobody: the test is about queries), and
// bearer tokens minted by the binary itself (`commerce token`).
//
// Environment: COMMERCE_BIN (default target/debug/commerce, after `cargo
// build`), TEST_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const postgres = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';

export function check(condition, message) {
  if (!condition) throw new Error(message);
}

export async function freePort() {
  return new Promise((done, failed) => {
    const probe = createServer();
    probe.once('error', failed);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

/** The server binary: COMMERCE_BIN, or target/debug/commerce after `cargo build` (cheap when up to date). */
export function buildServer() {
  if (process.env.COMMERCE_BIN) return resolve(process.env.COMMERCE_BIN);
  const built = spawnSync('cargo', ['build', '--quiet'], { cwd: repo, stdio: 'inherit' });
  check(built.status === 0, 'cargo build failed');
  return join(repo, 'target/debug/commerce');
}

/**
 * Starts the server on a fresh database; resolves to `{ url, authorization,
 * output, stop }` once it answers /readyz. `stop()` stops it and drops the
 * database.
 */
export async function startCommerce(binary, env = {}) {
  const database = `gateway_${process.pid}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const port = await freePort();
  const settings = {
    APP_ENV: 'development',
    DATABASE_URL: `${postgres}/${database}`,
    DATABASE_MAX_CONNECTIONS: '4',
    LISTEN_ADDR: `127.0.0.1:${port}`,
    SEED_DEMO_DATA: 'false',
    OUTBOX_RELAY: 'false',
    CHANGES_VIA_NATS: 'false',
    ORDER_SWEEP_INTERVAL_MS: '0',
    SHUTDOWN_GRACE_MS: '1000',
    RUST_LOG: 'warn',
    ...env,
  };
  const childEnv = { ...process.env, ...settings };
  const child = spawn(binary, [], { cwd: repo, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let spawnError = null;
  child.once('error', (e) => (spawnError = e));
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const origin = `http://127.0.0.1:${port}`;

  async function stop() {
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((done) => child.once('exit', done));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    const { hostname, port: pgPort, username } = new URL(postgres);
    spawnSync(
      'psql',
      ['-h', hostname, '-p', pgPort || '5432', '-U', username || 'postgres', '-q', '-c',
        `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`],
      { stdio: 'inherit' },
    );
  }

  /** `Bearer <token>` for `sub` (an admin's with `admin`), signed with the server's secret. */
  function authorization(sub, admin = false) {
    const args = ['token', sub, ...(admin ? ['--admin'] : [])];
    const minted = spawnSync(binary, args, { env: childEnv, encoding: 'utf8' });
    check(minted.status === 0, `commerce ${args.join(' ')} failed: ${minted.stderr}`);
    return `Bearer ${minted.stdout.trim()}`;
  }

  const deadline = Date.now() + 60_000;
  for (;;) {
    if (spawnError) throw new Error(`could not start ${binary}: ${spawnError.message}`);
    if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${output}`);
    const ready = await fetch(`${origin}/readyz`).then((r) => r.ok, () => false);
    if (ready) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`the server was not ready within 60 s:\n${output}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    origin,
    url: `${origin}/graphql`,
    authorization,
    output: () => output,
    kill: () => child.exitCode === null && child.kill('SIGKILL'),
    stop,
  };
}
