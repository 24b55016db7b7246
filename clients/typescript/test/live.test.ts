// The client against a live server (started here, on a fresh database):
// the shopper's flow, the admin's, the error shapes, and the orderUpdated
// subscription over graphql-ws.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import { createCommerceClient, documentText, type CommerceClient, type ResultOf } from '../src/client.js';
import {
  AddCartItemMutation,
  AdjustStockMutation,
  CartQuery,
  ChargeBalanceMutation,
  CouponsQuery,
  CreateCouponMutation,
  CreateOrderMutation,
  CreateProductMutation,
  IssueCouponMutation,
  OrderUpdatedSubscription,
  PayOrderMutation,
  ProductQuery,
  ProductsQuery,
  ViewerCouponsQuery,
  ViewerOrdersQuery,
  ViewerQuery,
} from '../src/operations.js';
import { dateTime, errorCode, money, noUserErrors, ok, run } from './helpers.js';
import { startServer, type Server } from './server.js';

let server: Server;
let admin: CommerceClient;
let anonymous: CommerceClient;
/** The number in a global id, base64("Type:id"). */
const numericId = (id: string) => Number(Buffer.from(id, 'base64').toString('utf8').split(':')[1]);
const clientFor = (sub: string) => createCommerceClient({ url: server.url, token: server.token(sub) });

before(async () => {
  server = await startServer();
  admin = createCommerceClient({ url: server.url, token: server.token(`boss-${run}`, true) });
  anonymous = createCommerceClient({ url: server.url });
});

after(async () => {
  await server?.stop();
});

/** A product of the admin's making, with `stock` units at `price`. */
async function newProduct(name: string, price: string, stock: number) {
  const { createProduct } = ok(await admin.execute(CreateProductMutation, { input: { name, price, stock } }));
  const product = noUserErrors(createProduct).product;
  assert.ok(product);
  return product;
}

/** A charged shopper with a PENDING order for one unit of a fresh product. */
async function shopperWithOrder(sub: string, price = '2500') {
  const client = clientFor(sub);
  const charged = ok(await client.execute(ChargeBalanceMutation, { input: { amount: '100000' } }));
  noUserErrors(charged.chargeBalance);
  const product = await newProduct(`Order item ${sub}`, price, 10);
  const { createOrder } = ok(
    await client.execute(CreateOrderMutation, { input: { items: [{ productId: product.id, quantity: 1 }] } }),
  );
  const order = noUserErrors(createOrder).order;
  assert.ok(order);
  return { client, product, order };
}

