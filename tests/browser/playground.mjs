// The GraphiQL playground in a real browser, offline: starts the server (the
// debug binary) on a fresh database, opens `/` in headless Chromium with every
// request to another origin blocked, and checks that GraphiQL renders, runs a
// query, holds the demo tokens in its Headers tab and sends them, and runs a
// subscription over a WebSocket that shows an order's payment as it happens.
//
//   npm ci && npm test                       # in tests/browser
//   UPDATE_SCREENSHOTS=1 npm test            # also rewrites docs/playground-*.png
//
// Environment: CHROMIUM (default /usr/bin/chromium), COMMERCE_BIN (default
// target/debug/commerce, built with `cargo build` first), TEST_POSTGRES_URL
// (default postgres://postgres@127.0.0.1:5432, as for the Rust tests).
import { spawn, spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const postgres = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432';
const database = `browser_${process.pid}_${Date.now()}`;
const shots = mkdtempSync(join(tmpdir(), 'playground-shots-'));

// The demo catalog (src/facades/demo.rs).
const PRODUCTS = [
  'Hand-drip coffee set',
  'Ceramic mug',
  'Single-origin beans 200g',
  'Limited-edition tumbler',
  'Gift box',
];

let server;
let serverOutput = '';
let browser;

function fail(message) {
  throw new Error(message);
}

function check(condition, message) {
  if (!condition) fail(message);
}

async function freePort() {
  return new Promise((done, failed) => {
    const probe = createServer();
    probe.once('error', failed);
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address();
      probe.close(() => done(port));
    });
  });
}

function buildServer() {
  if (process.env.COMMERCE_BIN) return resolve(process.env.COMMERCE_BIN);
  // Cheap when the binary is up to date; it must include the page under test.
  const built = spawnSync('cargo', ['build', '--quiet'], { cwd: repo, stdio: 'inherit' });
  check(built.status === 0, 'cargo build failed');
  return join(repo, 'target/debug/commerce');
}

