// Queries and mutations over HTTP, through ../typescript's generated
// client, as the current shopper. Persisted-query style: each request
// sends its document's hash first and its text only when the server does
// not know it (persisted: 'auto'), so the shop works on any server of this
// API, TRUSTED_DOCUMENTS_ONLY with the client's manifest included.
import {
  createCommerceClient,
  type CommerceClient,
  type ExecuteResult,
} from '../../typescript/src/client.js';
import manifest from '../../typescript/src/gql/persisted-documents.json';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';
import { config } from './config.js';
import { ShopError } from './errors.js';
import { shopper } from './session.js';

/** The exact texts of the client's documents, by hash. */
export const documents: Readonly<Record<string, string>> = manifest;

const clients = new Map<string, CommerceClient>();

function client(): CommerceClient {
  const authorization = shopper()?.authorization ?? '';
  let found = clients.get(authorization);
  if (!found) {
    found = createCommerceClient({
      url: config.graphql,
      token: authorization.replace(/^Bearer\s+/i, '') || undefined,
      persisted: 'auto',
      documents,
    });
    clients.set(authorization, found);
  }
  return found;
}

type VariablesArg<V> = Record<string, never> extends V ? [variables?: V] : [variables: V];

/**
 * Runs an operation as the current shopper and gives its data; throws a
 * ShopError (with the plain words of its code) on a top-level error, an
 * HTTP failure or no network.
 */
export async function request<R, V>(document: TypedDocumentNode<R, V>, ...variables: VariablesArg<V>): Promise<R> {
  let result: ExecuteResult<R>;
  try {
    result = await (client().execute as (d: TypedDocumentNode<R, V>, v?: V) => Promise<ExecuteResult<R>>)(
      document,
      variables[0],
    );
  } catch {
    throw new ShopError('NETWORK');
  }
  const code = result.errors?.[0]?.extensions?.code;
  if (result.errors?.length || !result.data) {
    if (result.status === 401) throw new ShopError('UNAUTHENTICATED');
    if (result.status === 429) throw new ShopError('RATE_LIMITED');
    throw new ShopError(code ?? (result.status >= 500 ? 'SERVICE_UNAVAILABLE' : 'INTERNAL_SERVER_ERROR'));
  }
  return result.data;
}
