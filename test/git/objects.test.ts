/**
 * A working copy's objects are linked from the mirror without the mirror's lock: another run's
 * jgo-sync may pack the mirror's loose objects (git repack -d) in the middle of it.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { linkObjects } from '../../lib/git/worktree.js';
import { tempDir } from '../helpers/run.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
    env: { PATH: process.env.PATH, HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' },
  }).trim();

t.test('a loose object packed away while it is being linked: the new pack is linked instead', async (t) => {
  const dir = tempDir(t);
  const mirror = join(dir, 'mirror.git');
  git(dir, 'init', '-q', '--bare', '--initial-branch=main', mirror);
  git(mirror, 'config', 'receive.unpackLimit', '100000'); // what is pushed stays loose, as ship leaves it
  const work = join(dir, 'work');
  git(dir, 'init', '-q', '--initial-branch=main', work);
  writeFileSync(join(work, 'a.txt'), 'a\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'one');
  git(work, 'push', '-q', mirror, 'main');
  git(mirror, 'repack', '-a', '-d', '-q'); // the first commit packed, as a fetch leaves it
  writeFileSync(join(work, 'b.txt'), 'b\n');
  git(work, 'add', '.');
  git(work, 'commit', '-q', '-m', 'two');
  git(work, 'push', '-q', mirror, 'main');
  const sha = git(work, 'rev-parse', 'HEAD');
  const loose = join(mirror, 'objects', sha.slice(0, 2), sha.slice(2));
  t.ok(existsSync(loose), 'the second commit is a loose object in the mirror');

  // The repack runs once the loose object's directory has been listed, before its object is
  // linked: the object is gone when its turn comes.
  const dest = join(dir, 'copy.git');
  git(dir, 'init', '-q', '--bare', dest);
  const listed: string[] = [];
  linkObjects(join(mirror, 'objects'), join(dest, 'objects'), {
    listed: (listedDir) => {
      listed.push(listedDir);
      if (listedDir === join(mirror, 'objects', sha.slice(0, 2))) git(mirror, 'repack', '-d', '-q');
    },
  });
  const fanOut = listed.filter((d) => /\/objects\/[0-9a-f]{2}$/.test(d));
  t.ok(fanOut.length > 0 && listed.indexOf(join(mirror, 'objects', 'pack')) > listed.indexOf(fanOut.at(-1)!), 'the pack directory is listed after every loose one');
  t.notOk(existsSync(loose), 'the repack took the loose object away mid-walk');
  t.notOk(existsSync(join(dest, 'objects', sha.slice(0, 2), sha.slice(2))), 'so the copy has no loose one');
  t.equal(readdirSync(join(dest, 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length, 2, 'but both packs');
  git(dest, 'update-ref', 'refs/heads/main', sha);
  t.equal(git(dest, 'cat-file', '-t', sha), 'commit', 'the commit is readable in the copy');
  t.equal(git(dest, 'fsck', '--no-progress', '--no-dangling'), '', 'and the copy is sound');
});

t.test('objects already linked are left as they are; a second pass copies nothing onto them', async (t) => {
  const dir = tempDir(t);
  const mirror = join(dir, 'mirror.git');
  git(dir, 'init', '-q', '--bare', mirror);
  const sha = execFileSync('git', ['hash-object', '-w', '--stdin'], { cwd: mirror, input: 'content\n', encoding: 'utf8' }).trim();
  const dest = join(dir, 'objects');
  linkObjects(join(mirror, 'objects'), dest);
  linkObjects(join(mirror, 'objects'), dest);
  t.equal(git(mirror, 'cat-file', '-p', sha), 'content', "the mirror's object is intact after being linked twice");
});
