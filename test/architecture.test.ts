/**
 * docs/architecture.md's rules, held by reading the imports: the lower layers and the core never
 * import a stage or the harness, lib/run/ composes stage processes and never imports a stage,
 * and no file but lib/config.ts (and the doctor, which reports where each value came from)
 * reads a setting by name.
 */
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const root = join(import.meta.dirname, '..');

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    return e.isDirectory() ? files(path) : e.name.endsWith('.ts') ? [path] : [];
  });
}

/** Every module specifier a file imports, statically or with import(), types included. */
function imports(file: string): string[] {
  const text = readFileSync(join(root, file), 'utf8');
  return [...text.matchAll(/(?:from\s+|import\s*\(\s*|import\s+)'([^']+)'/g)].map((m) => m[1] as string);
}

const LOWER = ['lib/git', 'lib/codex', 'lib/github', 'lib/ship'].flatMap(files).concat(['lib/llm.ts']);
const CORE = ['envelope', 'errors', 'config', 'authority', 'repo-ref', 'cache', 'redact', 'zod', 'trace', 'needles', 'fsutil', 'proc', 'model-json', 'format', 'json-where'].map((n) => `lib/${n}.ts`);

t.test('the lower layers and the core never import a stage or the harness', async (t) => {
  const bad = [...LOWER, ...CORE].flatMap((file) =>
    imports(file)
      .filter((spec) => /(^|\/)stages\/|(^|\/)stage\.js$|(^|\/)run\/|(^|\/)doctor/.test(spec))
      .map((spec) => `${file} imports ${spec}`),
  );
  t.ok(LOWER.length > 20, `the lower layers are found (${LOWER.length} files)`);
  t.same(bad, []);
});

t.test('the core imports nothing above it', async (t) => {
  const above = /(^|\/)(git|codex|github|ship|stages|run|doctor)\/|(^|\/)(llm|stage|cli|doctor)\.js$/;
  const bad = CORE.flatMap((file) => imports(file).filter((spec) => above.test(spec)).map((spec) => `${file} imports ${spec}`));
  t.same(bad, []);
});

t.test('lib/run/ composes stage processes: it never imports a stage', async (t) => {
  const bad = files('lib/run').flatMap((file) => imports(file).filter((spec) => /stages\//.test(spec)).map((spec) => `${file} imports ${spec}`));
  t.same(bad, []);
});

t.test('settings are read by name in lib/config.ts only (the doctor shows where each came from)', async (t) => {
  // jgo's own environment, as the harness, the commands and the layers' contexts hold it (a
  // codex environment being built, `env.CODEX_HOME = …`, is not a setting read).
  const reader = /\bsettings\.(get|first|lookup)\(|\b(?:process|io|ctx|context|input)\.env\.(JGO_|GITHUB_TOKEN|GH_TOKEN|OPENAI_|CODEX_)[A-Z_]*/g;
  // Read before any settings exist, from the process environment (docs/settings.md, Diagnostics).
  const early = new Set(['env.JGO_TRACE', 'env.JGO_DEBUG', 'env.JGO_CODE_CACHE', 'env.JGO_CACHE_DIR', 'env.JGO_ENV_FILE']);
  const allowed = (file: string) => file === 'lib/config.ts' || file.startsWith('lib/doctor');
  const bad: string[] = [];
  for (const file of [...files('lib'), ...files('cmd')]) {
    if (allowed(file)) continue;
    const code = readFileSync(join(root, file), 'utf8').replace(/^\s*(\*|\/\/).*$/gm, '');
    for (const m of code.matchAll(reader)) {
      const what = m[0].replace(/^\w+\./, '');
      if (!early.has(what)) bad.push(`${relative(root, join(root, file))}: ${m[0]}`);
    }
  }
  t.same(bad, []);
});

t.test('lib/serve/ runs jgo as processes: it never imports a stage or the stage harness', async (t) => {
  const serve = files('lib/serve');
  t.ok(serve.length >= 5, `lib/serve is found (${serve.length} files)`);
  const bad = serve.flatMap((file) => imports(file).filter((spec) => /(^|\/)stages\/|(^|\/)stage\.js$/.test(spec)).map((spec) => `${file} imports ${spec}`));
  t.same(bad, []);
});