async function startServer(binary, port) {
  server = spawn(binary, [], {
    cwd: repo,
    env: {
      ...process.env,
      APP_ENV: 'development',
      LISTEN_ADDR: `127.0.0.1:${port}`,
      DATABASE_URL: `${postgres}/${database}`,
      SEED_DEMO_DATA: 'true',
      // Self-contained: nothing published to the machine's NATS.
      OUTBOX_RELAY: 'false',
      CHANGES_VIA_NATS: 'false',
      RUST_LOG: 'warn',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let spawnError = null;
  server.once('error', (e) => (spawnError = e));
  server.stdout.on('data', (d) => (serverOutput += d));
  server.stderr.on('data', (d) => (serverOutput += d));
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (spawnError) fail(`could not start ${binary}: ${spawnError.message}`);
    if (server.exitCode !== null) fail(`the server exited with ${server.exitCode}`);
    try {
      // Ready once the database (created and seeded at start) answers.
      const ready = await fetch(`http://127.0.0.1:${port}/readyz`);
      if (ready.ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  fail('the server was not ready within 60 s');
}

async function stopServer() {
  if (!server || server.exitCode !== null) return;
  const exited = new Promise((done) => server.once('exit', done));
  server.kill('SIGTERM');
  const timer = setTimeout(() => server.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}

function dropDatabase() {
  const { hostname, port, username } = new URL(postgres);
  spawnSync(
    'psql',
    ['-h', hostname, '-p', port || '5432', '-U', username || 'postgres', '-q', '-c',
      `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`],
    { stdio: 'inherit' },
  );
}

// The value of the CodeMirror editor inside `selector`.
async function editorValue(page, selector) {
  return page.evaluate(
    (s) => document.querySelector(s)?.CodeMirror?.getValue() ?? null,
    selector,
  );
}

const QUERY_EDITOR = '.graphiql-query-editor .CodeMirror';
const RESPONSE = '.graphiql-response .CodeMirror';
const HEADERS = 'section.graphiql-editor-tool .graphiql-editor:not(.hidden) .CodeMirror';

// Replaces the query, runs it, and returns the response once it has one
// containing `expected`.
// With no query, runs the one in the editor.
async function run(page, query, expected) {
  if (query !== null) {
    await page.evaluate(
      ([s, q]) => document.querySelector(s).CodeMirror.setValue(q),
      [QUERY_EDITOR, query],
    );
  } else {
    query = await editorValue(page, QUERY_EDITOR);
  }
  // GraphiQL reads the operation's name from the editor 100 ms after a
  // change (a typed one, or a tab switch) and shows it as the tab's title:
  // wait for that, or the run button would send the previous name.
  await page.waitForTimeout(300);
  const title = query.match(/^(?:query|mutation|subscription)\s+(\w+)/m)?.[1] ?? '<untitled>';
  await page.waitForFunction(
    (t) => document.querySelector('.graphiql-tab-active .graphiql-tab-button')?.textContent === t,
    title,
    { timeout: 5_000 },
  ).catch(() => fail(`the active tab was not retitled "${title}"`));
  await page.evaluate((s) => document.querySelector(s).CodeMirror.setValue(''), RESPONSE);
  await page.click('.graphiql-execute-button');
  await page.waitForFunction(
    ([s, e]) => (document.querySelector(s)?.CodeMirror?.getValue() ?? '').includes(e),
    [RESPONSE, expected],
    { timeout: 15_000 },
  ).catch(async () => {
    fail(`no "${expected}" in the response to ${query}:\n${await editorValue(page, RESPONSE)}`);
  });
  return JSON.parse(await editorValue(page, RESPONSE));
}

// Checks that the Headers tab is open and shows `authorization`, as a
// person sees it (the editor's rendered text).
async function expectHeaders(page, authorization, who) {
  await page.click('.graphiql-editor-tools button[data-name="headers"]');
  const shown = await page.locator(`${HEADERS} .CodeMirror-code`).innerText();
  check(
    shown.includes('"Authorization"') && shown.includes(authorization),
    `the Headers tab does not show the ${who} token:\n${shown}`,
  );
  const value = JSON.parse(await editorValue(page, HEADERS));
  check(value.Authorization === authorization, `the ${who} tab's header is ${value.Authorization}`);
}

async function main() {
  const binary = buildServer();
  const port = await freePort();
  const origin = `http://127.0.0.1:${port}`;
  await startServer(binary, port);

  // The tokens the server put in the page (each GET / serves the same ones).
  const html = await (await fetch(`${origin}/`)).text();
  const token = (key) => {
    const found = html.match(new RegExp(`"${key}":"(Bearer [^"]+)"`));
    check(found, `no ${key} token in the page`);
    return found[1];
  };
  const user = token('user');
  const admin = token('admin');

  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    // Root in CI containers has no user namespaces for Chromium's sandbox.
    args: ['--no-sandbox'],
  });
  const context = await browser.newContext({ viewport: { width: 1280, height: 720 } });
  // Offline: only the server under test may be asked for anything.
  const foreign = [];
  await context.route('**/*', (route) => {
    const url = route.request().url();
    if (url.startsWith(`${origin}/`)) return route.continue();
    foreign.push(url);
    return route.abort('blockedbyclient');
  });
  const problems = [];
  const page = await context.newPage();
  const sockets = [];
  page.on('websocket', (ws) => {
    sockets.push(ws.url());
    if (!ws.url().startsWith(`ws://127.0.0.1:${port}/`)) foreign.push(ws.url());
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  page.on('requestfailed', (r) => {
    if (r.url().startsWith(`${origin}/`)) problems.push(`failed: ${r.url()} ${r.failure()?.errorText}`);
  });
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()}: ${r.url()}`);
  });

  await page.goto(`${origin}/`);
  await page.waitForSelector(QUERY_EDITOR, { timeout: 20_000 });
  await page.waitForSelector('.graphiql-execute-button');

  // A tab per demo token, titled after its operation.
  const tabs = await page.locator('.graphiql-tab-button').allInnerTexts();
  check(
    tabs.some((t) => t.includes('DemoUser')) && tabs.some((t) => t.includes('DemoAdmin')),
    `tabs: ${JSON.stringify(tabs)}`,
  );
  await expectHeaders(page, user, 'demo user');

  // A query and its result, as a person would run it.
  const products = await run(
    page,
    'query DemoUser {\n  products(first: 5) {\n    nodes {\n      name\n    }\n  }\n}\n',
    PRODUCTS[0],
  );
  const names = products.data.products.nodes.map((n) => n.name);
  check(
    PRODUCTS.every((p) => names.includes(p)),
    `products: ${JSON.stringify(names)}`,
  );
  const shown = await page.locator(`${RESPONSE} .CodeMirror-code`).innerText();
  check(shown.includes(PRODUCTS[0]), `the result pane shows:\n${shown}`);
  await page.screenshot({ path: join(shots, 'playground-query.png') });

  // The header is sent: the server knows who is asking.
  const viewer = await run(page, 'query DemoUser {\n  viewer {\n    subject\n    balance\n  }\n}\n', 'demo-user');
  check(viewer.data?.viewer?.subject === 'demo-user', JSON.stringify(viewer));
  await expectHeaders(page, user, 'demo user');
  await page.screenshot({ path: join(shots, 'playground-headers.png') });

  // A subscription in the same tab, over the page's WebSocket with the
  // tab's token: the order's current state, then its payment, made
  // elsewhere, as it happens.
  const api = async (query, variables) => {
    const response = await fetch(`${origin}/graphql`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: user },
      body: JSON.stringify({ query, variables }),
    });
    const body = await response.json();
    check(!body.errors, `${query}: ${JSON.stringify(body.errors)}`);
    return body.data;
  };
  const [first] = (await api('{ products(first: 1) { nodes { id price } } }')).products.nodes;
  await api('mutation($a: Money!) { chargeBalance(input: { amount: $a }) { userErrors { code } } }', {
    a: first.price,
  });
  const created = await api(
    'mutation($p: ID!) { createOrder(input: { items: [{ productId: $p, quantity: 1 }] }) { order { id } } }',
    { p: first.id },
  );
  const orderId = created.createOrder.order.id;
  await run(
    page,
    `subscription WatchOrder {\n  orderUpdated(orderId: "${orderId}") {\n    id\n    status\n  }\n}\n`,
    '"PENDING"',
  );
  const paid = await api(
    'mutation($o: ID!) { payOrder(input: { orderId: $o }) { order { status } userErrors { code } } }',
    { o: orderId },
  );
  check(paid.payOrder.order?.status === 'PAID', `payOrder: ${JSON.stringify(paid)}`);
  await page.waitForFunction(
    (s) => (document.querySelector(s)?.CodeMirror?.getValue() ?? '').includes('"PAID"'),
    RESPONSE,
    { timeout: 15_000 },
  ).catch(async () => {
    fail(`the subscription never showed PAID:\n${await editorValue(page, RESPONSE)}`);
  });
  check(sockets.length === 1, `sockets: ${JSON.stringify(sockets)}`);

  // The admin's tab carries the admin's token.
  await page.locator('.graphiql-tab-button', { hasText: 'DemoAdmin' }).click();
  await expectHeaders(page, admin, 'demo admin');
  // Its own query, as the page offers it.
  const whoami = await run(page, null, 'demo-admin');
  check(whoami.data?.viewer?.subject === 'demo-admin', JSON.stringify(whoami));

  // A second visit opens with the tokens again (GraphiQL keeps tabs, but
  // never their headers, in localStorage; the page keeps tabs per visit).
  await page.reload();
  await page.waitForSelector(QUERY_EDITOR, { timeout: 20_000 });
  await expectHeaders(page, user, 'demo user (after a reload)');

  check(foreign.length === 0, `requests to other hosts:\n${foreign.join('\n')}`);
  check(problems.length === 0, `the page had problems:\n${problems.join('\n')}`);

  if (process.env.UPDATE_SCREENSHOTS) {
    for (const name of ['playground-query.png', 'playground-headers.png']) {
      copyFileSync(join(shots, name), join(repo, 'docs', name));
    }
    console.log('wrote docs/playground-query.png and docs/playground-headers.png');
  }
  console.log(`playground: ok (screenshots in ${shots})`);
}

// Interrupted (Ctrl-C, CI timeout): still stop the server and drop the
// database.
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    server?.kill('SIGKILL');
    dropDatabase();
    process.exit(130);
  });
}

let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`playground: FAILED: ${e.message}`);
  if (serverOutput) console.error(`--- server output ---\n${serverOutput}`);
} finally {
  await browser?.close().catch(() => {});
  await stopServer();
  dropDatabase();
}
process.exit(failed ? 1 : 0);
