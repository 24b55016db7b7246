// graphql-codegen's configuration: the client preset over the repository's
// schema.graphql and the operations in src/operations.ts, written to src/gql/
// (committed; `npm run check` fails when regenerating would change it).
//
// CODEGEN_OUT overrides the output directory: `npm run check` generates into
// a temporary directory and compares it with src/gql/.
import { createHash } from 'node:crypto';
import type { CodegenConfig } from '@graphql-codegen/cli';

const out = process.env.CODEGEN_OUT ?? 'src/gql/';

const config: CodegenConfig = {
  schema: '../../schema.graphql',
  documents: ['src/operations.ts'],
  ignoreNoDocuments: false,
  // Imports with .js extensions, as Node's ESM resolution (NodeNext) needs.
  emitLegacyCommonJSImports: false,
  generates: {
    [out.endsWith('/') ? out : `${out}/`]: {
      preset: 'client',
      config: {
        // The API's two custom scalars, as they travel in JSON:
        // Money: an exact integer amount in the currency's smallest unit,
        //   as a string of decimal digits ("15000"); never a JS number,
        //   which would lose precision past 2^53. (Inputs also accept an
        //   Int, but a string is always right.)
        // DateTime: an RFC 3339 string with offset
        //   ("2026-11-23T09:30:00Z"); `new Date(value)` parses it.
        scalars: {
          Money: 'string',
          DateTime: 'string',
        },
        // Any other custom scalar added to the schema fails codegen instead
        // of silently becoming `any`/`unknown`.
        strictScalars: true,
        // Enums as string unions ('PENDING' | 'PAID' | ...): no runtime
        // objects, and plain strings from JSON type-check as they are.
        enumsAsTypes: true,
        useTypeImports: true,
        skipTypename: false,
      },
      presetConfig: {
        // Plain result types: fields of fragments are readable without
        // useFragment().
        fragmentMasking: false,
        // Each document gets __meta__.hash, the SHA-256 of its printed
        // text, and persisted-documents.json maps every hash to that text:
        // the manifest the server loads as TRUSTED_DOCUMENTS.
        //
        // A function rather than `hashAlgorithm: 'sha256'`: with 'sha256'
        // this preset writes `sha256:<hex>` into __meta__.hash (the
        // GraphQL-over-HTTP persisted-documents id), while a request names
        // a document as Apollo's persisted queries do, by the bare
        // lowercase hex SHA-256 in extensions.persistedQuery.sha256Hash.
        // (The server reads a manifest with prefixed keys too.)
        persistedDocuments: {
          hashAlgorithm: (text: string) => createHash('sha256').update(text, 'utf8').digest('hex'),
        },
      },
    },
  },
};

export default config;
