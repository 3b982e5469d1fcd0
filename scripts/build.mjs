#!/usr/bin/env node
// Bundles every executable in cmd/ (and the scripts that run from dist/) with esbuild.
// Why bundle: resolving and compiling hundreds of small module files (yargs, zod, the
// openai SDK) dominates start-up on Node 20, which has no compile cache. One file per
// entry point, with heavy libraries split into chunks that are imported only by the
// code path that needs them, keeps `jgo-gate --help` close to `node -e 0`.
import { build } from 'esbuild';
import { readdirSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entry = (dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(root, dir, f));

rmSync(join(root, 'dist'), { recursive: true, force: true });
const result = await build({
  entryPoints: [...entry('cmd'), ...entry('scripts')],
  outdir: join(root, 'dist'),
  outbase: root,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minify: true,
  chunkNames: 'chunks/[name]-[hash]',
  logLevel: 'warning',
  metafile: true,
  // string-width makes an Intl.Segmenter at import (ICU data, 60-80 ms a start); ours is lazy.
  alias: { 'string-width': join(root, 'lib', 'vendor', 'string-width.ts') },
  // Bundled CommonJS code (cross-spawn, isomorphic-git's deps) calls require() for Node
  // built-ins; give the ESM output a real require.
  banner: {
    js: "import { createRequire as __jgoCreateRequire } from 'node:module'; const require = __jgoCreateRequire(import.meta.url);",
  },
});
for (const out of Object.keys(result.metafile.outputs)) {
  if (/dist\/cmd\/[^/]+\.js$/.test(out)) chmodSync(join(root, out), 0o755);
}
