/**
 * The executables start with Node's compile cache (lib/cli.ts startCompileCache), in
 * $JGO_CACHE_DIR/compile-cache, and never fail for the want of one.
 */
import t from 'tap';
import { chmodSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import nodeModule from 'node:module';
import { join } from 'node:path';
import { compileCacheDir } from '../lib/cli.js';
import { bin, baseEnv, runProcess, tempDir } from './helpers/run.js';

const gate = bin('jgo-gate');
const said = (stderr: string) => /compile cache (\w+)/.exec(stderr)?.[1];
// module.enableCompileCache came with Node 22.1; an older Node runs without the cache.
const nodeHasIt = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function';

t.test('the directory: in the cache directory once that exists, this user\'s and no one else\'s to write', async (t) => {
  const cache = tempDir(t);
  t.equal(compileCacheDir({ JGO_CACHE_DIR: cache }), join(cache, 'compile-cache'));
  t.ok(existsSync(join(cache, 'compile-cache')), 'made');
  t.equal(compileCacheDir({ JGO_CACHE_DIR: cache, JGO_CODE_CACHE: '0' }), undefined, 'JGO_CODE_CACHE=0 turns it off');
  t.equal(compileCacheDir({ JGO_CACHE_DIR: join(cache, 'not-yet') }), undefined, 'a cache directory not made yet: none (the settings make it)');
  t.notOk(existsSync(join(cache, 'not-yet')));
  t.equal(compileCacheDir({ JGO_CACHE_DIR: '/proc/x' }), undefined, 'a path that cannot exist: none, at once');
  const shared = tempDir(t);
  mkdirSync(join(shared, 'compile-cache'));
  chmodSync(join(shared, 'compile-cache'), 0o777);
  t.equal(compileCacheDir({ JGO_CACHE_DIR: shared }), undefined, 'a directory others can write: none (a cache is code)');
  const home = tempDir(t);
  mkdirSync(join(home, '.cache', 'jgo'), { recursive: true });
  const fallback = compileCacheDir({ HOME: home });
  t.ok(fallback === '/jgo-cache/compile-cache' || fallback === join(home, '.cache', 'jgo', 'compile-cache') || fallback === undefined, 'without JGO_CACHE_DIR: the default, else the per-user directory');
});

t.test('an executable fills the cache and starts from it; without one it runs the same', async (t) => {
  const home = tempDir(t);
  const cache = tempDir(t);
  const env = { ...baseEnv(home), JGO_CACHE_DIR: cache, JGO_TRACE: '1' };
  const first = await runProcess(gate, { args: ['--version'], env });
  t.equal(first.code, 0, first.stderr);
  t.match(first.stdout, /^\d+\.\d+\.\d+\n$/);
  if (nodeHasIt) {
    t.equal(said(first.stderr), 'on');
    t.ok(readdirSync(join(cache, 'compile-cache')).length > 0, 'the cache was written');
  } else {
    t.equal(said(first.stderr), 'off', `Node ${process.version} has no compile cache`);
  }
  const again = await runProcess(gate, { args: ['--version'], env });
  t.equal(again.stdout, first.stdout);
  const off = await runProcess(gate, { args: ['--version'], env: { ...env, JGO_CODE_CACHE: '0' } });
  t.equal(off.code, 0);
  t.equal(off.stdout, first.stdout);
  t.equal(said(off.stderr), 'off');
});
