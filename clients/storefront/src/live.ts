// Subscriptions (orderUpdated, couponUpdated) over graphql-ws on the
// API's URL (ws:// or wss://), one socket per shopper, opened on first
// use and reopened after a drop. A page is told when the socket comes back
// (`reconnected`), to read again what it may have missed; the connection
// state is shown by the pages that are live.
import { createClient, type Client } from 'graphql-ws';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { persistedText } from '../../typescript/src/client.js';
import { documents } from './api.js';
import { config } from './config.js';
import { errorText } from './errors.js';
import { shopper } from './session.js';

export type LiveState = 'connecting' | 'live' | 'reconnecting';

export interface LiveHandlers<R> {
  next(data: R): void;
  /** The stream failed for good (NOT_FOUND, ...): plain words and the code. */
  error?(message: string, code?: string): void;
  /** The server ended the stream (an order that is final, a sold-out campaign). */
  complete?(): void;
  /** The socket came back after a drop: read again what may have changed. */
  reconnected?(): void;
  /** The socket's state, as it changes. */
  state?(state: LiveState): void;
}

/** Close codes after which reconnecting cannot help (bad token, bad request). */
const FATAL = new Set([4400, 4401, 4403, 4406, 4409, 4413, 4500]);

interface Socket {
  client: Client;
  reconnectListeners: Set<() => void>;
  stateListeners: Set<(state: LiveState) => void>;
}

const sockets = new Map<string, Socket>();

function socketUrl(): string {
  const url = new URL(config.graphql, window.location.href);
  url.protocol = url.protocol === 'https:' ? 'wss:' : 'ws:';
  return url.toString();
}

function socket(): Socket {
  const authorization = shopper()?.authorization ?? '';
  const found = sockets.get(authorization);
  if (found) return found;
  const reconnectListeners = new Set<() => void>();
  const stateListeners = new Set<(state: LiveState) => void>();
  const tell = (state: LiveState) => stateListeners.forEach((l) => l(state));
  const client = createClient({
    url: socketUrl(),
    connectionParams: () => (authorization ? { Authorization: authorization } : {}),
    lazy: true,
    // Reconnect for as long as the page is open, at most every 10 s.
    retryAttempts: Number.MAX_SAFE_INTEGER,
    retryWait: (retries) =>
      new Promise((resolve) => setTimeout(resolve, Math.min(10_000, 500 * 2 ** retries) + Math.random() * 500)),
    shouldRetry: (event) => !(event instanceof CloseEvent && FATAL.has(event.code)),
    on: {
      connecting: (isRetry) => tell(isRetry ? 'reconnecting' : 'connecting'),
      connected: (_socket, _payload, wasRetry) => {
        tell('live');
        if (wasRetry) reconnectListeners.forEach((l) => l());
      },
      closed: () => tell('reconnecting'),
    },
  });
  const created = { client, reconnectListeners, stateListeners };
  sockets.set(authorization, created);
  return created;
}

/** The first error's code and plain words, from what graphql-ws reports. */
function failure(error: unknown): [string, string | undefined] {
  if (Array.isArray(error)) {
    const code = (error[0] as { extensions?: { code?: string } } | undefined)?.extensions?.code;
    return [errorText(code), code];
  }
  if (error instanceof CloseEvent) {
    const code = error.code === 4403 ? 'UNAUTHENTICATED' : error.code === 4429 ? 'RATE_LIMITED' : 'NETWORK';
    return [errorText(code), code];
  }
  return [errorText('NETWORK'), 'NETWORK'];
}

/**
 * Subscribes to `document` as the current shopper; the document goes as
 * the manifest's exact text (which a TRUSTED_DOCUMENTS_ONLY server runs).
 * Returns how to stop.
 */
export function watch<R, V extends Record<string, unknown>>(
  document: TypedDocumentNode<R, V>,
  variables: V,
  handlers: LiveHandlers<R>,
): () => void {
  const live = socket();
  const onReconnect = () => handlers.reconnected?.();
  const onState = (state: LiveState) => handlers.state?.(state);
  live.reconnectListeners.add(onReconnect);
  live.stateListeners.add(onState);
  const stop = live.client.subscribe<R>(
    { query: persistedText(document, documents), variables },
    {
      next: (result) => {
        if (result.errors?.length) {
          const [message, code] = failure(result.errors);
          handlers.error?.(message, code);
        } else if (result.data) {
          handlers.next(result.data);
        }
      },
      error: (error) => {
        const [message, code] = failure(error);
        handlers.error?.(message, code);
      },
      complete: () => handlers.complete?.(),
    },
  );
  return () => {
    live.reconnectListeners.delete(onReconnect);
    live.stateListeners.delete(onState);
    stop();
  };
}

/** Words for a socket state, for the pages' live indicators. */
export function stateText(state: LiveState): string {
  return state === 'live' ? 'Live' : state === 'connecting' ? 'Connecting…' : 'Reconnecting…';
}
