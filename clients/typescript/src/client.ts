// A small typed client for the commerce GraphQL API over HTTP.
//
//   const client = createCommerceClient({ url: 'http://127.0.0.1:8080/graphql', token });
//   const { data, errors } = await client.execute(ProductsQuery, { first: 10 });
//   data?.products.edges[0]?.node.price; // string: Money, e.g. "15000"
//
// The documents come from src/operations.ts (typed by graphql-codegen), so
// `data` and the variables are typed by the operation. With
// `persisted: true` only the document's hash is sent
// (extensions.persistedQuery), for a server that loads
// src/gql/persisted-documents.json as its TRUSTED_DOCUMENTS. With
// `persisted: 'auto'` the hash goes first and, should the server answer
// PERSISTED_QUERY_NOT_FOUND, the text follows (Apollo's automatic persisted
// queries): one client for both kinds of server.
//
// Subscriptions go over graphql-ws, not through this client: see README.md.
import { print, type DocumentNode, type OperationDefinitionNode } from 'graphql';
import type { TypedDocumentNode } from '@graphql-typed-document-node/core';

export type { ResultOf, VariablesOf } from '@graphql-typed-document-node/core';

export interface CommerceClientOptions {
  /** The GraphQL endpoint, e.g. `http://127.0.0.1:8080/graphql`. */
  url: string;
  /** A bearer token (`commerce token <sub>`); omitted for anonymous calls. */
  token?: string;
  /**
   * - `false` (the default): send each document's text.
   * - `true`: send only each document's SHA-256 (its `__meta__.hash`),
   *   never its text: for a server whose TRUSTED_DOCUMENTS is this
   *   package's persisted-documents.json.
   * - `'auto'`: send the hash first; on PERSISTED_QUERY_NOT_FOUND, send it
   *   again with the text (Apollo's automatic persisted queries). The text
   *   is `documents[hash]` when given, so that the server learns the hash
   *   and the next request needs no text; without `documents` the printed
   *   text goes alone, and this client sends that document's text
   *   directly from then on. Works on a server with or without the
   *   manifest, TRUSTED_DOCUMENTS_ONLY included (with `documents`).
   */
  persisted?: boolean | 'auto';
  /**
   * The exact texts of the hashed documents, by hash: this package's
   * `src/gql/persisted-documents.json` (a document's printed text is not
   * the text its hash names). Used by `persisted: 'auto'`.
   */
  documents?: Readonly<Record<string, string>>;
  /** The fetch to use (default: the global one). */
  fetch?: typeof fetch;
}

/** A top-level GraphQL error as the server sends it. */
export interface GraphQLResponseError {
  message: string;
  locations?: { line: number; column: number }[];
  path?: (string | number)[];
  /** `code` is one of docs/api.md's "Errors" table: UNAUTHENTICATED, FORBIDDEN, BAD_REQUEST, ... */
  extensions?: { code?: string; [key: string]: unknown };
}

/** A response: `data` typed by the operation, plus the HTTP status. */
export interface ExecuteResult<TResult> {
  data?: TResult | null;
  errors?: GraphQLResponseError[];
  extensions?: Record<string, unknown>;
  /** The HTTP status: 200, or e.g. 401 for a bad token, 429 when rate limited. */
  status: number;
}

/** Variables are optional for operations whose variables are all optional. */
type VariablesArg<TVariables> =
  Record<string, never> extends TVariables ? [variables?: TVariables] : [variables: TVariables];

export interface CommerceClient {
  execute<TResult, TVariables>(
    document: TypedDocumentNode<TResult, TVariables>,
    ...variables: VariablesArg<TVariables>
  ): Promise<ExecuteResult<TResult>>;
}

/** The hash codegen embedded in a document (`__meta__.hash`), if any. */
export function documentHash(document: DocumentNode): string | undefined {
  const meta = (document as { __meta__?: { hash?: unknown } }).__meta__;
  return typeof meta?.hash === 'string' ? meta.hash : undefined;
}

/** The name of a document's operation, if it has one. */
export function operationName(document: DocumentNode): string | undefined {
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === 'OperationDefinition',
  );
  return operation?.name?.value;
}

/** The text of a document, as sent in `query` (and to graphql-ws). */
export function documentText(document: DocumentNode): string {
  return print(document);
}

export function createCommerceClient(options: CommerceClientOptions): CommerceClient {
  const doFetch = options.fetch ?? fetch;
  const headers: Record<string, string> = {
    'content-type': 'application/json',
    accept: 'application/graphql-response+json, application/json;q=0.9',
  };
  if (options.token) {
    headers.authorization = `Bearer ${options.token}`;
  }
  // persisted: 'auto' without `documents`: the hashes this server did not
  // know, whose documents now go as text.
  const unknownHashes = new Set<string>();

  async function post(body: Record<string, unknown>): Promise<ExecuteResult<never>> {
    const response = await doFetch(options.url, {
      method: 'POST',
      headers,
      body: JSON.stringify(body),
    });
    const text = await response.text();
    let parsed: Omit<ExecuteResult<never>, 'status'>;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw new Error(`HTTP ${response.status}: not a GraphQL response: ${text.slice(0, 200)}`);
    }
    return { ...parsed, status: response.status };
  }

  return {
    async execute(document, ...[variables]) {
      const body: Record<string, unknown> = {
        operationName: operationName(document),
        variables: variables ?? {},
      };
      if (!options.persisted) {
        body.query = documentText(document);
        return post(body);
      }
      const hash = documentHash(document);
      if (!hash) {
        throw new Error(
          `persisted mode needs a document generated with persistedDocuments (no __meta__.hash on ${operationName(document) ?? 'an anonymous operation'})`,
        );
      }
      const persistedQuery = { version: 1, sha256Hash: hash };
      if (options.persisted === 'auto' && unknownHashes.has(hash)) {
        return post({ ...body, query: documentText(document) });
      }
      const first = await post({ ...body, extensions: { persistedQuery } });
      if (options.persisted !== 'auto' || !isPersistedQueryNotFound(first)) return first;
      const text = options.documents?.[hash];
      if (text !== undefined) {
        return post({ ...body, query: text, extensions: { persistedQuery } });
      }
      unknownHashes.add(hash);
      return post({ ...body, query: documentText(document) });
    },
  };
}

/** Whether the server answered that it does not know a persisted query's hash. */
export function isPersistedQueryNotFound(result: ExecuteResult<unknown>): boolean {
  return (
    result.errors?.some(
      (e) => e.extensions?.code === 'PERSISTED_QUERY_NOT_FOUND' || e.message === 'PersistedQueryNotFound',
    ) ?? false
  );
}

/**
 * The text to send for `document`: the manifest's exact text for its hash
 * when `documents` holds it (a server with TRUSTED_DOCUMENTS_ONLY runs that
 * text, over a WebSocket too), else its printed text.
 */
export function persistedText(document: DocumentNode, documents?: Readonly<Record<string, string>>): string {
  const hash = documentHash(document);
  return (hash !== undefined ? documents?.[hash] : undefined) ?? documentText(document);
}
