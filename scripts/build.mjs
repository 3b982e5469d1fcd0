#!/usr/bin/env node
// Builds dist/ with esbuild.
//
// The executables: each cmd/<name>.ts becomes one CommonJS bundle, dist/bundle/<name>.cjs, and
// dist/cmd/<name>.js is a shim that runs it through lib/boot.ts, which compiles it with a V8
// code cache (Node 20 has none for modules; see boot.ts). One file per executable, because
// resolving and compiling hundreds of small module files (yargs, zod, the openai SDK)
// dominates start-up; heavy libraries stay behind lazy imports inside the bundle, so a path that
// does not need them (`jgo-gate --help`) never runs their code.
//
// The scripts (bench, overhead, demo, docker-env) and the boot loader itself are ES modules with
// shared chunks, as they are run from dist/ by name.
import { build } from 'esbuild';
import { readdirSync, rmSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

const root = new URL('..', import.meta.url).pathname;
const entry = (dir) =>
  readdirSync(join(root, dir))
    .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts'))
    .map((f) => join(root, dir, f));
const common = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  minify: true,
  logLevel: 'warning',
  // string-width makes an Intl.Segmenter at import (ICU data, 60-80 ms a start); ours is lazy.
  alias: { 'string-width': join(root, 'lib', 'vendor', 'string-width.ts') },
};

rmSync(join(root, 'dist'), { recursive: true, force: true });
const commands = entry('cmd');
await build({
  ...common,
  entryPoints: commands,
  outdir: join(root, 'dist', 'bundle'),
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // The bundle runs as CommonJS: import.meta.url is the bundle's own file URL.
  define: { 'import.meta.url': '__jgo_import_meta_url' },
  banner: { js: "var __jgo_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
});
await build({
  ...common,
  entryPoints: [...entry('scripts'), join(root, 'lib', 'boot.ts')],
  outdir: join(root, 'dist'),
  outbase: root,
  splitting: true,
  format: 'esm',
  chunkNames: 'chunks/[name]-[hash]',
  // Bundled CommonJS code (cross-spawn, isomorphic-git's deps) calls require() for Node
  // built-ins; give the ESM output a real require.
  banner: {
    js: "import { createRequire as __jgoCreateRequire } from 'node:module'; const require = __jgoCreateRequire(import.meta.url);",
  },
});
mkdirSync(join(root, 'dist', 'cmd'), { recursive: true });
for (const file of commands) {
  const name = basename(file, '.ts');
  const shim = join(root, 'dist', 'cmd', `${name}.js`);
  writeFileSync(shim, `#!/usr/bin/env node\nimport { boot } from '../lib/boot.js';\nboot(import.meta.url, ${JSON.stringify(name)});\n`);
  chmodSync(shim, 0o755);
}
