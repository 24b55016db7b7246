// The commerce server as an Apollo Federation v2 subgraph behind a real
// gateway (docs/federation.md): starts the server (the debug binary) on a
// fresh database, and the test's own reviews subgraph (reviews.mjs), which
// extends `Product`; composes the supergraph from both with Apollo
// Gateway's IntrospectAndCompose, which reads each subgraph's
// `_service { sdl }` and composes them with @apollo/composition, the
// composition library `rover supergraph compose` runs too; serves it with
// @apollo/server on a free port; and queries through it what crosses both:
//
// - products with their reviews (commerce, then the reviews' `_entities`);
// - an order's products with theirs, as the shopper whose token the
//   gateway forwards (`viewer.orders`, `order(id:)`);
// - the latest reviews with their products' names and prices: the reviews
//   subgraph answers references, and the gateway asks the commerce
//   subgraph's `_entities` for the rest (seen in the requests the gateway
//   sent and in the server's /metrics);
// - errors of the commerce subgraph as they arrive: another shopper's
//   order is null, a bad token UNAUTHENTICATED, too many representations
//   BAD_REQUEST (QUERY_MAX_REPRESENTATIONS, which the gateway does not
//   split);
// - mutations routed to the commerce subgraph, and no subscription in the
//   supergraph.
//
// Why Apollo Gateway: it is the reference implementation of the federation
// spec that async-graphql's subgraph support follows, it installs from npm
// with the composition it runs (IntrospectAndCompose composes at startup,
// as a platform team's gateway or `rover` would, from the live `_service`),
// and its data sources let the test see every request of the query plan.
// Hive Gateway with @theguild/federation-composition would do too, but
// needs the test to fetch each `_service` and compose by hand. The Apollo
// Router, what Apollo runs in production, is a binary outside npm. The
// gateway and composition packages are under the Elastic License 2.0: fine
// for a test, which ships nothing. Nothing is fetched but from the two
// local subgraphs: no Apollo key, so no usage reporting; and the
// gateway's own anonymous telemetry, which would probe the cloud metadata
// addresses and send Apollo its metrics, is turned off below (a platform
// team runs it with APOLLO_TELEMETRY_DISABLED=true too, or knows it).
//
//   npm ci && npm test          # in tests/gateway, or .ci/gateway
//
// Environment: see commerce.mjs.
import { ApolloGateway, IntrospectAndCompose, RemoteGraphQLDataSource } from '@apollo/gateway';
import { ApolloServer } from '@apollo/server';
import { startStandaloneServer } from '@apollo/server/standalone';
import { buildServer, check, freePort, startCommerce } from './commerce.mjs';
import { startReviews } from './reviews.mjs';

// Read when the gateway is made (@apollo/gateway's index.js).
process.env.APOLLO_TELEMETRY_DISABLED = 'true';

/** Every request the gateway sent a subgraph: `{ subgraph, query, representations }`. */
const sent = [];

/**
 * A subgraph's data source: forwards the client's Authorization header (a
 * gateway forwards nothing unless told), and records what it sends.
 */
class Subgraph extends RemoteGraphQLDataSource {
  willSendRequest({ request, context }) {
    sent.push({
      subgraph: this.name,
      query: request.query,
      representations: request.variables?.representations?.length ?? 0,
    });
    if (context?.authorization) request.http.headers.set('authorization', context.authorization);
  }
}

let commerce;
let reviews;
let gatewayServer;
const started = Date.now();

