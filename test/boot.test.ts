/** lib/boot.ts: the executables start through a V8 code cache that is safe to lose or to find broken. */
import t from 'tap';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, utimesSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir } from './helpers/run.js';
import { WRAPPER } from '../lib/boot.js';

const gate = bin('jgo-gate');
const traced = (stderr: string) => [...stderr.matchAll(/ code cache (\w+)/g)].map((m) => m[1]);

t.test('the first run writes the cache, the next one uses it; a damaged cache is rejected and rewritten', async (t) => {
  const home = tempDir(t);
  const cache = tempDir(t);
  const env = { ...baseEnv(home), JGO_CACHE_DIR: cache, JGO_TRACE: '1' };
  // Left by earlier builds: jgo-gate's is replaced, jgo's (another executable) is not touched.
  mkdirSync(join(cache, 'code-cache'), { mode: 0o700 });
  writeFileSync(join(cache, 'code-cache', 'jgo-gate-10.2.154.26-node.26-x64-0123456789abcdef.bin'), 'old');
  writeFileSync(join(cache, 'code-cache', 'jgo-10.2.154.26-node.26-x64-0123456789abcdef.bin'), 'old');
  const first = await runProcess(gate, { args: ['--version'], env });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^\d+\.\d+\.\d+\n$/);
  t.same(traced(first.stderr), ['missing', 'written']);
  const files = readdirSync(join(cache, 'code-cache')).filter((f) => f.startsWith('jgo-gate-'));
  t.match(files, [/^jgo-gate-\d.+-[0-9a-f]{16}-[0-9a-z]+\.bin$/], "one file, named by the bundle; the earlier build's is gone");
  t.ok(existsSync(join(cache, 'code-cache', 'jgo-10.2.154.26-node.26-x64-0123456789abcdef.bin')), "another executable's cache is not touched");

  const second = await runProcess(gate, { args: ['--version'], env });
  t.equal(second.stdout, first.stdout);
  t.same(traced(second.stderr), ['used'], 'used, and not written again');

  writeFileSync(join(cache, 'code-cache', files[0]!), 'not a code cache at all');
  const damaged = await runProcess(gate, { args: ['--version'], env });
  t.equal(damaged.code, 0, damaged.stderr);
  t.equal(damaged.stdout, first.stdout, 'the executable runs as if there were no cache');
  t.same(traced(damaged.stderr), ['rejected', 'written']);
  const again = await runProcess(gate, { args: ['--version'], env });
  t.same(traced(again.stderr), ['used'], 'and the rewritten cache is good');
});

t.test('no cache from a directory others can write, nor with JGO_CODE_CACHE=0', async (t) => {
  const home = tempDir(t);
  const cache = tempDir(t);
  mkdirSync(join(cache, 'code-cache'));
  chmodSync(join(cache, 'code-cache'), 0o777);
  const shared = await runProcess(gate, { args: ['--version'], env: { ...baseEnv(home), JGO_CACHE_DIR: cache, JGO_TRACE: '1' } });
  t.equal(shared.code, 0, shared.stderr);
  t.same(traced(shared.stderr), ['off'], 'a cache is code: not from a directory another user could write');
  t.same(readdirSync(join(cache, 'code-cache')), []);

  const other = tempDir(t);
  const off = await runProcess(gate, { args: ['--version'], env: { ...baseEnv(home), JGO_CACHE_DIR: other, JGO_CODE_CACHE: '0', JGO_TRACE: '1' } });
  t.equal(off.code, 0, off.stderr);
  t.same(traced(off.stderr), ['off']);
  t.notOk(existsSync(join(other, 'code-cache')), 'nothing made');
});

t.test('the cache belongs to the build (the digest the shim carries) and to the bundle as it is on disk', async (t) => {
  // A copy of jgo-gate as installed: shim, boot loader, bundle.
  const tree = tempDir(t);
  for (const part of ['cmd/jgo-gate.js', 'cmd/package.json', 'lib/boot.cjs', 'bundle/jgo-gate.cjs', 'bundle/vendor/yargs.cjs', 'bundle/vendor/digests.json']) {
    mkdirSync(join(tree, dirname(part)), { recursive: true });
    copyFileSync(join(dirname(gate), '..', part), join(tree, part));
  }
  const shim = join(tree, 'cmd', 'jgo-gate.js');
  t.match(readFileSync(shim, 'utf8'), /boot\(__filename, "jgo-gate", "[0-9a-f]{16}"\)/, 'the build wrote the digest into the shim');
  const cache = tempDir(t);
  const env = { ...baseEnv(tempDir(t)), JGO_CACHE_DIR: cache, JGO_TRACE: '1' };
  const names = () => readdirSync(join(cache, 'code-cache')).filter((f) => f.startsWith('jgo-gate-'));
  t.same(traced((await runProcess(shim, { args: ['--version'], env })).stderr), ['missing', 'written']);
  t.same(traced((await runProcess(shim, { args: ['--version'], env })).stderr), ['used']);
  const before = names();
  // Edited after the build (same digest in the shim): the old cache is not used for it.
  const later = new Date(Date.now() + 60_000);
  utimesSync(join(tree, 'bundle', 'jgo-gate.cjs'), later, later);
  const edited = await runProcess(shim, { args: ['--version'], env });
  t.equal(edited.code, 0, edited.stderr);
  t.same(traced(edited.stderr), ['missing', 'written']);
  t.equal(names().length, 1);
  t.not(names()[0], before[0], 'a cache of its own, the old one gone');
  // A shim of an older build, without a digest: the bundle is hashed at start instead.
  writeFileSync(shim, "#!/usr/bin/env node\nrequire('../lib/boot.cjs').boot(__filename, \"jgo-gate\");\n");
  t.same(traced((await runProcess(shim, { args: ['--version'], env })).stderr), ['missing', 'written']);
  t.same(traced((await runProcess(shim, { args: ['--version'], env })).stderr), ['used']);
  t.match(names(), [/^jgo-gate-\d.+-[0-9a-f]{16}\.bin$/], 'named by the hash alone');
});

