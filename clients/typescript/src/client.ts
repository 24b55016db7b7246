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
// src/gql/persisted-documents.json as its TRUSTED_DOCUMENTS.
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
   * Send only each document's SHA-256 (its `__meta__.hash`), never its
   * text: for a server whose TRUSTED_DOCUMENTS is this package's
   * persisted-documents.json. Default false: the text is sent.
   */
  persisted?: boolean;
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
  return {
    async execute(document, ...[variables]) {
      const body: Record<string, unknown> = {
        operationName: operationName(document),
        variables: variables ?? {},
      };
      if (options.persisted) {
        const hash = documentHash(document);
        if (!hash) {
          throw new Error(
            `persisted mode needs a document generated with persistedDocuments (no __meta__.hash on ${operationName(document) ?? 'an anonymous operation'})`,
          );
        }
        body.extensions = { persistedQuery: { version: 1, sha256Hash: hash } };
      } else {
        body.query = documentText(document);
      }
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
    },
  };
}
