// `npm run dev`: the storefront at http://127.0.0.1:5173/shop/, rebuilt on
// every change to its sources, against a running server of the API
// (SHOP_API, default http://127.0.0.1:8080), whose /graphql (HTTP and
// WebSocket) it forwards, so that the page talks to its own origin as it
// does when the server serves it. The configuration (the shoppers and
// their tokens) is the server's own /shop/ page's, in development; should
// that server serve no storefront, tokens are made with COMMERCE_BIN
// (default ../../target/debug/commerce) for shopper-ada, -ben and -cy.
//
//   SHOP_API=http://127.0.0.1:8080 PORT=5173 npm run dev
//
// Start that server with ORDER_FORM_URL=http://127.0.0.1:5173/shop/orders/{id}
// so that an order's paymentUrl leads to this page, not to the server's own
// build of the storefront.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';
import { options, writePage } from './build.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const api = new URL(process.env.SHOP_API ?? 'http://127.0.0.1:8080');
const port = Number(process.env.PORT ?? 5173);
const out = mkdtempSync(join(tmpdir(), 'storefront-dev-'));
const POLICY =
  "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self' data:; " +
  "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

async function configElement() {
  try {
    const page = await (await fetch(new URL('/shop/', api))).text();
    const found = page.match(/<script type="application\/json" id="shop-config">[\s\S]*?<\/script>/);
    if (found) return found[0];
  } catch {
    // not up yet, or no storefront there
  }
  const binary = resolve(process.env.COMMERCE_BIN ?? join(root, '..', '..', 'target', 'debug', 'commerce'));
  const shoppers = [];
  if (existsSync(binary)) {
    for (const name of ['Ada', 'Ben', 'Cy']) {
      const subject = `shopper-${name.toLowerCase()}`;
      const minted = spawnSync(binary, ['token', subject], { encoding: 'utf8' });
      if (minted.status === 0) shoppers.push({ name, subject, authorization: `Bearer ${minted.stdout.trim()}` });
    }
  }
  const json = JSON.stringify({ graphql: '/graphql', shoppers }).replace(/</g, '\\u003c');
  return `<script type="application/json" id="shop-config">${json}</script>`;
}

const contexts = await Promise.all(options(out).map((o) => esbuild.context({ ...o, minify: false })));
await Promise.all(contexts.map((c) => c.watch()));
writePage(out);

const server = createServer(async (req, res) => {
  const url = new URL(req.url ?? '/', 'http://localhost');
  if (url.pathname === '/graphql') {
    const chunks = [];
    for await (const chunk of req) chunks.push(chunk);
    const headers = { ...req.headers, host: api.host };
    const answer = await fetch(new URL(`/graphql${url.search}`, api), {
      method: req.method,
      headers,
      body: req.method === 'GET' || req.method === 'HEAD' ? undefined : Buffer.concat(chunks),
    }).catch(() => null);
    if (!answer) {
      res.writeHead(502, { 'content-type': 'text/plain' }).end(`no API at ${api}`);
      return;
    }
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' });
    res.end(Buffer.from(await answer.arrayBuffer()));
    return;
  }
  const file = { '/shop/assets/shop.js': 'text/javascript', '/shop/assets/shop.css': 'text/css' }[url.pathname];
  if (file) {
    res.writeHead(200, { 'content-type': `${file}; charset=utf-8`, 'cache-control': 'no-store' });
    res.end(readFileSync(join(out, url.pathname.slice('/shop/'.length))));
    return;
  }
  if (url.pathname === '/' || url.pathname === '/shop') {
    res.writeHead(302, { location: '/shop/' }).end();
    return;
  }
  if (!url.pathname.startsWith('/shop/')) {
    res.writeHead(404).end();
    return;
  }
  const page = readFileSync(join(out, 'index.html'), 'utf8').replace('<!--SHOP_CONFIG-->', await configElement());
  res.writeHead(200, {
    'content-type': 'text/html; charset=utf-8',
    'cache-control': 'no-store',
    'content-security-policy': POLICY,
  });
  res.end(page);
});

// graphql-ws: the upgrade request, then bytes both ways, to the API.
server.on('upgrade', (req, socket, head) => {
  const upstream = connect(Number(api.port || 80), api.hostname, () => {
    const lines = [`${req.method} ${req.url} HTTP/1.1`];
    for (let i = 0; i < req.rawHeaders.length; i += 2) {
      const name = req.rawHeaders[i];
      lines.push(`${name}: ${name.toLowerCase() === 'host' ? api.host : req.rawHeaders[i + 1]}`);
    }
    upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
    if (head.length) upstream.write(head);
    upstream.pipe(socket);
    socket.pipe(upstream);
  });
  upstream.on('error', () => socket.destroy());
  socket.on('error', () => upstream.destroy());
});

server.listen(port, '127.0.0.1', () => {
  console.log(`storefront: http://127.0.0.1:${port}/shop/ (API ${api.origin}; rebuilt on change, from ${out})`);
  console.log(`(start the API with ORDER_FORM_URL='http://127.0.0.1:${port}/shop/orders/{id}' so that paymentUrl leads here)`);
});
