#!/usr/bin/env node
// Builds dist/ with esbuild: each cmd/<name>.ts becomes dist/cmd/<name>.js (the package's `bin`),
// each scripts/<name>.ts dist/scripts/<name>.js, with the code they share in dist/chunks/.
// Every runtime dependency is bundled in, so dist/ runs without node_modules (the image ships
// only dist/). A lazy import() stays lazy: it becomes a chunk of its own, loaded when called.
//
//   node scripts/build.mjs [outdir]      (default: dist)
//
// The output is made beside the old one and then put in its place, so that a test or a bench
// running from dist/ while someone rebuilds sees one build or the other, not an empty directory.
import { build } from 'esbuild';
import { chmodSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const out = resolve(root, process.argv[2] ?? 'dist');
const entries = (dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(root, dir, f));

const fresh = `${out}.building-${process.pid}`;
rmSync(fresh, { recursive: true, force: true });
await build({
  entryPoints: [...entries('cmd'), ...entries('scripts')],
  outdir: fresh,
  outbase: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node22',
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS code (cross-spawn, isomorphic-git's dependencies) calls require() for Node's
  // built-ins: an ES module has no require of its own, so it is given one.
  banner: {
    js: "import { createRequire as __jgoCreateRequire } from 'node:module'; const require = __jgoCreateRequire(import.meta.url);",
  },
});
for (const file of entries('cmd')) chmodSync(join(fresh, 'cmd', `${basename(file, '.ts')}.js`), 0o755);

// Another build may put its output in place between the two renames: then this one's goes in again.
const old = `${out}.old-${process.pid}`;
for (let attempt = 0; ; attempt++) {
  try {
    renameSync(out, old);
  } catch (error) {
    if (error.code !== 'ENOENT') throw error;
  }
  try {
    renameSync(fresh, out);
    break;
  } catch (error) {
    if ((error.code !== 'ENOTEMPTY' && error.code !== 'EEXIST') || attempt === 5) throw error;
  } finally {
    rmSync(old, { recursive: true, force: true });
  }
}
