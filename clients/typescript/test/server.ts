// Starts the real server (../../target/debug/commerce, built by `pretest`)
// for a test file: a free port, a fresh database and NATS names of its own;
// waits until /readyz answers; mints tokens with the same binary and
// environment; and on stop kills it and drops the database (and its NATS
// stream), failures included.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer, connect } from 'node:net';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const binary = join(repoRoot, 'target', 'debug', 'commerce');
const postgres = 'postgres://postgres@127.0.0.1:5432';

export interface Server {
  /** http://127.0.0.1:<port>/graphql */
  url: string;
  /** ws://127.0.0.1:<port>/graphql */
  wsUrl: string;
  /** The server's output so far (for failure messages). */
  log(): string;
  /** A bearer token for `sub` from `commerce token`. */
  token(sub: string, admin?: boolean): string;
  stop(): Promise<void>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      probe.close(() => resolve(port));
    });
  });
}

const running = new Set<ChildProcess>();
// Should the test process end without stop() (a crash), take the servers along.
process.on('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export async function startServer(extraEnv: Record<string, string> = {}): Promise<Server> {
  const id = `${process.pid}_${Date.now()}_${randomBytes(3).toString('hex')}`;
  const database = `client_test_${id}`;
  const stream = `CLIENT_TEST_${id}`.toUpperCase();
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    APP_ENV: 'development',
    LISTEN_ADDR: `127.0.0.1:${port}`,
    DATABASE_URL: `${postgres}/${database}`,
    DATABASE_MAX_CONNECTIONS: '4',
    NATS_STREAM: stream,
    NATS_SUBJECT: `client_test.${id}.orders.paid`,
    NATS_REFUND_SUBJECT: `client_test.${id}.orders.refunded`,
    NATS_EXPIRED_SUBJECT: `client_test.${id}.orders.expired`,
    NATS_CHANGES_SUBJECT: `client_test.${id}.changes`,
    SHUTDOWN_GRACE_MS: '1000',
    RUST_LOG: 'warn',
    ...extraEnv,
  };
  let output = '';
  const child = spawn(binary, [], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  running.add(child);
  child.stdout!.on('data', (chunk) => (output += chunk));
  child.stderr!.on('data', (chunk) => (output += chunk));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let stopped = false;

  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(killer);
    }
    running.delete(child);
    const drop = spawnSync(
      'psql',
      ['-q', '-v', 'ON_ERROR_STOP=1', `${postgres}/postgres`, '-c', `DROP DATABASE IF EXISTS "${database}" WITH (FORCE)`],
      { encoding: 'utf8' },
    );
    if (drop.status !== 0) console.error(`could not drop ${database}: ${drop.stderr}`);
    await deleteStream(stream).catch((e) => console.error(`could not delete NATS stream ${stream}: ${e}`));
  };

  const base = `http://127.0.0.1:${port}`;
  try {
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`the server exited before it was ready:\n${output}`);
      }
      const ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
      if (ready) break;
      if (Date.now() > deadline) throw new Error(`the server was not ready within 60 s:\n${output}`);
      await new Promise((r) => setTimeout(r, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }

  return {
    url: `${base}/graphql`,
    wsUrl: `ws://127.0.0.1:${port}/graphql`,
    log: () => output,
    token(sub, admin = false) {
      const args = ['token', sub, ...(admin ? ['--admin'] : [])];
      const minted = spawnSync(binary, args, { env, encoding: 'utf8' });
      if (minted.status !== 0) throw new Error(`commerce ${args.join(' ')} failed: ${minted.stderr}`);
      return minted.stdout.trim();
    },
    stop,
  };
}

/**
 * Deletes the JetStream stream the server created (best effort), over the
 * NATS protocol itself: CONNECT, then a request to $JS.API.STREAM.DELETE.
 */
function deleteStream(stream: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(4222, '127.0.0.1');
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error('no answer from NATS'));
    }, 3000);
    let buffer = '';
    socket.setEncoding('utf8');
    socket.on('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    socket.on('data', (chunk: string) => {
      buffer += chunk;
      if (buffer.startsWith('INFO') && !buffer.includes('SUB_SENT')) {
        buffer += 'SUB_SENT';
        socket.write(
          'CONNECT {"verbose":false,"pedantic":false,"protocol":1}\r\n' +
            'SUB _INBOX.client_test 1\r\n' +
            `PUB $JS.API.STREAM.DELETE.${stream} _INBOX.client_test 0\r\n\r\n`,
        );
      }
      if (buffer.includes('MSG _INBOX.client_test')) {
        clearTimeout(timer);
        socket.end();
        resolve();
      }
      if (buffer.includes('-ERR')) {
        clearTimeout(timer);
        socket.destroy();
        reject(new Error(buffer));
      }
    });
  });
}
