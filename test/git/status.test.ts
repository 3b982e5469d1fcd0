/** Changed paths in a working copy: additions, untracked, deletions, edits. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { changedPaths } from '../../lib/git/status.js';
import { anyStaged, parsePorcelainZ } from '../../lib/git/status.js';
import { tempDir } from '../helpers/run.js';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd: dir,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' },
  });

t.test('what changed, untracked files included, ignored files not', async (t) => {
  const dir = tempDir(t);
  git(dir, 'init', '-q', '-b', 'main');
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'README.md'), 'a\n');
  writeFileSync(join(dir, 'src', 'keep.ts'), 'k\n');
  writeFileSync(join(dir, 'src', 'gone.ts'), 'g\n');
  writeFileSync(join(dir, '.gitignore'), 'build/\n');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'init');
  writeFileSync(join(dir, 'README.md'), 'b\n');
  rmSync(join(dir, 'src', 'gone.ts'));
  mkdirSync(join(dir, 'docs', 'deep'), { recursive: true });
  writeFileSync(join(dir, 'docs', 'deep', 'new.md'), 'n\n');
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build', 'out.js'), 'ignored\n');
  const changes = await changedPaths(dir);
  t.same(changes, [
    { path: 'README.md', kind: 'modified' },
    { path: 'docs/deep/new.md', kind: 'added' },
    { path: 'src/gone.ts', kind: 'deleted' },
  ]);
  t.same(await changedPaths(dir, { paths: ['README.md'] }), [{ path: 'README.md', kind: 'modified' }], 'narrowed to known paths');
});

t.test('porcelain -z parsing: spaces, renames, staged additions', async (t) => {
  t.same(parsePorcelainZ(' M a b.txt\0?? new file\0R  new.md\0old.md\0A  staged.ts\0 D del\0 A intended.ts\0'), [
    { path: 'a b.txt', kind: 'modified' },
    { path: 'new file', kind: 'added' },
    { path: 'new.md', kind: 'renamed', from: 'old.md' },
    { path: 'staged.ts', kind: 'added' },
    { path: 'del', kind: 'deleted' },
    { path: 'intended.ts', kind: 'added' },
  ]);
});

t.test('anyStaged: the index column, intent-to-add and untracked and ignored not counted', async (t) => {
  t.equal(anyStaged(' M a\0?? b\0 A intended\0 D gone\0!! build/\0'), false, 'worktree changes, an intended file, untracked and ignored: nothing staged');
  t.equal(anyStaged(''), false, 'a clean copy');
  for (const entry of ['M  a', 'A  new', 'D  gone', 'MM both', 'AD added then deleted']) t.equal(anyStaged(` M x\0${entry}\0`), true, `"${entry.slice(0, 2)}" is staged`);
  t.equal(anyStaged('R  new.md\0old.md\0'), true, 'a staged rename');
  t.equal(anyStaged(' M x\0?? R weird name\0'), false, 'a path beginning with R is not a rename');
});
