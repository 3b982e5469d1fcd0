/**
 * jgo gc's choice of what to remove, and how: runs begun after the cut-off are passed over by
 * their id alone (their journals are not read), finished old runs and their working copies go,
 * a run in progress stays, and trees go with the system's rm.
 */
import t from 'tap';
import { existsSync, mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { collectGarbage, stampMs } from '../../lib/run/gc.js';
import { removeTrees } from '../../lib/fsutil.js';
import { tempDir } from '../helpers/run.js';

const DAY = 24 * 3600 * 1000;
const NOW = Date.UTC(2026, 11, 7, 12, 0, 0);

function run(cache: string, id: string, record: Record<string, unknown>, files = 0): void {
  mkdirSync(join(cache, 'runs', id), { recursive: true });
  writeFileSync(join(cache, 'runs', id, 'run.json'), JSON.stringify({ run_id: id, request: 'r', host: hostname(), pid: 1, status: 'done', ...record }));
  if (files > 0) {
    const repo = join(cache, 'work', id, 'repo', 'src');
    mkdirSync(repo, { recursive: true });
    for (let i = 0; i < files; i++) writeFileSync(join(repo, `f${i}.txt`), 'x'.repeat(4096));
  }
}

t.test('run ids tell when their runs began', async (t) => {
  t.equal(stampMs('20261207-120000-ab12'), NOW);
  t.equal(stampMs('not-a-run'), undefined);
});

t.test('what gc removes, and what it passes over without reading', async (t) => {
  const cache = tempDir(t);
  const iso = (ms: number) => new Date(ms).toISOString();
  run(cache, '20261120-100000-aaaa', { started: iso(NOW - 17 * DAY), ended: iso(NOW - 17 * DAY) }, 50);
  // Begun yesterday, though its record says it ended long ago: only its id is looked at.
  run(cache, '20261206-100000-bbbb', { started: iso(NOW - 30 * DAY), ended: iso(NOW - 30 * DAY) });
  // Old, and still running in this process: kept.
  run(cache, '20261101-100000-cccc', { started: iso(NOW - 36 * DAY), status: 'running', pid: process.pid });
  // A working copy with no journal, last touched long ago.
  mkdirSync(join(cache, 'work', '20261102-100000-dddd', 'repo'), { recursive: true });
  utimesSync(join(cache, 'work', '20261102-100000-dddd'), new Date(NOW - 35 * DAY), new Date(NOW - 35 * DAY));
  const result = await collectGarbage(cache, 7, NOW);
  t.same(result.removed, ['20261102-100000-dddd', '20261120-100000-aaaa']);
  t.notOk(existsSync(join(cache, 'work', '20261120-100000-aaaa')), 'its working copy is gone');
  t.notOk(existsSync(join(cache, 'runs', '20261120-100000-aaaa')), 'and its journal');
  t.ok(existsSync(join(cache, 'runs', '20261206-100000-bbbb')), 'a run begun after the cut-off is kept, whatever its record says');
  t.ok(existsSync(join(cache, 'runs', '20261101-100000-cccc')), 'a run in progress is kept');
  t.ok(result.bytes >= 0, `about ${result.bytes} bytes freed`);
  const all = await collectGarbage(cache, 0, NOW);
  t.same(all.removed, ['20261206-100000-bbbb'], '--days 0: every finished run');
});

t.test('removeTrees removes deep trees, and paths that are not there are fine', async (t) => {
  const dir = tempDir(t);
  const deep = join(dir, 'a', ...Array.from({ length: 30 }, (_, i) => `d${i}`));
  mkdirSync(deep, { recursive: true });
  writeFileSync(join(deep, 'file'), 'x');
  await removeTrees([join(dir, 'a'), join(dir, 'missing')]);
  t.notOk(existsSync(join(dir, 'a')));
});
