// The storefront (clients/storefront, served by the server at /shop/) in
// headless Chromium, offline, against two instances of one shop (one
// database, NATS names of this run's own; the second runs only its trusted
// documents and has a 5 s payment window):
//
// 1. Ada browses the catalog (pages, search, sort, the in-stock filter),
//    puts two mugs in her cart, claims a coupon and orders: the browser
//    lands on the order form page through the order's paymentUrl, which
//    shows each usable coupon's quote and the time left.
// 2. In a second window, on the other instance, she picks the coupon with
//    the best quote and pays: the first window shows PAID live, from its
//    own subscription on the first instance, having sent no payment.
// 3. Ben orders on the instance with the short window and does not pay:
//    his order form page shows EXPIRED.
// 4. A campaign of 2: Ada and Ben claim at once (from two instances) while
//    Cy's page watches the count fall to 0 and the campaign sell out.
// 5. The first instance stops while Ada pays another order in her second
//    window; when it is back, her first window's socket reconnects, the
//    page reads the order again and shows PAID.
//
// Any console error, page error, failed request or request to another host
// fails it.
//
//   npm ci && npm run test:storefront          # in tests/browser
//   UPDATE_SCREENSHOTS=1 npm run test:storefront   # also rewrites docs/storefront-*.png
//
// Environment: see harness.mjs.
import { copyFileSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { buildServer, check, createShop, launchBrowser, offlineContext, repo, run, tolerated } from './harness.mjs';

const shots = mkdtempSync(join(tmpdir(), 'storefront-shots-'));
const SCREENSHOTS = ['storefront-catalog.png', 'storefront-order.png', 'storefront-coupon.png', 'storefront-phone.png'];
const manifest = join(repo, 'clients/typescript/src/gql/persisted-documents.json');

let shop;
let browser;
const problems = [];

/** Posts a GraphQL document to an instance as `authorization`; gives data, or throws. */
async function gql(origin, authorization, query, variables = {}) {
  const response = await fetch(`${origin}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization },
    body: JSON.stringify({ query, variables }),
  });
  const body = await response.json();
  check(!body.errors, `${query.slice(0, 60)}: ${JSON.stringify(body.errors)}`);
  return body.data;
}

/** The amounts in a text ("You pay 21,600 (you save 2,400)" -> [21600n, 2400n]). */
function amounts(text) {
  return [...text.matchAll(/\d[\d,]*/g)].map((m) => BigInt(m[0].replaceAll(',', '')));
}

/** Every POST /graphql a page sends: its operation name and whether it carried text. */
function recordOperations(page) {
  const sent = [];
  page.on('request', (request) => {
    if (!request.url().endsWith('/graphql') || request.method() !== 'POST') return;
    try {
      const body = JSON.parse(request.postData() ?? '{}');
      sent.push({ operation: body.operationName, text: typeof body.query === 'string', hashed: Boolean(body.extensions?.persistedQuery) });
    } catch {
      sent.push({ operation: '?', text: true, hashed: false });
    }
  });
  return sent;
}

async function statusOf(page) {
  return page.getByTestId('order-status').getAttribute('data-status');
}

async function main() {
  const binary = buildServer();
  shop = createShop(binary, 'storefront');
  const a = await shop.start({ ORDER_PAYMENT_WINDOW_SECS: '600', ORDER_SWEEP_INTERVAL_MS: '200' });
  const b = await shop.start({
    ORDER_PAYMENT_WINDOW_SECS: '5',
    ORDER_SWEEP_INTERVAL_MS: '200',
    TRUSTED_DOCUMENTS: manifest,
    TRUSTED_DOCUMENTS_ONLY: 'true',
  });

  // The server serves the storefront as built: its script is dist's.
  const html = await (await fetch(`${a.origin}/shop/`)).text();
  const script = html.match(/src="(\/shop\/assets\/shop\.js\?v=[^"]+)"/)?.[1];
  check(script, `no versioned shop.js in the page:\n${html}`);
  const served = Buffer.from(await (await fetch(`${a.origin}${script}`)).arrayBuffer());
  check(
    served.equals(readFileSync(join(repo, 'clients/storefront/dist/assets/shop.js'))),
    'the server serves another shop.js than clients/storefront/dist: build the server again (cargo build)',
  );
  const config = JSON.parse(html.match(/<script type="application\/json" id="shop-config">(.*?)<\/script>/s)[1]);
  check(
    config.shoppers.map((s) => s.name).join() === 'Ada,Ben,Cy',
    `shoppers: ${JSON.stringify(config.shoppers.map((s) => s.name))}`,
  );
  const [ada, ben] = config.shoppers;
  const admin = shop.authorization('storefront-admin', true);

  // More products than a page holds (12), one of them out of stock.
  const fields = Array.from({ length: 10 }, (_, i) => {
    const stock = i === 0 ? 0 : 10 + i;
    return `p${i}: createProduct(input: { name: "Paper notebook no. ${i + 1}", price: "${2000 + i * 100}", stock: ${stock}, description: "A5, dotted" }) { product { id } userErrors { code } }`;
  });
  await gql(a.origin, admin, `mutation { ${fields.join('\n')} }`);

  browser = await launchBrowser();
  const origins = [a.origin, b.origin];

  // ---- 1. browse, search, cart, coupon, order ----
  const adaA = await offlineContext(browser, origins, problems);
  const page = await adaA.newPage();
  const sentByFirstWindow = recordOperations(page);
  await page.goto(`${a.origin}/shop/`);
  await page.getByTestId('product-card').first().waitFor();
  check((await page.getByLabel('Shopping as').inputValue()) === 'shopper-ada', 'Ada shops by default');
  check((await page.getByTestId('result-count').innerText()) === '15 products found', await page.getByTestId('result-count').innerText());
  check((await page.getByTestId('product-card').count()) === 12, 'a page of 12');
  await page.screenshot({ path: join(shots, 'storefront-catalog.png') });

  await page.getByRole('link', { name: 'Next →' }).click();
  await page.waitForURL(/after=/);
  await page.getByTestId('product-card').first().waitFor();
  check((await page.getByTestId('product-card').count()) === 3, 'the second page holds the other 3');
  await page.getByRole('link', { name: '← Previous' }).click();
  await page.waitForURL(/before=/);
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=product-card]').length === 12);

  await page.getByLabel('In stock only').check();
  await page.waitForURL(/instock=1/);
  await page.getByText('14 products found').waitFor();

  // Too short to search: said at once, nothing asked.
  await page.getByLabel('Search products').fill('ab');
  await page.getByLabel('Search products').press('Enter');
  await page.getByText('Type at least one word of three letters or digits.').waitFor();

  await page.getByLabel('Search products').fill('coffee');
  await page.getByLabel('Search products').press('Enter');
  await page.waitForURL(/q=coffee/);
  await page.getByText('1 product found').waitFor();
  check((await page.getByTestId('product-card').innerText()).includes('Hand-drip coffee set'), 'the search finds the coffee set');

  await page.getByLabel('Search products').fill('');
  await page.getByLabel('Search products').press('Enter');
  await page.getByLabel('Sort by').selectOption('PRICE_ASC');
  await page.waitForURL(/sort=PRICE_ASC/);
  await page.waitForFunction(() => !document.querySelector('[role=status].status'));
  const prices = (await page.locator('[data-testid=product-card] .price').allInnerTexts()).map((t) => amounts(t)[0]);
  check(prices.every((p, i) => i === 0 || prices[i - 1] <= p), `cheapest first: ${prices}`);

  await page.getByRole('link', { name: 'Ceramic mug' }).click();
  await page.getByRole('heading', { name: 'Ceramic mug' }).waitFor();
  await page.getByLabel('Quantity').fill('2');
  await page.getByRole('button', { name: 'Add to cart: Ceramic mug' }).click();
  await page.getByText('Added 2 × Ceramic mug to your cart.').waitFor();
  await page.waitForFunction(() => document.querySelector('[data-testid=cart-count]')?.textContent === '(2)');

  await page.getByRole('link', { name: 'Coupons' }).click();
  await page.getByRole('link', { name: /Welcome 10% off/ }).click();
  await page.getByTestId('claim').click();
  await page.locator('[data-outcome=issued]').waitFor();

  await page.getByRole('link', { name: /^Cart/ }).click();
  await page.getByTestId('cart-line').waitFor();
  check((await page.getByTestId('cart-subtotal').innerText()) === '24,000', 'the subtotal is 2 × 12,000');
  await page.getByRole('button', { name: 'Place order' }).click();
  await page.waitForURL(/\/shop\/orders\//);
  const orderId = decodeURIComponent(new URL(page.url()).pathname.split('/').pop());
  const { order } = await gql(a.origin, ada.authorization, 'query($id: ID!) { order(id: $id) { paymentUrl status } }', { id: orderId });
  check(page.url() === order.paymentUrl, `the page is the order's paymentUrl: ${page.url()} vs ${order.paymentUrl}`);

  // The order form: lines, the quote of each option, the time left.
  await page.waitForFunction(() => document.querySelectorAll('[data-testid=coupon-quote]').length === 2
    && [...document.querySelectorAll('[data-testid=coupon-quote]')].every((q) => q.textContent.startsWith('You pay')));
  check((await statusOf(page)) === 'PENDING', 'PENDING at first');
  check(/^(9|10):\d\d$/.test(await page.getByTestId('countdown').innerText()), `countdown: ${await page.getByTestId('countdown').innerText()}`);
  const quotesSeen = await page.getByTestId('coupon-quote').allInnerTexts();
  check(quotesSeen.includes('You pay 24,000') && quotesSeen.includes('You pay 21,600 (you save 2,400)'), `quotes: ${quotesSeen}`);
  await page.getByTestId('live-state').getByText('Live').waitFor();
  await page.getByLabel(/Welcome 10% off/).check();
  await page.getByRole('button', { name: 'Pay 21,600' }).waitFor();
  await page.screenshot({ path: join(shots, 'storefront-order.png'), fullPage: true });

  const phone = await offlineContext(browser, origins, problems, { viewport: { width: 360, height: 740 }, isMobile: true, hasTouch: true });
  const small = await phone.newPage();
  const widerThanPhone = () => small.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
  for (const where of ['/shop/', '/shop/cart', '/shop/account', '/shop/coupons']) {
    await small.goto(`${a.origin}${where}`);
    await small.waitForFunction(() => !document.querySelector('main [role=status].status'));
    check((await widerThanPhone()) <= 0, `${where} is wider than a 360px phone`);
  }
  await small.goto(order.paymentUrl);
  await small.getByText('You pay 21,600 (you save 2,400)').waitFor();
  check((await widerThanPhone()) <= 0, 'the order form page is wider than a 360px phone');
  await small.screenshot({ path: join(shots, 'storefront-phone.png'), fullPage: true });
  await phone.close();

  // ---- 2. pay in another window, through the other instance ----
  const adaB = await offlineContext(browser, origins, problems);
  const payer = await adaB.newPage();
  const sentBySecondWindow = recordOperations(payer);
  await payer.goto(`${b.origin}/shop/orders/${encodeURIComponent(orderId)}`);
  await payer.waitForFunction(() => [...document.querySelectorAll('[data-testid=coupon-quote]')].filter((q) => q.textContent.startsWith('You pay')).length === 2);
  // The option whose quote pays least.
  const options = await payer.getByTestId('coupon-option').all();
  let best = null;
  for (const option of options) {
    const quote = await payer.locator(`#${await option.getAttribute('aria-describedby')}`).innerText();
    const pay = amounts(quote)[0];
    if (best === null || pay < best.pay) best = { option, pay };
  }
  check(best.pay === 21_600n && (await best.option.getAttribute('data-user-coupon-id')) !== '', 'the coupon quotes best');
  await best.option.check();
  await payer.getByRole('button', { name: 'Pay 21,600' }).click();
  await payer.getByTestId('order-final').waitFor();
  check((await statusOf(payer)) === 'PAID', 'the paying window shows PAID');

  await page.waitForFunction(() => document.querySelector('[data-testid=order-status]')?.dataset.status === 'PAID', null, { timeout: 10_000 })
    .catch(() => check(false, 'the first window did not show PAID live'));
  check((await page.getByTestId('order-payable').innerText()) === '21,600', 'the first window shows what was paid');
  check((await page.getByTestId('order-final').innerText()).includes('21,600 was taken from your balance'), 'and says so');
  check(!sentByFirstWindow.some((s) => s.operation === 'PayOrder'), 'the first window sent no payment');
  check(sentBySecondWindow.some((s) => s.operation === 'PayOrder'), 'the second window paid');
  check(sentBySecondWindow.every((s) => s.hashed && !s.text), `the trusted-documents instance got hashes alone: ${JSON.stringify(sentBySecondWindow)}`);
  check(sentByFirstWindow.every((s) => s.hashed), 'every request names its document by hash');
  const { viewer } = await gql(
    a.origin,
    ada.authorization,
    '{ viewer { balanceHistory(first: 5) { nodes { kind amount } } coupons(first: 5) { nodes { status } } } }',
  );
  const payments = viewer.balanceHistory.nodes.filter((e) => e.kind === 'PAYMENT');
  check(payments.length === 1 && payments[0].amount === '21600', `one payment of 21,600: ${JSON.stringify(viewer.balanceHistory)}`);
  check(viewer.coupons.nodes.some((c) => c.status === 'USED'), 'the coupon is used');

  // ---- 3. an order not paid in its window expires on its page ----
  const benB = await offlineContext(browser, origins, problems);
  const benPage = await benB.newPage();
  await benPage.goto(`${b.origin}/shop/`);
  await benPage.getByLabel('Shopping as').selectOption('shopper-ben');
  await benPage.getByRole('link', { name: 'Gift box' }).click();
  await benPage.getByRole('button', { name: 'Buy now' }).click();
  await benPage.waitForURL(/\/shop\/orders\//);
  await benPage.getByTestId('countdown').waitFor();
  check((await statusOf(benPage)) === 'PENDING', 'PENDING while its window is open');
  await benPage.waitForFunction(() => document.querySelector('[data-testid=order-status]')?.dataset.status === 'EXPIRED', null, { timeout: 15_000 })
    .catch(() => check(false, 'the order form page did not show EXPIRED'));
  check((await benPage.getByTestId('order-final').innerText()).includes('Nothing was charged'), 'the page says nothing was charged');
  check((await benPage.getByTestId('pay').count()) === 0, 'no Pay button once expired');

  // ---- 4. the last coupons of a small campaign ----
  const { createCoupon } = await gql(
    a.origin,
    admin,
    'mutation { createCoupon(input: { name: "Flash sale", discountType: FIXED_AMOUNT, discountValue: 5000, totalQuantity: 2 }) { coupon { id } userErrors { code } } }',
  );
  const campaign = `/shop/coupons/${encodeURIComponent(createCoupon.coupon.id)}`;
  const cyA = await offlineContext(browser, origins, problems);
  const watcher = await cyA.newPage();
  await watcher.goto(`${a.origin}/shop/`);
  await watcher.getByLabel('Shopping as').selectOption('shopper-cy');
  await watcher.goto(`${a.origin}${campaign}`);
  await watcher.getByTestId('live-state').getByText('Live').waitFor();
  check((await watcher.getByTestId('coupon-remaining').innerText()) === '2', 'two left');
  await watcher.evaluate(() => (window.notReloaded = true));

  const adaClaims = await adaA.newPage();
  await adaClaims.goto(`${a.origin}${campaign}`);
  await benPage.goto(`${b.origin}${campaign}`);
  check((await benPage.getByLabel('Shopping as').inputValue()) === 'shopper-ben', 'Ben is remembered');
  await Promise.all([adaClaims.getByTestId('claim').click(), benPage.getByTestId('claim').click()]);
  await adaClaims.locator('[data-outcome=issued]').waitFor();
  await benPage.locator('[data-outcome=issued]').waitFor();

  await watcher.waitForFunction(() => document.querySelector('[data-testid=coupon-remaining]')?.textContent === '0', null, { timeout: 10_000 })
    .catch(() => check(false, "Cy's page did not count down to 0"));
  await watcher.getByRole('button', { name: 'Sold out' }).waitFor();
  check(await watcher.getByTestId('claim').isDisabled(), 'no claiming a sold-out campaign');
  await watcher.getByTestId('live-state').getByText('Sold out').waitFor();
  check(await watcher.evaluate(() => window.notReloaded === true), 'live, without a reload');
  await watcher.screenshot({ path: join(shots, 'storefront-coupon.png'), fullPage: true });

  // A payment the balance cannot cover: the quote says so, and so does Pay.
  await watcher.goto(`${a.origin}/shop/`);
  await watcher.getByRole('link', { name: 'Gift box' }).click();
  await watcher.getByLabel('Quantity').fill('20');
  await watcher.getByRole('button', { name: 'Buy now' }).click();
  await watcher.waitForURL(/\/shop\/orders\//);
  await watcher.getByTestId('quote-problem').getByText('Your balance does not cover this payment').waitFor();
  await watcher.getByRole('button', { name: 'Pay 1,200,000' }).click();
  await watcher.getByTestId('pay-outcome').getByText('Your balance does not cover this payment').waitFor();
  check((await statusOf(watcher)) === 'PENDING', 'a refused payment leaves the order PENDING');
  check(await watcher.getByTestId('pay').isEnabled(), 'and Pay can be tried again');

  // Claiming again is refused in plain words: Ada's second window knows she holds one.
  const again = await adaB.newPage();
  await again.goto(`${b.origin}${campaign}`);
  await again.getByTestId('coupon-held').getByText('You hold a coupon of this campaign').waitFor();
  check(await again.getByTestId('claim').isDisabled(), 'Ada cannot claim twice');

  // ---- 5. what happened while the socket was down is read on reconnecting ----
  await page.goto(`${a.origin}/shop/products/${encodeURIComponent(
    (await gql(a.origin, ada.authorization, '{ products(search: "beans") { nodes { id } } }')).products.nodes[0].id,
  )}`);
  // By keyboard: Enter in the quantity orders; the focus lands on the order form page's heading.
  await page.getByLabel('Quantity').press('Enter');
  await page.waitForURL(/\/shop\/orders\//);
  await page.getByTestId('live-state').getByText('Live').waitFor();
  await page.waitForFunction(() => document.activeElement?.tagName === 'H1' && document.activeElement.textContent.startsWith('Order'))
    .catch(() => check(false, 'the focus is not on the order page\'s heading'));
  const secondOrder = page.url();
  const readsBefore = sentByFirstWindow.filter((s) => s.operation === 'OrderPage').length;
  tolerated.add(/WebSocket connection to .* failed/);
  await shop.halt(a);
  await page.getByTestId('live-state').getByText('Reconnecting…').waitFor();
  await payer.goto(secondOrder.replace(a.origin, b.origin));
  await payer.getByRole('button', { name: /^Pay / }).click();
  await payer.getByTestId('order-final').waitFor();
  check((await statusOf(page)) === 'PENDING', 'the first window missed the payment while its instance was down');
  const restarted = await shop.start({ ORDER_PAYMENT_WINDOW_SECS: '600', ORDER_SWEEP_INTERVAL_MS: '200' }, a.port);
  await page.waitForFunction(() => document.querySelector('[data-testid=order-status]')?.dataset.status === 'PAID', null, { timeout: 20_000 })
    .catch(() => check(false, 'the first window did not show PAID after reconnecting'));
  await page.getByTestId('live-state').getByText('Live').waitFor();
  tolerated.clear();
  check(
    sentByFirstWindow.filter((s) => s.operation === 'OrderPage').length > readsBefore,
    'the page read the order again on reconnecting',
  );
  check(restarted.origin === a.origin, 'the same origin again');

  check(problems.length === 0, `the pages had problems:\n${problems.join('\n')}`);

  if (process.env.UPDATE_SCREENSHOTS) {
    for (const name of SCREENSHOTS) copyFileSync(join(shots, name), join(repo, 'docs', name));
    console.log(`wrote ${SCREENSHOTS.map((n) => `docs/${n}`).join(', ')}`);
  }
  console.log(`screenshots in ${shots}`);
}

await run(
  'storefront',
  main,
  async () => {
    await browser?.close().catch(() => {});
    await shop?.stop();
  },
  () => shop?.output(),
);
