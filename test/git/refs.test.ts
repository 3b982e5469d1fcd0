/** Reading a working copy's HEAD from its files, checked against what git itself says. */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { readWorkingHead } from '../../lib/git/refs.js';
import { tempDir } from '../helpers/run.js';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

t.test('readWorkingHead agrees with git rev-parse HEAD: loose, packed, detached; undefined when it cannot know', async (t) => {
  const dir = tempDir(t);
  t.equal(await readWorkingHead(dir), undefined, 'not a repository');
  git(dir, 'init', '-q', '-b', 'main');
  t.equal(await readWorkingHead(dir), undefined, 'no commit yet');
  writeFileSync(join(dir, 'a.txt'), 'a\n');
  git(dir, 'add', 'a.txt');
  git(dir, 'commit', '-q', '-m', 'one');
  t.equal(await readWorkingHead(dir), git(dir, 'rev-parse', 'HEAD'), 'a loose ref');
  git(dir, 'pack-refs', '--all');
  t.equal(await readWorkingHead(dir), git(dir, 'rev-parse', 'HEAD'), 'a packed ref');
  writeFileSync(join(dir, 'b.txt'), 'b\n');
  git(dir, 'add', 'b.txt');
  git(dir, 'commit', '-q', '-m', 'two');
  t.equal(await readWorkingHead(dir), git(dir, 'rev-parse', 'HEAD'), 'a loose ref newer than the packed one');
  git(dir, 'checkout', '-q', '--detach', 'HEAD~1');
  t.equal(await readWorkingHead(dir), git(dir, 'rev-parse', 'HEAD'), 'detached');
  const linked = join(tempDir(t), 'linked');
  git(dir, 'worktree', 'add', '-q', linked, 'main');
  t.equal(await readWorkingHead(linked), undefined, 'a linked worktree (.git is a file): the caller asks git');
});