t.test('every bundle is ASCII, so that a start reads it as one-byte text', async (t) => {
  const dir = join(dirname(bin('jgo')), '..', 'bundle');
  const bundles = readdirSync(dir).filter((f) => f.endsWith('.cjs'));
  t.ok(bundles.length >= 6);
  for (const file of bundles) {
    const bytes = readFileSync(join(dir, file));
    t.equal(bytes.findIndex((b) => b > 0x7f), -1, `${file}: no byte above 0x7f`);
  }
});

t.test('every bundle is written inside the CommonJS wrapper, and a bundle that is not still runs', async (t) => {
  const dir = join(dirname(bin('jgo')), '..', 'bundle');
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cjs'))) {
    const text = readFileSync(join(dir, file), 'latin1');
    t.ok(text.startsWith(WRAPPER), `${file} starts inside the wrapper, so that a start compiles it as read`);
    t.ok(text.endsWith('\n});'), `${file} closes the wrapper`);
    t.notMatch(text, /^[^\n]*#!/, `${file}: its #! line is a comment`);
  }
  // A bundle as esbuild writes it (an older build's): boot wraps it itself.
  const tree = tempDir(t);
  for (const part of ['cmd/jgo-gate.js', 'cmd/package.json', 'lib/boot.cjs', 'bundle/jgo-gate.cjs', 'bundle/vendor/yargs.cjs', 'bundle/vendor/digests.json']) {
    mkdirSync(join(tree, dirname(part)), { recursive: true });
    copyFileSync(join(dirname(gate), '..', part), join(tree, part));
  }
  const bundle = join(tree, 'bundle', 'jgo-gate.cjs');
  const wrapped = readFileSync(bundle, 'latin1');
  writeFileSync(bundle, `#!${wrapped.slice(WRAPPER.length + '//'.length, -'\n});'.length)}`);
  t.ok(readFileSync(bundle, 'latin1').startsWith('#!/usr/bin/env node\n'));
  const env = { ...baseEnv(tempDir(t)), JGO_CACHE_DIR: tempDir(t) };
  const run = await runProcess(join(tree, 'cmd', 'jgo-gate.js'), { args: ['--version'], env });
  t.equal(run.code, 0, run.stderr);
  t.match(run.stdout, /^\d+\.\d+\.\d+\n$/);
});

t.test('the libraries a run does not use are bundles of their own, loaded through their own code cache when needed', async (t) => {
  const dir = join(dirname(bin('jgo')), '..', 'bundle');
  // A string of each library's own code, and the executables whose bundle may hold it.
  const libraries = [
    { vendor: 'yargs', marker: 'Not enough non-option arguments', inline: [] as string[] },
    { vendor: 'isomorphic-git', marker: 'git/isomorphic-git', inline: [] as string[] },
    { vendor: 'openai', marker: 'OPENAI_ADMIN_KEY` environment variable', inline: ['jgo-gate.cjs'] },
  ];
  for (const { vendor, marker, inline } of libraries) {
    t.ok(readFileSync(join(dir, 'vendor', `${vendor}.cjs`), 'latin1').includes(marker), `${vendor} is in vendor/${vendor}.cjs`);
    for (const file of readdirSync(dir).filter((f) => f.endsWith('.cjs'))) {
      t.equal(readFileSync(join(dir, file), 'latin1').includes(marker), inline.includes(file), `${file} ${inline.includes(file) ? 'holds' : 'does not hold'} ${vendor}`);
    }
  }
  const digests = JSON.parse(readFileSync(join(dir, 'vendor', 'digests.json'), 'utf8')) as Record<string, string>;
  t.match(digests, { yargs: /^[0-9a-f]{16}$/, 'isomorphic-git': /^[0-9a-f]{16}$/, 'isomorphic-git-http-node': /^[0-9a-f]{16}$/, openai: /^[0-9a-f]{16}$/ });

  // yargs, needed by an executable given arguments: its cache is written once, then used.
  const cache = tempDir(t);
  const env = { ...baseEnv(tempDir(t)), JGO_CACHE_DIR: cache, JGO_TRACE: '1' };
  const vendorLines = (stderr: string) => [...stderr.matchAll(/ vendor-yargs: cached code (\w+)/g)].map((m) => m[1]);
  const first = await runProcess(bin('jgo-worktree'), { args: ['--help'], env });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /--base/, 'the help yargs made');
  t.same(vendorLines(first.stderr), ['missing', 'written']);
  t.same(traced(first.stderr), ['missing', 'written'], "the executable's own cache, told apart");
  const again = await runProcess(bin('jgo-worktree'), { args: ['--help'], env });
  t.equal(again.stdout, first.stdout);
  t.same(vendorLines(again.stderr), ['used']);
  t.ok(readdirSync(join(cache, 'code-cache')).some((f) => f.startsWith(`vendor-yargs-`) && f.includes(digests.yargs!)), 'named by the digest the build wrote');
  // A run of the pipeline's stage, with no arguments, loads none of them.
  const plain = await runProcess(bin('jgo-worktree'), { input: '{"jgo":1,"error":{"stage":"gate","code":"x","message":"m","exit_code":1}}', env });
  t.notMatch(plain.stderr, /vendor-/, 'no vendor bundle loaded');
});
