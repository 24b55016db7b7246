// A server that runs only its trusted documents (TRUSTED_DOCUMENTS =
// src/gql/persisted-documents.json, TRUSTED_DOCUMENTS_ONLY=true): the client
// in persisted mode (and in 'auto' mode), sending hashes alone, works; a
// subscription sent as its manifest text works; any other document text is
// FORBIDDEN.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createClient as createWsClient } from 'graphql-ws';
import WebSocket from 'ws';
import {
  createCommerceClient,
  documentHash,
  documentText,
  persistedText,
  type CommerceClient,
  type ResultOf,
} from '../src/client.js';
import {
  ChargeBalanceMutation,
  CreateOrderMutation,
  OrderLiveSubscription,
  ProductsQuery,
  ViewerQuery,
} from '../src/operations.js';
import { errorCode, money, noUserErrors, ok, run } from './helpers.js';
import { startServer, type Server } from './server.js';

const manifestPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'gql', 'persisted-documents.json');
const manifest: Record<string, string> = JSON.parse(readFileSync(manifestPath, 'utf8'));

let server: Server;
let token: string;

before(async () => {
  server = await startServer({ TRUSTED_DOCUMENTS: manifestPath, TRUSTED_DOCUMENTS_ONLY: 'true' });
  token = server.token(`trusted-${run}`);
});

after(async () => {
  await server?.stop();
});

test('each document\'s hash names its text in the manifest', () => {
  for (const document of [ProductsQuery, ViewerQuery, ChargeBalanceMutation]) {
    const hash = documentHash(document);
    assert.ok(hash, 'generated with a hash');
    assert.match(hash, /^[0-9a-f]{64}$/);
    const text = manifest[hash];
    assert.ok(text, `${hash} is in the manifest`);
    assert.equal(createHash('sha256').update(text, 'utf8').digest('hex'), hash);
  }
});

test('the persisted client runs its documents by hash alone', async () => {
  const calls: string[] = [];
  const recording: typeof fetch = async (input, init) => {
    calls.push(String(init?.body));
    return fetch(input, init);
  };
  const client: CommerceClient = createCommerceClient({ url: server.url, token, persisted: true, fetch: recording });

  const products = ok(await client.execute(ProductsQuery, { first: 3 })).products;
  assert.ok(products.totalCount > 0);
  assert.equal(products.edges.length, Math.min(3, products.totalCount));
  money(products.edges[0]?.node.price);

  const charged = ok(await client.execute(ChargeBalanceMutation, { input: { amount: '777' } }));
  assert.equal(noUserErrors(charged.chargeBalance).user?.balance, '777');
  assert.equal(ok(await client.execute(ViewerQuery)).viewer.balance, '777');

  for (const body of calls) {
    const sent = JSON.parse(body);
    assert.equal(sent.query, undefined, 'no document text is sent');
    assert.equal(sent.extensions.persistedQuery.version, 1);
    assert.ok(manifest[sent.extensions.persistedQuery.sha256Hash]);
  }
});

test('document text is FORBIDDEN, even the text of a trusted operation printed otherwise', async () => {
  const adHoc = createCommerceClient({ url: server.url, token });
  const result = await adHoc.execute(ProductsQuery, { first: 1 });
  assert.notEqual(documentText(ProductsQuery), manifest[documentHash(ProductsQuery)!]);
  assert.equal(errorCode(result), 'FORBIDDEN', JSON.stringify(result));
  assert.equal(result.data ?? null, null);

  const raw = await fetch(server.url, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
    body: JSON.stringify({ query: '{ viewer { balance } }' }),
  });
  const body = await raw.json();
  assert.equal(body.errors?.[0]?.extensions?.code, 'FORBIDDEN');
});

test('the manifest\'s own text runs, and an unknown hash is PERSISTED_QUERY_NOT_FOUND', async () => {
  const text = manifest[documentHash(ViewerQuery)!];
  const post = (body: unknown) =>
    fetch(server.url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
      body: JSON.stringify(body),
    }).then((r) => r.json());
  const exact = await post({ query: text });
  assert.equal(exact.errors, undefined, JSON.stringify(exact));
  assert.equal(exact.data.viewer.balance, '777');
  const unknown = await post({
    extensions: { persistedQuery: { version: 1, sha256Hash: createHash('sha256').update('{ viewer { id } }').digest('hex') } },
  });
  assert.equal(unknown.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
});

test('persisted: \'auto\' sends the hash alone to a server that knows it', async () => {
  const calls: string[] = [];
  const recording: typeof fetch = async (input, init) => {
    calls.push(String(init?.body));
    return fetch(input, init);
  };
  const client = createCommerceClient({ url: server.url, token, persisted: 'auto', documents: manifest, fetch: recording });
  assert.equal(ok(await client.execute(ViewerQuery)).viewer.balance, '777');
  assert.ok(ok(await client.execute(ProductsQuery, { first: 1 })).products.totalCount > 0);
  assert.equal(calls.length, 2, 'one request each');
  for (const body of calls) assert.equal(JSON.parse(body).query, undefined, 'no document text is sent');
});

test('a subscription sent as its manifest text runs over graphql-ws', async () => {
  const client = createCommerceClient({ url: server.url, token, persisted: true });
  const productId = ok(await client.execute(ProductsQuery, { first: 1 })).products.edges[0]?.node.id;
  assert.ok(productId);
  const ordered = ok(await client.execute(CreateOrderMutation, { input: { items: [{ productId, quantity: 1 }] } }));
  const orderId = noUserErrors(ordered.createOrder).order?.id;
  assert.ok(orderId);
  const ws = createWsClient({ url: server.wsUrl, webSocketImpl: WebSocket, connectionParams: { Authorization: `Bearer ${token}` }, lazy: true });
  try {
    const iterator = ws.iterate<ResultOf<typeof OrderLiveSubscription>>({
      query: persistedText(OrderLiveSubscription, manifest),
      variables: { orderId },
    });
    const first = await iterator.next();
    assert.equal(first.value?.errors, undefined, JSON.stringify(first.value));
    assert.equal(first.value?.data?.orderUpdated.status, 'PENDING');
    await iterator.return?.();
  } finally {
    await ws.dispose();
  }
});