describe('the shopper', () => {
  let shopper: CommerceClient;
  type Product = NonNullable<ResultOf<typeof ProductQuery>['product']>;
  let picked: Product[] = [];
  let order: NonNullable<ResultOf<typeof CreateOrderMutation>['createOrder']['order']>;
  let userCouponId: string;
  let campaign: NonNullable<ResultOf<typeof CreateCouponMutation>['createCoupon']['coupon']>;

  before(() => {
    shopper = clientFor(`shopper-${run}`);
  });

  test('starts with a zero balance and charges it (a retried key charges once)', async () => {
    const { viewer } = ok(await shopper.execute(ViewerQuery));
    assert.equal(viewer.subject, `shopper-${run}`);
    assert.equal(money(viewer.balance), 0n);
    const input = { amount: '10000000', idempotencyKey: `charge-${run}` };
    const first = noUserErrors(ok(await shopper.execute(ChargeBalanceMutation, { input })).chargeBalance);
    assert.equal(first.user?.balance, '10000000');
    const retried = noUserErrors(ok(await shopper.execute(ChargeBalanceMutation, { input })).chargeBalance);
    assert.equal(retried.user?.balance, '10000000', 'the same key charges once');
    assert.equal(ok(await shopper.execute(ViewerQuery)).viewer.balance, '10000000');
  });

  test('browses the catalog page by page and reads one product', async () => {
    const first = ok(await anonymous.execute(ProductsQuery, { first: 2 })).products;
    assert.ok(first.totalCount > 2, `the demo catalog has products: ${first.totalCount}`);
    assert.equal(first.edges.length, 2);
    assert.equal(first.pageInfo.hasNextPage, true);
    assert.equal(first.pageInfo.endCursor, first.edges[1]!.cursor);
    const second = ok(await anonymous.execute(ProductsQuery, { first: 2, after: first.pageInfo.endCursor })).products;
    assert.ok(second.edges.length >= 1);
    const firstIds = first.edges.map((e) => e.node.id);
    for (const edge of second.edges) assert.ok(!firstIds.includes(edge.node.id), 'pages do not overlap');
    // Newest first.
    const all = [...first.edges, ...second.edges].map((e) => dateTime(e.node.createdAt).getTime());
    assert.deepEqual(all, [...all].sort((a, b) => b - a));

    const everything = ok(await anonymous.execute(ProductsQuery, { first: 100 })).products;
    assert.equal(everything.edges.length, everything.totalCount);
    picked = everything.edges.map((e) => e.node).filter((p) => p.stock >= 5 && money(p.price) > 0n).slice(0, 2);
    assert.equal(picked.length, 2, 'two products in stock');
    const { product } = ok(await anonymous.execute(ProductQuery, { id: picked[0]!.id }));
    assert.deepEqual(product, picked[0]);
  });

  test('fills the cart at today\'s prices', async () => {
    const [a] = picked;
    const { addCartItem } = ok(await shopper.execute(AddCartItemMutation, { input: { productId: a!.id, quantity: 2 } }));
    const cart = noUserErrors(addCartItem).cart;
    assert.ok(cart);
    assert.equal(cart.totalQuantity, 2);
    assert.equal(money(cart.subtotal), 2n * money(a!.price));
    assert.equal(cart.items[0]?.product.id, a!.id);
    assert.equal(money(cart.items[0]?.lineTotal), 2n * money(a!.price));
    assert.deepEqual(ok(await shopper.execute(CartQuery)).viewer.cart, cart);
  });

  test('orders two products: a PENDING order at the catalog\'s prices', async () => {
    const [a, b] = picked;
    const { createOrder } = ok(
      await shopper.execute(CreateOrderMutation, {
        input: {
          items: [
            { productId: a!.id, quantity: 2 },
            { productId: b!.id, quantity: 1 },
          ],
          idempotencyKey: `order-${run}`,
        },
      }),
    );
    const created = noUserErrors(createOrder).order;
    assert.ok(created);
    order = created;
    assert.equal(order.status, 'PENDING');
    const total = 2n * money(a!.price) + money(b!.price);
    assert.equal(money(order.totalAmount), total);
    assert.equal(money(order.discountAmount), 0n);
    assert.equal(money(order.payableAmount), total);
    // The lines come by product (id), whatever the order of the input.
    const lines = [
      [a!.id, 2, a!.price, 2n * money(a!.price)],
      [b!.id, 1, b!.price, money(b!.price)],
    ].sort((x, y) => numericId(x[0] as string) - numericId(y[0] as string));
    assert.deepEqual(
      order.items.map((i) => [i.product.id, i.quantity, i.unitPrice, money(i.lineTotal)]),
      lines,
    );
    const created_at = dateTime(order.createdAt);
    assert.ok(Math.abs(Date.now() - created_at.getTime()) < 60_000, 'createdAt is now');
    assert.equal(order.paidAt, null);
    assert.equal(order.payment, null);
    assert.match(order.paymentUrl, /^http:\/\/127\.0\.0\.1:\d+\//);
  });

  test('takes a coupon of a campaign', async () => {
    const { createCoupon } = ok(
      await admin.execute(CreateCouponMutation, {
        input: { name: `Ten off ${run}`, discountType: 'PERCENTAGE', discountValue: 10, totalQuantity: 5 },
      }),
    );
    const created = noUserErrors(createCoupon).coupon;
    assert.ok(created);
    campaign = created;
    const listed = ok(await anonymous.execute(CouponsQuery, { first: 100, availableOnly: true })).coupons.nodes;
    assert.ok(listed.some((c) => c.id === campaign.id && c.remainingQuantity === 5), 'listed as available');

    const { issueCoupon } = ok(await shopper.execute(IssueCouponMutation, { input: { couponId: campaign.id } }));
    const userCoupon = noUserErrors(issueCoupon).userCoupon;
    assert.ok(userCoupon);
    assert.equal(userCoupon.status, 'AVAILABLE');
    assert.equal(userCoupon.coupon.id, campaign.id);
    assert.equal(userCoupon.coupon.discountType, 'PERCENTAGE');
    dateTime(userCoupon.issuedAt);
    userCouponId = userCoupon.id;

    const again = ok(await shopper.execute(IssueCouponMutation, { input: { couponId: campaign.id } })).issueCoupon;
    assert.equal(again.userCoupon, null);
    assert.equal(again.userErrors[0]?.code, 'COUPON_ALREADY_ISSUED');

    const mine = ok(await shopper.execute(ViewerCouponsQuery, { first: 10, status: 'AVAILABLE' })).viewer.coupons;
    assert.deepEqual(
      mine.nodes.map((c) => [c.id, c.status, c.usedAt, c.order]),
      [[userCouponId, 'AVAILABLE', null, null]],
    );
  });

  test('pays with the coupon: 10% off, taken from the balance', async () => {
    const { payOrder } = ok(
      await shopper.execute(PayOrderMutation, { input: { orderId: order.id, userCouponId } }),
    );
    const paid = noUserErrors(payOrder);
    assert.ok(paid.order && paid.payment);
    const total = money(order.totalAmount);
    const discount = (total * 10n) / 100n;
    assert.equal(paid.order.status, 'PAID');
    assert.equal(money(paid.order.totalAmount), total);
    assert.equal(money(paid.order.discountAmount), discount);
    assert.equal(money(paid.order.payableAmount), total - discount);
    assert.equal(money(paid.payment.amount), total - discount);
    assert.equal(paid.order.coupon?.id, userCouponId);
    assert.equal(paid.order.coupon?.status, 'USED');
    const paidAt = dateTime(paid.order.paidAt);
    assert.ok(paidAt >= dateTime(order.createdAt), 'paid after it was created');
    assert.equal(dateTime(paid.payment.paidAt).getTime(), paidAt.getTime());

    const { viewer } = ok(await shopper.execute(ViewerQuery));
    assert.equal(money(viewer.balance), 10000000n - (total - discount));
    // Paying removed the ordered products from the cart.
    assert.equal(ok(await shopper.execute(CartQuery)).viewer.cart.totalQuantity, 0);
    const used = ok(await shopper.execute(ViewerCouponsQuery, { first: 10, status: 'USED' })).viewer.coupons;
    assert.equal(used.nodes[0]?.id, userCouponId);
    assert.equal(used.nodes[0]?.order?.id, order.id);
    dateTime(used.nodes[0]?.usedAt);
  });

  test('pages through its orders, newest first', async () => {
    const ids = [order.id];
    for (const n of [1, 2]) {
      const { createOrder } = ok(
        await shopper.execute(CreateOrderMutation, { input: { items: [{ productId: picked[1]!.id, quantity: n }] } }),
      );
      ids.unshift(noUserErrors(createOrder).order!.id);
    }
    const page1 = ok(await shopper.execute(ViewerOrdersQuery, { first: 2 })).viewer.orders;
    assert.equal(page1.totalCount, 3);
    assert.deepEqual(page1.edges.map((e) => e.node.id), ids.slice(0, 2));
    assert.equal(page1.pageInfo.hasNextPage, true);
    assert.equal(page1.pageInfo.startCursor, page1.edges[0]!.cursor);
    assert.equal(page1.pageInfo.endCursor, page1.edges[1]!.cursor);
    const page2 = ok(await shopper.execute(ViewerOrdersQuery, { first: 2, after: page1.pageInfo.endCursor })).viewer
      .orders;
    assert.deepEqual(page2.edges.map((e) => e.node.id), ids.slice(2));
    assert.equal(page2.pageInfo.hasNextPage, false);
    assert.equal(page2.edges[0]?.node.status, 'PAID');
    dateTime(page2.edges[0]?.node.paidAt);

    const paidOnly = ok(await shopper.execute(ViewerOrdersQuery, { first: 10, status: 'PAID' })).viewer.orders;
    assert.deepEqual(paidOnly.edges.map((e) => e.node.id), [order.id]);
    const pending = ok(await shopper.execute(ViewerOrdersQuery, { status: 'PENDING' })).viewer.orders;
    assert.equal(pending.totalCount, 2);
  });
});

describe('the admin', () => {
  test('creates a product, adjusts its stock (never below zero) and starts a campaign', async () => {
    const product = await newProduct(`Lamp ${run}`, '1999', 5);
    assert.equal(product.name, `Lamp ${run}`);
    assert.equal(product.price, '1999');
    assert.equal(product.stock, 5);
    dateTime(product.createdAt);
    const newest = ok(await anonymous.execute(ProductsQuery, { first: 1 })).products.edges[0]?.node;
    assert.equal(newest?.id, product.id, 'the catalog lists it first');

    const up = ok(await admin.execute(AdjustStockMutation, { input: { productId: product.id, delta: 10 } }));
    assert.equal(noUserErrors(up.adjustStock).product?.stock, 15);
    const down = ok(await admin.execute(AdjustStockMutation, { input: { productId: product.id, delta: -20 } }));
    assert.equal(down.adjustStock.product, null);
    assert.deepEqual(
      down.adjustStock.userErrors.map((e) => [e.code, e.field]),
      [['INVALID_INPUT', ['input', 'delta']]],
    );
    assert.equal(ok(await anonymous.execute(ProductQuery, { id: product.id })).product?.stock, 15, 'unchanged');

    const validUntil = '2031-01-01T00:00:00Z';
    const { createCoupon } = ok(
      await admin.execute(CreateCouponMutation, {
        input: { name: `Fixed ${run}`, discountType: 'FIXED_AMOUNT', discountValue: 500, totalQuantity: 3, validUntil },
      }),
    );
    const coupon = noUserErrors(createCoupon).coupon;
    assert.ok(coupon);
    assert.deepEqual(
      [coupon.discountType, coupon.discountValue, coupon.totalQuantity, coupon.issuedQuantity, coupon.remainingQuantity],
      ['FIXED_AMOUNT', 500, 3, 0, 3],
    );
    assert.equal(dateTime(coupon.validUntil).getTime(), Date.parse(validUntil));
    assert.ok(dateTime(coupon.validFrom).getTime() <= Date.now() + 1000, 'valid from now');
  });

  test('a user calling an admin mutation gets FORBIDDEN', async () => {
    const user = clientFor(`intruder-${run}`);
    const created = await user.execute(CreateProductMutation, { input: { name: 'Nope', price: '1', stock: 1 } });
    assert.equal(errorCode(created), 'FORBIDDEN', JSON.stringify(created));
    assert.equal(created.data, null);
    const adjusted = await user.execute(AdjustStockMutation, { input: { productId: 'UHJvZHVjdDox', delta: 1 } });
    assert.equal(errorCode(adjusted), 'FORBIDDEN');
    const coupon = await user.execute(CreateCouponMutation, {
      input: { name: 'Nope', discountType: 'PERCENTAGE', discountValue: 50, totalQuantity: 1 },
    });
    assert.equal(errorCode(coupon), 'FORBIDDEN');
  });
});

describe('errors', () => {
  test('paying twice is a userError ORDER_ALREADY_PAID with the paid order, and charges once', async () => {
    const { client, order } = await shopperWithOrder(`twice-${run}`);
    const first = ok(await client.execute(PayOrderMutation, { input: { orderId: order.id } })).payOrder;
    noUserErrors(first);
    const balance = ok(await client.execute(ViewerQuery)).viewer.balance;
    assert.equal(money(balance), 100000n - 2500n);
    const again = ok(await client.execute(PayOrderMutation, { input: { orderId: order.id } })).payOrder;
    // A retry learns the outcome: the paid order and its one payment.
    assert.equal(again.order?.id, order.id);
    assert.equal(again.order?.status, 'PAID');
    assert.equal(again.payment?.id, first.payment?.id);
    assert.equal(again.userErrors.length, 1);
    const [error] = again.userErrors;
    assert.equal(error?.code, 'ORDER_ALREADY_PAID');
    assert.deepEqual(error?.field, ['input', 'orderId']);
    assert.ok(error?.message && error.message.length > 0);
    assert.equal(ok(await client.execute(ViewerQuery)).viewer.balance, balance, 'not charged again');
  });

  test('ordering past the stock is PRODUCT_OUT_OF_STOCK at the line', async () => {
    const client = clientFor(`greedy-${run}`);
    const product = await newProduct(`Scarce ${run}`, '100', 2);
    const { createOrder } = ok(
      await client.execute(CreateOrderMutation, { input: { items: [{ productId: product.id, quantity: 3 }] } }),
    );
    assert.equal(createOrder.order, null);
    assert.deepEqual(
      createOrder.userErrors.map((e) => [e.code, e.field]),
      [['PRODUCT_OUT_OF_STOCK', ['input', 'items', '0', 'quantity']]],
    );
  });

  test('no token where a caller is needed is UNAUTHENTICATED; the catalog is public', async () => {
    const charged = await anonymous.execute(ChargeBalanceMutation, { input: { amount: '100' } });
    assert.equal(errorCode(charged), 'UNAUTHENTICATED', JSON.stringify(charged));
    assert.equal(charged.status, 200);
    const viewer = await anonymous.execute(ViewerQuery);
    assert.equal(errorCode(viewer), 'UNAUTHENTICATED');
    ok(await anonymous.execute(ProductsQuery, { first: 1 }));
  });

  test('a bad token is HTTP 401 UNAUTHENTICATED', async () => {
    const token = server.token(`forged-${run}`);
    const forged = `${token.slice(0, -4)}${token.slice(-4) === 'AAAA' ? 'BBBB' : 'AAAA'}`;
    for (const bad of [forged, 'not-a-jwt']) {
      const client = createCommerceClient({ url: server.url, token: bad });
      const result = await client.execute(ProductsQuery, { first: 1 });
      assert.equal(result.status, 401);
      assert.equal(errorCode(result), 'UNAUTHENTICATED');
      assert.equal(result.data ?? null, null);
    }
  });

  test('a Money that is not an integer is BAD_REQUEST', async () => {
    const client = clientFor(`fractional-${run}`);
    const result = await client.execute(ChargeBalanceMutation, { input: { amount: '12.5' } });
    assert.equal(errorCode(result), 'BAD_REQUEST', JSON.stringify(result));
  });
});

describe('subscriptions', () => {
  test('orderUpdated over graphql-ws sees PENDING, then PAID', async () => {
    const sub = `watcher-${run}`;
    const { client, order } = await shopperWithOrder(sub, '4200');
    const ws = createWsClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${server.token(sub)}` },
      retryAttempts: 0,
    });
    type Update = ResultOf<typeof OrderUpdatedSubscription>['orderUpdated'];
    const updates: Update[] = [];
    try {
      const iterator = ws.iterate<ResultOf<typeof OrderUpdatedSubscription>>({
        query: documentText(OrderUpdatedSubscription),
        variables: { orderId: order.id },
      });
      const next = async (): Promise<Update> => {
        const timeout = new Promise<never>((_, reject) =>
          setTimeout(() => reject(new Error(`no update within 10 s; so far ${JSON.stringify(updates)}`)), 10_000).unref(),
        );
        const result = await Promise.race([iterator.next(), timeout]);
        assert.equal(result.done, false, 'the stream goes on');
        assert.equal(result.value.errors, undefined, JSON.stringify(result.value.errors));
        const update = result.value.data!.orderUpdated;
        updates.push(update);
        return update;
      };
      const first = await next();
      assert.deepEqual([first.id, first.status, first.paidAt], [order.id, 'PENDING', null]);
      assert.equal(first.payableAmount, '4200');

      const { payOrder } = ok(await client.execute(PayOrderMutation, { input: { orderId: order.id } }));
      const paidAt = noUserErrors(payOrder).order?.paidAt;

      const second = await next();
      assert.equal(second.status, 'PAID');
      assert.equal(second.paidAt, paidAt);
      dateTime(second.paidAt);
      await iterator.return?.();
    } finally {
      await ws.dispose();
    }
  });

  test('someone else\'s order is NOT_FOUND', async () => {
    const { order } = await shopperWithOrder(`owner-${run}`);
    const ws = createWsClient({
      url: server.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { Authorization: `Bearer ${server.token(`snoop-${run}`)}` },
      retryAttempts: 0,
    });
    try {
      const iterator = ws.iterate({ query: documentText(OrderUpdatedSubscription), variables: { orderId: order.id } });
      const result = await iterator.next();
      assert.equal(result.done, false);
      assert.equal(
        (result.value.errors?.[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code,
        'NOT_FOUND',
        JSON.stringify(result.value),
      );
    } catch (error) {
      // graphql-ws reports a subscription's errors by rejecting the iterator.
      const errors = error as { extensions?: { code?: string } }[];
      assert.ok(Array.isArray(errors), String(error));
      assert.equal(errors[0]?.extensions?.code, 'NOT_FOUND');
    } finally {
      await ws.dispose();
    }
  });
});
