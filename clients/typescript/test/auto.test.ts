// persisted: 'auto' against a server without the manifest: the hash first,
// then, on PERSISTED_QUERY_NOT_FOUND, the text (the manifest's, so the
// server learns the hash and the next request is the hash alone; or, with
// no manifest given, the printed text, sent directly from then on).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createCommerceClient, documentHash } from '../src/client.js';
import { ProductsQuery, ViewerQuery } from '../src/operations.js';
import { ok, run } from './helpers.js';
import { startServer, type Server } from './server.js';

const manifestPath = join(dirname(fileURLToPath(import.meta.url)), '..', 'src', 'gql', 'persisted-documents.json');
const manifest: Record<string, string> = JSON.parse(readFileSync(manifestPath, 'utf8'));

let server: Server;
let token: string;

before(async () => {
  server = await startServer();
  token = server.token(`auto-${run}`);
});

after(async () => {
  await server?.stop();
});

/** A fetch that records what each request sent. */
function recorder() {
  const sent: { query?: string; extensions?: { persistedQuery?: { sha256Hash: string } } }[] = [];
  const recording: typeof fetch = async (input, init) => {
    sent.push(JSON.parse(String(init?.body)));
    return fetch(input, init);
  };
  return { sent, recording };
}

test('with the manifest: the hash, then the text with it once; then the hash alone', async () => {
  const { sent, recording } = recorder();
  const client = createCommerceClient({ url: server.url, token, persisted: 'auto', documents: manifest, fetch: recording });
  const hash = documentHash(ViewerQuery)!;

  assert.equal(ok(await client.execute(ViewerQuery)).viewer.subject, `auto-${run}`);
  assert.equal(sent.length, 2);
  assert.equal(sent[0]!.query, undefined);
  assert.equal(sent[0]!.extensions?.persistedQuery?.sha256Hash, hash);
  assert.equal(sent[1]!.query, manifest[hash]);
  assert.equal(sent[1]!.extensions?.persistedQuery?.sha256Hash, hash);

  // Another client (another browser) asks this instance by hash alone.
  const other = recorder();
  const second = createCommerceClient({ url: server.url, token, persisted: 'auto', documents: manifest, fetch: other.recording });
  assert.equal(ok(await second.execute(ViewerQuery)).viewer.subject, `auto-${run}`);
  assert.equal(other.sent.length, 1);
  assert.equal(other.sent[0]!.query, undefined);
});

test('without the manifest: the hash, then the printed text alone, and the text from then on', async () => {
  const { sent, recording } = recorder();
  const client = createCommerceClient({ url: server.url, token, persisted: 'auto', fetch: recording });
  assert.ok(ok(await client.execute(ProductsQuery, { first: 2 })).products.totalCount > 0);
  assert.equal(sent.length, 2);
  assert.ok(sent[0]!.extensions?.persistedQuery);
  assert.ok(sent[1]!.query);
  assert.equal(sent[1]!.extensions, undefined);
  assert.ok(ok(await client.execute(ProductsQuery, { first: 1 })).products.totalCount > 0);
  assert.equal(sent.length, 3);
  assert.ok(sent[2]!.query, 'the text directly');
});

test('persisted: true stays hash-only: PERSISTED_QUERY_NOT_FOUND is the answer', async () => {
  const client = createCommerceClient({ url: server.url, token, persisted: true });
  const result = await client.execute(ProductsQuery, { first: 1 });
  assert.equal(result.errors?.[0]?.extensions?.code, 'PERSISTED_QUERY_NOT_FOUND');
});