async function main() {
  const binary = buildServer();
  commerce = await startCommerce(binary);
  const written = [];
  reviews = await startReviews(await freePort(), written);

  const gateway = new ApolloGateway({
    supergraphSdl: new IntrospectAndCompose({
      subgraphs: [
        { name: 'commerce', url: commerce.url },
        { name: 'reviews', url: reviews.url },
      ],
    }),
    buildService: ({ name, url }) => Object.assign(new Subgraph({ url }), { name }),
  });
  gatewayServer = new ApolloServer({ gateway, includeStacktraceInErrorResponses: false });
  const { url } = await startStandaloneServer(gatewayServer, {
    listen: { port: await freePort(), host: '127.0.0.1' },
    context: async ({ req }) => ({ authorization: req.headers.authorization }),
  });
  console.log(`gateway on ${url}, commerce on ${commerce.url}, reviews on ${reviews.url}`);
  check(
    sent.some((r) => r.subgraph === 'commerce' && r.query.includes('_service')),
    'the gateway composed from the commerce subgraph\'s _service',
  );

  /** Posts `query` to the gateway (as `authorization`); resolves to the whole JSON answer. */
  async function ask(query, variables = {}, authorization = null) {
    const headers = { 'content-type': 'application/json' };
    if (authorization) headers.authorization = authorization;
    const response = await fetch(url, { method: 'POST', headers, body: JSON.stringify({ query, variables }) });
    return response.json();
  }
  /** `data`, after checking that there was no error. */
  async function data(query, variables, authorization) {
    const answer = await ask(query, variables, authorization);
    check(!answer.errors, `unexpected errors: ${JSON.stringify(answer.errors)}`);
    return answer.data;
  }

  // The supergraph: both subgraphs' fields on Product, no subscription.
  const schema = await data(`{
    product: __type(name: "Product") { fields { name } }
    __schema { subscriptionType { name } mutationType { name } }
  }`);
  const fields = schema.product.fields.map((f) => f.name);
  for (const field of ['id', 'name', 'price', 'reviews']) {
    check(fields.includes(field), `Product.${field} in the supergraph: ${fields}`);
  }
  check(schema.__schema.subscriptionType === null, 'no subscription in the supergraph');
  check(schema.__schema.mutationType?.name === 'Mutation', 'the mutations are');

  // Mutations through the gateway, routed to the commerce subgraph.
  const admin = commerce.authorization('gateway-admin', true);
  const products = [];
  for (const [name, price] of [['Kettle', '4500'], ['Filter papers', '800'], ['Grinder', '12000']]) {
    const created = await data(
      `mutation($i: CreateProductInput!) { createProduct(input: $i) { product { id } userErrors { code } } }`,
      { i: { name, price, stock: 50 } },
      admin,
    );
    products.push(created.createProduct.product.id);
  }
  const [kettle, papers, grinder] = products;
  const order = async (who, lines) => {
    const created = await data(
      `mutation($i: CreateOrderInput!) { createOrder(input: $i) { order { id } userErrors { code message } } }`,
      { i: { items: lines.map(([productId, quantity]) => ({ productId, quantity })) } },
      who,
    );
    check(created.createOrder.order, `order created: ${JSON.stringify(created)}`);
    return created.createOrder.order.id;
  };
  const alice = commerce.authorization('alice');
  const bob = commerce.authorization('bob');
  const alicesOrder = await order(alice, [[kettle, 1], [papers, 3]]);
  const bobsOrder = await order(bob, [[grinder, 1]]);

  written.push(
    { id: 'r1', productId: kettle, rating: 5, body: 'Pours like a dream' },
    { id: 'r2', productId: kettle, rating: 4, body: 'A little slow' },
    { id: 'r3', productId: papers, rating: 3, body: 'They do the job' },
  );

  // 1. Products with their reviews: commerce, then the reviews subgraph.
  sent.length = 0;
  const catalog = await data('{ products(first: 10, orderBy: PRICE_ASC) { nodes { id name price reviews { rating body } } } }');
  const byName = Object.fromEntries(catalog.products.nodes.map((p) => [p.name, p]));
  check(byName.Kettle.reviews.map((r) => r.rating).join() === '5,4', `Kettle's reviews: ${JSON.stringify(byName.Kettle)}`);
  check(byName['Filter papers'].reviews[0].body === 'They do the job', 'the papers\' review');
  check(byName.Grinder.reviews.length === 0 && byName.Grinder.price === '12000', 'the grinder: no review');
  check(
    sent.map((r) => r.subgraph).join() === 'commerce,reviews',
    `one fetch from each subgraph: ${sent.map((r) => r.subgraph)}`,
  );
  check(sent[1].query.includes('_entities') && sent[1].representations === 3, 'the reviews of three products in one _entities');

  // 2. An order's products with their reviews, as its shopper (the token
  // forwarded to the commerce subgraph), by viewer and by id.
  const ORDER_LINES = `items { quantity product { name reviews { rating } } }`;
  const viewer = await data(`{ viewer { orders(first: 5) { nodes { id ${ORDER_LINES} } } } }`, {}, alice);
  const [only] = viewer.viewer.orders.nodes;
  check(viewer.viewer.orders.nodes.length === 1 && only.id === alicesOrder, 'alice sees her one order');
  check(only.items.length === 2, 'its two lines');
  const kettleLine = only.items.find((i) => i.product.name === 'Kettle');
  check(kettleLine.quantity === 1 && kettleLine.product.reviews.length === 2, 'the kettle with its two reviews');
  const byId = await data(`query($id: ID!) { order(id: $id) { id ${ORDER_LINES} } }`, { id: alicesOrder }, alice);
  check(JSON.stringify(byId.order) === JSON.stringify(only), 'order(id:) answers the same');

  // 3. The gateway resolves the reviews' products through the commerce
  // subgraph's _entities (one call, one representation per review).
  const metric = async () => {
    const text = await fetch(`${commerce.origin}/metrics`).then((r) => r.text());
    const line = text.split('\n').find((l) => l.startsWith('graphql_requests_total{') &&
      l.includes('operation="_entities"') && l.includes('outcome="ok"'));
    return line ? Number(line.split(' ').pop()) : 0;
  };
  const entitiesBefore = await metric();
  sent.length = 0;
  const latest = await data('{ latestReviews(first: 3) { body rating product { id name price } } }');
  check(
    latest.latestReviews.map((r) => `${r.product.name}:${r.product.price}:${r.rating}`).join() ===
      'Filter papers:800:3,Kettle:4500:4,Kettle:4500:5',
    `the latest reviews with their products: ${JSON.stringify(latest)}`,
  );
  const toCommerce = sent.filter((r) => r.subgraph === 'commerce');
  check(
    toCommerce.length === 1 && toCommerce[0].query.includes('_entities') && toCommerce[0].representations === 3,
    `one _entities call to commerce with 3 representations: ${JSON.stringify(toCommerce)}`,
  );
  check((await metric()) === entitiesBefore + 1, 'the commerce subgraph counted one _entities operation');

  // 4. Errors of the commerce subgraph, through the gateway.
  // Another shopper's order reads as null, as one that does not exist.
  const hidden = await ask('query($id: ID!) { order(id: $id) { id } }', { id: bobsOrder }, alice);
  check(hidden.data?.order === null && !hidden.errors, `bob's order is null to alice: ${JSON.stringify(hidden)}`);
  const own = await data('query($id: ID!) { order(id: $id) { id } }', { id: bobsOrder }, bob);
  check(own.order.id === bobsOrder, 'and his to bob');
  // A bad token: the server's 401 UNAUTHENTICATED, its answer attached.
  const refused = await ask('{ viewer { id } }', {}, 'Bearer not-a-token');
  const [error] = refused.errors ?? [];
  check(error?.extensions?.code === 'UNAUTHENTICATED', `UNAUTHENTICATED: ${JSON.stringify(refused)}`);
  check(error.extensions.response?.status === 401, 'the subgraph\'s status');
  check(
    error.extensions.response.body?.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED',
    `the subgraph's own error: ${JSON.stringify(error.extensions.response)}`,
  );
  // No token where one is needed: the server's error, as it said it.
  const anonymous = await ask('{ viewer { id } }');
  check(
    anonymous.errors?.[0]?.extensions?.code === 'UNAUTHENTICATED' &&
      anonymous.errors[0].extensions.serviceName === 'commerce' &&
      anonymous.errors[0].path?.join() === 'viewer',
    `viewer without a token: ${JSON.stringify(anonymous)}`,
  );
  // The representations bound: the gateway sends one per review (it
  // does not deduplicate them) and never splits a call, so 101 reviews'
  // products are refused by the commerce subgraph, before it reads.
  for (let i = 0; i < 101; i += 1) {
    written.push({ id: `bulk${i}`, productId: products[i % 3], rating: 1 + (i % 5), body: `bulk ${i}` });
  }
  const hundred = await data('{ latestReviews(first: 100) { product { name } } }');
  check(hundred.latestReviews.every((r) => r.product.name), 'a hundred products resolved');
  const tooMany = await ask('{ latestReviews(first: 101) { product { name } } }');
  const bound = tooMany.errors?.find((e) => JSON.stringify(e).includes('at most 100 representations'));
  check(bound, `too many representations refused: ${JSON.stringify(tooMany.errors)}`);
  check(
    bound.extensions?.code === 'BAD_REQUEST' && bound.extensions.serviceName === 'commerce',
    `the commerce subgraph's BAD_REQUEST: ${JSON.stringify(bound)}`,
  );

  console.log(`gateway: ${sent.length} subgraph requests in the last checks; reviews resolved ${reviews.references()} product references`);
}

async function cleanup() {
  await gatewayServer?.stop().catch(() => {});
  await reviews?.stop().catch(() => {});
  await commerce?.stop();
}

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, async () => {
    commerce?.kill();
    await cleanup().catch(() => {});
    process.exit(130);
  });
}
let failed = false;
try {
  await main();
} catch (e) {
  failed = true;
  console.error(`gateway: FAILED: ${e.stack ?? e.message}`);
  if (commerce) console.error(`--- server output ---\n${commerce.output()}`);
} finally {
  await cleanup().catch((e) => console.error(`cleanup: ${e.message}`));
}
console.log(`gateway: ${failed ? 'FAILED' : 'ok'} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
process.exit(failed ? 1 : 0);
