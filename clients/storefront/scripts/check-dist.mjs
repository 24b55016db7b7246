// `npm run check`: fails unless dist/ is exactly what `npm run build` makes
// from the sources today (built into a temporary directory and compared
// file by file), so that the files the server embeds cannot drift from
// src/, styles/, ../typescript/src and the lockfile.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const committed = join(root, 'dist');
const fresh = mkdtempSync(join(tmpdir(), 'storefront-build-'));

function files(dir) {
  const found = [];
  const walk = (d) => {
    for (const name of readdirSync(d)) {
      const path = join(d, name);
      if (statSync(path).isDirectory()) walk(path);
      else found.push(relative(dir, path));
    }
  };
  try {
    walk(dir);
  } catch {
    // a missing dist/ holds nothing
  }
  return found;
}

const problems = [];
try {
  try {
    execFileSync(process.execPath, [join(root, 'scripts', 'build.mjs'), fresh], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    console.error(`${error.stdout ?? ''}${error.stderr ?? ''}`);
    console.error('the build fails on the sources as they are now.');
    process.exit(1);
  }
  const names = new Set([...files(committed), ...files(fresh)]);
  for (const name of [...names].sort()) {
    let before;
    let after;
    try {
      before = readFileSync(join(committed, name));
    } catch {
      problems.push(`dist/${name} is missing`);
      continue;
    }
    try {
      after = readFileSync(join(fresh, name));
    } catch {
      problems.push(`dist/${name} is no longer built`);
      continue;
    }
    if (!before.equals(after)) {
      let at = 0;
      while (at < before.length && before[at] === after[at]) at++;
      problems.push(
        `dist/${name} differs from a fresh build (${before.length} B committed, ${after.length} B built), first at byte ${at}:\n` +
          `  committed: ${JSON.stringify(before.subarray(Math.max(0, at - 40), at + 80).toString('utf8'))}\n` +
          `  built:     ${JSON.stringify(after.subarray(Math.max(0, at - 40), at + 80).toString('utf8'))}`,
      );
    }
  }
} finally {
  rmSync(fresh, { recursive: true, force: true });
}

if (problems.length > 0) {
  console.error(problems.join('\n'));
  console.error('\ndist/ is stale: run `npm run build` and commit the result.');
  process.exit(1);
}
console.log('dist/ is what the sources build today');
