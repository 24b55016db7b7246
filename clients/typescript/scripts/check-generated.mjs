// `npm run check`: fails unless src/gql/ is exactly what `npm run codegen`
// makes from ../../schema.graphql and src/operations.ts today, so that the
// committed client cannot drift from the schema; and unless the manifest
// src/gql/persisted-documents.json is in the form the server's
// TRUSTED_DOCUMENTS accepts (each key the lowercase hex SHA-256 of its
// document's exact text, as TrustedDocuments::from_json checks it).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'src', 'gql');
const fresh = mkdtempSync(join(tmpdir(), 'commerce-codegen-'));
let problems = [];
try {
  try {
    execFileSync(join(root, 'node_modules', '.bin', 'graphql-codegen'), ['--config', 'codegen.ts'], {
      cwd: root,
      env: { ...process.env, CODEGEN_OUT: fresh },
      stdio: ['ignore', 'pipe', 'pipe'],
      encoding: 'utf8',
    });
  } catch (error) {
    // Its output says why: an operation that no longer validates against
    // the schema, a custom scalar without a mapping (strictScalars), ...
    console.error(`${error.stdout ?? ''}${error.stderr ?? ''}`);
    console.error('codegen fails on schema.graphql and src/operations.ts as they are now.');
    rmSync(fresh, { recursive: true, force: true });
    process.exit(1);
  }
  const names = new Set([...readdirSync(committed), ...readdirSync(fresh)]);
  for (const name of [...names].sort()) {
    let before;
    let after;
    try {
      before = readFileSync(join(committed, name), 'utf8');
    } catch {
      problems.push(`src/gql/${name} is missing`);
      continue;
    }
    try {
      after = readFileSync(join(fresh, name), 'utf8');
    } catch {
      problems.push(`src/gql/${name} is no longer generated`);
      continue;
    }
    if (before !== after) {
      const a = before.split('\n');
      const b = after.split('\n');
      const line = a.findIndex((l, i) => l !== b[i]);
      problems.push(
        `src/gql/${name} differs from a fresh codegen, first at line ${line + 1}:\n` +
          `  committed: ${(a[line] ?? '<end of file>').slice(0, 160)}\n` +
          `  generated: ${(b[line] ?? '<end of file>').slice(0, 160)}`,
      );
    }
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}

const manifest = JSON.parse(readFileSync(join(committed, 'persisted-documents.json'), 'utf8'));
const entries = Object.entries(manifest);
if (entries.length === 0) problems.push('persisted-documents.json holds no documents');
for (const [hash, text] of entries) {
  if (typeof text !== 'string') {
    problems.push(`persisted-documents.json: ${hash} is not a document text`);
  } else if (hash !== createHash('sha256').update(text, 'utf8').digest('hex')) {
    problems.push(`persisted-documents.json: ${hash} is not the lowercase hex SHA-256 of its document`);
  }
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error('\nsrc/gql/ is stale: run `npm run codegen` and commit the result.');
  process.exit(1);
}
console.log(`src/gql/ is up to date with schema.graphql and src/operations.ts (${entries.length} persisted documents)`);
