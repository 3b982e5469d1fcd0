/** lib/boot.ts: the executables start through a V8 code cache that is safe to lose or to find broken. */
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir } from './helpers/run.js';

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
  t.match(files, [/^jgo-gate-\d.+-[0-9a-f]{16}\.bin$/], "one file, named by the bundle; the earlier build's is gone");
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
