// What the browser tests share: the server binary (built first), servers
// on free ports over one fresh database (several instances of one shop),
// NATS names of the run's own, tokens from `commerce token`, headless
// Chromium with every request to another host blocked, and a watch for
// console errors, page errors and failed requests.
//
// Environment: CHROMIUM (default /usr/bin/chromium), COMMERCE_BIN (default
// target/debug/commerce, built with `cargo build` first), TEST_POSTGRES_URL
// (default postgres://postgres@127.0.0.1:5432), NATS_URL (default
// nats://127.0.0.1:4222).
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { connect, createServer } from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const postgres = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const nats = new URL(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');

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
 * A shop of one or more instances over one fresh database, with NATS
 * names of its own (so that changes cross its instances through NATS, and
 * nobody else's): `shop.start(env)` starts an instance, `shop.stop()` stops
 * them all, drops the database and deletes the JetStream stream.
 */
export function createShop(binary, name) {
  const id = `${process.pid}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const database = `${name}_${id}`;
  const stream = `${name}_${id}`.toUpperCase();
  const shared = {
    APP_ENV: 'development',
    DATABASE_URL: `${postgres}/${database}`,
    DATABASE_MAX_CONNECTIONS: '4',
    NATS_URL: nats.toString(),
    NATS_STREAM: stream,
    NATS_SUBJECT: `${name}.${id}.orders.paid`,
    NATS_REFUND_SUBJECT: `${name}.${id}.orders.refunded`,
    NATS_EXPIRED_SUBJECT: `${name}.${id}.orders.expired`,
    NATS_CHANGES_SUBJECT: `${name}.${id}.changes`,
    SHUTDOWN_GRACE_MS: '1000',
    RUST_LOG: 'warn',
  };
  const instances = [];

  /** Starts an instance (on `port`, or a free one) with `env` over the shop's settings. */
  async function start(env = {}, port = null) {
    port ??= await freePort();
    const origin = `http://127.0.0.1:${port}`;
    const childEnv = { ...process.env, ...shared, LISTEN_ADDR: `127.0.0.1:${port}`, ...env };
    const child = spawn(binary, [], { cwd: repo, env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    const instance = { origin, port, child, output: '', env: childEnv };
    instances.push(instance);
    let spawnError = null;
    child.once('error', (e) => (spawnError = e));
    child.stdout.on('data', (d) => (instance.output += d));
    child.stderr.on('data', (d) => (instance.output += d));
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (spawnError) throw new Error(`could not start ${binary}: ${spawnError.message}`);
      if (child.exitCode !== null) throw new Error(`the server exited with ${child.exitCode}:\n${instance.output}`);
      const ready = await fetch(`${origin}/readyz`).then((r) => r.ok, () => false);
      if (ready) return instance;
      if (Date.now() > deadline) throw new Error(`the server was not ready within 60 s:\n${instance.output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }

  /** `Bearer <token>` for `sub` (an admin's with `admin`), made by the binary with the shop's settings. */
  function authorization(sub, admin = false) {
    const args = ['token', sub, ...(admin ? ['--admin'] : [])];
    const minted = spawnSync(binary, args, { env: { ...process.env, ...shared }, encoding: 'utf8' });
    check(minted.status === 0, `commerce ${args.join(' ')} failed: ${minted.stderr}`);
    return `Bearer ${minted.stdout.trim()}`;
  }

  /** Stops one instance (and waits until it has exited). */
  async function halt({ child }) {
    if (child.exitCode !== null || child.signalCode !== null) return;
    const exited = new Promise((done) => child.once('exit', done));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await exited;
    clearTimeout(timer);
  }

  async function stop() {
    await Promise.all(instances.map(halt));
    kill();
    const { hostname, port, username } = new URL(postgres);
    spawnSync(
      'psql',
      ['-h', hostname, '-p', port || '5432', '-U', username || 'postgres', '-q', '-c',
        `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`],
      { stdio: 'inherit' },
    );
    await deleteStream(stream).catch(() => {});
  }

  /** On an interruption: the processes at once. */
  function kill() {
    for (const { child } of instances) if (child.exitCode === null) child.kill('SIGKILL');
  }

  const output = () => instances.map((i, n) => `--- instance ${n + 1} (${i.origin}) ---\n${i.output}`).join('\n');
  return { start, halt, stop, kill, authorization, output, database };
}

/** Deletes a JetStream stream (best effort), over the NATS protocol itself. */
function deleteStream(stream) {
  return new Promise((done, failed) => {
    const socket = connect(Number(nats.port || 4222), nats.hostname);
    const timer = setTimeout(() => {
      socket.destroy();
      failed(new Error('no answer from NATS'));
    }, 3000);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', (e) => {
      clearTimeout(timer);
      failed(e);
    });
    socket.on('data', (chunk) => {
      buffer += chunk;
      if (buffer.startsWith('INFO') && !buffer.includes('SENT')) {
        buffer += 'SENT';
        socket.write(
          'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n' +
            'SUB _INBOX.browser_test 1\r\n' +
            `PUB $JS.API.STREAM.DELETE.${stream} _INBOX.browser_test 0\r\n\r\n`,
        );
      }
      if (buffer.includes('MSG _INBOX.browser_test') || buffer.includes('-ERR')) {
        clearTimeout(timer);
        socket.end();
        done();
      }
    });
  });
}

/** Console errors that are expected for a while (a server stopped on purpose), as patterns. */
export const tolerated = new Set();

export async function launchBrowser() {
  return chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Root in CI containers has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox'],
  });
}

/**
 * A browser context that may reach `origins` only (any other request is
 * blocked and reported), and whose pages report console errors, page
 * errors, failed requests and HTTP errors into `problems`.
 */
export async function offlineContext(browser, origins, problems, options = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 800 }, ...options });
  const allowed = (url) => origins.some((o) => url.startsWith(`${o}/`));
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (allowed(url)) return route.continue();
    problems.push(`request to another host: ${url}`);
    return route.abort('blockedbyclient');
  });
  context.on('page', (page) => watchPage(page, allowed, problems));
  return context;
}

function watchPage(page, allowed, problems) {
  page.on('websocket', (ws) => {
    const url = ws.url().replace(/^ws/, 'http');
    if (!allowed(url)) problems.push(`websocket to another host: ${ws.url()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && ![...tolerated].some((pattern) => pattern.test(m.text()))) {
      problems.push(`console error on ${page.url()}: ${m.text()}`);
    }
  });
  page.on('requestfailed', (r) => {
    // A page left while a request was in flight aborts it: not a failure of the shop.
    if (allowed(r.url()) && r.failure()?.errorText !== 'net::ERR_ABORTED') {
      problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
    }
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });
}

/** Runs `main`, then always `cleanup`; prints the verdict and exits. Interrupted: cleans up too. */
export async function run(name, main, cleanup, output) {
  for (const signal of ['SIGINT', 'SIGTERM']) {
    process.once(signal, async () => {
      await cleanup(true).catch(() => {});
      process.exit(130);
    });
  }
  let failed = false;
  const started = Date.now();
  try {
    await main();
  } catch (e) {
    failed = true;
    console.error(`${name}: FAILED: ${e.stack ?? e.message}`);
    const logs = output?.();
    if (logs) console.error(`--- server output ---\n${logs}`);
  } finally {
    await cleanup(false).catch((e) => console.error(`cleanup: ${e.message}`));
  }
  console.log(`${name}: ${failed ? 'FAILED' : 'ok'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  process.exit(failed ? 1 : 0);
}
