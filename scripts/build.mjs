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
// The scripts (bench, overhead, demo, docker-env) are ES modules with shared chunks, as they are
// run from dist/ by name. The boot loader is CommonJS, like the shims that require it.
import { build } from 'esbuild';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, rmSync, chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';

// As lib/boot.ts has it (and Node's Module.wrap): the bundles are written inside it.
const WRAPPER = '(function (exports, require, module, __filename, __dirname) { ';

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
const executable = {
  ...common,
  outdir: join(root, 'dist', 'bundle'),
  format: 'cjs',
  outExtension: { '.js': '.cjs' },
  // The bundle runs as CommonJS: import.meta.url is the bundle's own file URL.
  define: { 'import.meta.url': '__jgo_import_meta_url' },
  banner: { js: "var __jgo_import_meta_url = require('node:url').pathToFileURL(__filename).href;" },
  // A vendor bundle is require()d (through boot.ts's loader and code cache), never import()ed:
  // the bundles run as vm.Scripts, which have no dynamic import.
  supported: { 'dynamic-import': false },
};
// Libraries that a run of the pipeline does not use are bundles of their own, dist/bundle/vendor/,
// loaded (through the code cache, by lib/boot.ts) only by a path that needs them: isomorphic-git
// (native git does every operation when it is there), yargs (only an executable given arguments
// parses them) and the openai SDK (jgo doctor; jgo-gate, which asks the model on every run, keeps
// it). Every start read and compiled their 200-490 KB of text for nothing: a start of jgo-sync
// or jgo-codex took 151 ms of CPU with them, 134 ms without.
const VENDOR = { 'isomorphic-git': 'isomorphic-git', 'isomorphic-git/http/node': 'isomorphic-git-http-node', yargs: 'yargs', openai: 'openai' };
const vendored = (inline = []) => ({
  name: 'vendor',
  setup(b) {
    b.onResolve({ filter: /^(isomorphic-git|yargs|openai)(\/.*)?$/ }, (args) => {
      if (inline.includes(args.path)) return undefined;
      const name = VENDOR[args.path];
      if (name === undefined) return { errors: [{ text: `${args.path}: not one of the vendor bundles (scripts/build.mjs VENDOR)` }] };
      return { path: `./vendor/${name}.cjs`, external: true };
    });
  },
});
const gate = join(root, 'cmd', 'jgo-gate.ts');
await build({ ...executable, entryPoints: commands.filter((f) => f !== gate), plugins: [vendored()] });
// jgo-gate's Headers, Response and FormData are lib/web-shims.ts: touching Node's globals loads
// undici, 50-60 ms of CPU a start for a fetch the gate does not use (see web-shims.ts).
await build({ ...executable, entryPoints: [gate], inject: [join(root, 'lib', 'web-shims.ts')], plugins: [vendored(['openai'])] });
for (const [spec, name] of Object.entries(VENDOR)) {
  await build({
    ...executable,
    outdir: undefined,
    outExtension: undefined,
    outfile: join(root, 'dist', 'bundle', 'vendor', `${name}.cjs`),
    // module.exports is the package's default export, with its other exports on it: the
    // executables' bundles import it as Node imports CommonJS (default = module.exports).
    stdin: {
      contents: `const ns = require('${spec}');\nconst d = ns.default;\nif (d !== null && (typeof d === 'object' || typeof d === 'function')) {\n  for (const k of Object.keys(ns)) if (k !== 'default' && !(k in d)) d[k] = ns[k];\n  module.exports = d;\n} else module.exports = ns;\n`,
      resolveDir: root,
      sourcefile: `vendor-${name}.cjs`,
    },
  });
}
await build({
  ...common,
  entryPoints: entry('scripts'),
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
await build({ ...common, entryPoints: [join(root, 'lib', 'boot.ts')], outfile: join(root, 'dist', 'lib', 'boot.cjs'), format: 'cjs' });
// One regular expression of isomorphic-git comes out of esbuild with a raw U+FFFF in it. A bundle
// that is all ASCII is read as one-byte text (lib/boot.ts); one non-ASCII character makes every
// start decode half a megabyte of UTF-8 and hand V8 a two-byte source: 4-6 ms, and twice the memory.
// The escape means the same character inside a regular expression.
//
// Each bundle is written as the function Node's CommonJS loader would wrap it in (boot.ts's
// WRAPPER), with its #! line made a comment: boot.ts compiles the file's text as it is. Wrapping
// at every start made V8 copy the whole source into one flat string before compiling it: 100
// page faults and 1.3 ms a start. The positions of the source map are those of the wrapped text.
const bundles = [
  ...readdirSync(join(root, 'dist', 'bundle')).filter((f) => f.endsWith('.cjs')),
  ...readdirSync(join(root, 'dist', 'bundle', 'vendor')).filter((f) => f.endsWith('.cjs')).map((f) => join('vendor', f)),
];
for (const file of bundles) {
  const path = join(root, 'dist', 'bundle', file);
  const text = readFileSync(path, 'utf8');
  const ascii = text.replaceAll('[\\ud800-\uffff]', '[\\ud800-\\uffff]');
  if (/[^\x00-\x7f]/.test(ascii)) console.warn(`build: ${file} is not ASCII: its starts decode it as UTF-8`);
  const body = ascii.startsWith('#!') ? `//${ascii.slice(2)}` : ascii;
  writeFileSync(path, `${WRAPPER}${body}\n});`);
}
// The shims are CommonJS (a CommonJS entry starts a few ms sooner than an ES module).
mkdirSync(join(root, 'dist', 'cmd'), { recursive: true });
writeFileSync(join(root, 'dist', 'cmd', 'package.json'), '{ "type": "commonjs" }\n');
for (const file of commands) {
  const name = basename(file, '.ts');
  const shim = join(root, 'dist', 'cmd', `${name}.js`);
  // The bundle's digest names its code cache (see boot.ts): computed once here, not at every start.
  const digest = createHash('sha256').update(readFileSync(join(root, 'dist', 'bundle', `${name}.cjs`))).digest('hex').slice(0, 16);
  writeFileSync(shim, `#!/usr/bin/env node\nrequire('../lib/boot.cjs').boot(__filename, ${JSON.stringify(name)}, ${JSON.stringify(digest)});\n`);
  chmodSync(shim, 0o755);
}
// The vendor bundles' digests, for their code caches' names (boot.ts reads this file when it
// first loads one).
const digests = Object.fromEntries(
  Object.values(VENDOR).map((name) => [name, createHash('sha256').update(readFileSync(join(root, 'dist', 'bundle', 'vendor', `${name}.cjs`))).digest('hex').slice(0, 16)]),
);
writeFileSync(join(root, 'dist', 'bundle', 'vendor', 'digests.json'), `${JSON.stringify(digests, null, 2)}\n`);
