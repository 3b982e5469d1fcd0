/** The scan for secret values on disk after a codex run. */
import t from 'tap';
import { mkdirSync, readdirSync, statSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileHolds, fileSystemNow, scanForSecrets } from '../../lib/codex/secrets.js';
import { tempDir } from '../helpers/run.js';

const SECRET = 'sk-test-0123456789abcdef';

t.test('finds a secret in any new or changed file, names files only, skips what it is told to', async (t) => {
  const home = tempDir(t);
  const work = tempDir(t);
  const since = Date.now() - 1000;
  mkdirSync(join(home, 'sessions', '2026', '11'), { recursive: true });
  writeFileSync(join(home, 'sessions', '2026', '11', 'rollout.jsonl'), `{"output":"token=${SECRET}"}\n`);
  writeFileSync(join(home, 'auth.json'), `{"OPENAI_API_KEY":"${SECRET}"}`);
  writeFileSync(join(work, 'clean.txt'), 'nothing here');
  mkdirSync(join(work, 'deep', 'er'), { recursive: true });
  writeFileSync(join(work, 'deep', 'er', '.env'), `KEY=${SECRET}\n`);
  symlinkSync('/etc', join(work, 'link-to-etc'));
  const result = await scanForSecrets({ roots: [home, work], secrets: [SECRET, 'short'], since, skip: [join(home, 'auth.json')] });
  t.same(result.files, [join(home, 'sessions', '2026', '11', 'rollout.jsonl'), join(work, 'deep', 'er', '.env')].sort());
  t.equal(result.read, 3, 'auth.json skipped, symlinks not followed');
});

t.test('files untouched since the run began are not read', async (t) => {
  const work = tempDir(t);
  const old = join(work, 'old.txt');
  writeFileSync(old, SECRET);
  const past = new Date(Date.now() - 3_600_000);
  utimesSync(old, past, past);
  // ctime cannot be set back; a start time after now stands in for "before the run".
  const result = await scanForSecrets({ roots: [work], secrets: [SECRET], since: Date.now() + 60_000 });
  t.same(result.files, []);
  t.equal(result.read, 0);
});

t.test('a secret across the chunk boundary is found; no secrets, nothing read', async (t) => {
  const work = tempDir(t);
  const file = join(work, 'big.bin');
  const buffer = Buffer.alloc((1 << 20) + 100, 'a');
  buffer.write(SECRET, (1 << 20) - 5);
  writeFileSync(file, buffer);
  t.ok(await fileHolds(file, [Buffer.from(SECRET)]));
  t.notOk(await fileHolds(file, [Buffer.from('not-in-there-at-all')]));
  const none = await scanForSecrets({ roots: [work], secrets: [], since: 0 });
  t.equal(none.read, 0);
});

t.test('fileSystemNow: the file systems\' own clock, so a file written after is read and one from before is not', async (t) => {
  const work = tempDir(t);
  const home = tempDir(t);
  writeFileSync(join(work, 'before.txt'), SECRET);
  await new Promise((r) => setTimeout(r, 30));
  const since = await fileSystemNow([home, work]);
  writeFileSync(join(work, 'after.txt'), SECRET);
  t.same(readdirSync(work).sort(), ['after.txt', 'before.txt'], 'the marker is gone');
  t.same(readdirSync(home), []);
  t.ok(since <= statSync(join(work, 'after.txt')).mtimeMs, 'a file written after counts');
  const result = await scanForSecrets({ roots: [work], secrets: [SECRET], since });
  t.same(result.files, [join(work, 'after.txt')], 'the file from before the run is not even read');
  t.equal(result.read, 1);
  const fallback = await fileSystemNow([join(work, 'no', 'such', 'dir')]);
  t.ok(fallback <= Date.now() - 2000, 'a directory that cannot be written: our clock minus the slack');
});
