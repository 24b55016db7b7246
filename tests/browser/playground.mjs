// The GraphiQL playground in a real browser, offline: starts the server (the
// debug binary) on a fresh database, opens `/` in headless Chromium with every
// request to another origin blocked, and checks that GraphiQL renders, runs a
// query, holds the demo tokens in its Headers tab and sends them, and runs a
// subscription over a WebSocket that shows an order's payment as it happens.
//
//   npm ci && npm test                       # in tests/browser
//   UPDATE_SCREENSHOTS=1 npm test            # also rewrites docs/playground-*.png
//
// Environment: see harness.mjs (which it shares with storefront.mjs).
import { copyFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, check, createShop, launchBrowser, offlineContext, repo, run as runTest } from './harness.mjs';

const shots = mkdtempSync(join(tmpdir(), 'playground-shots-'));

// The demo catalog (src/facades/demo.rs).
const PRODUCTS = [
  'Hand-drip coffee set',
  'Ceramic mug',
  'Single-origin beans 200g',
  'Limited-edition tumbler',
  'Gift box',
];

let shop;
let browser;

function fail(message) {
  throw new Error(message);
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
  shop = createShop(buildServer(), 'playground');
  const { origin } = await shop.start({ SEED_DEMO_DATA: 'true', OUTBOX_RELAY: 'false' });

  // The tokens the server put in the page (each GET / serves the same ones).
  const html = await (await fetch(`${origin}/`)).text();
  const token = (key) => {
    const found = html.match(new RegExp(`"${key}":"(Bearer [^"]+)"`));
    check(found, `no ${key} token in the page`);
    return found[1];
  };
  const user = token('user');
  const admin = token('admin');

  browser = await launchBrowser();
  // Offline: only the server under test may be asked for anything; any
  // console error, page error or failed request is a problem.
  const problems = [];
  const context = await offlineContext(browser, [origin], problems, {
    viewport: { width: 1280, height: 720 },
  });
  const page = await context.newPage();
  const sockets = [];
  page.on('websocket', (ws) => sockets.push(ws.url()));

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

  check(problems.length === 0, `the page had problems:\n${problems.join('\n')}`);

  if (process.env.UPDATE_SCREENSHOTS) {
    for (const name of ['playground-query.png', 'playground-headers.png']) {
      copyFileSync(join(shots, name), join(repo, 'docs', name));
    }
    console.log('wrote docs/playground-query.png and docs/playground-headers.png');
  }
  console.log(`playground: screenshots in ${shots}`);
}

await runTest(
  'playground',
  main,
  async () => {
    await browser?.close().catch(() => {});
    await shop?.stop();
  },
  () => shop?.output(),
);
