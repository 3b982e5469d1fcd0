/**
 * The working copy as git makes it (a local clone of the mirror), and what it must survive: the
 * mirror repacked, pruned or removed after it was made, and its own removal after the run.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { makeWorkingCopy } from '../../lib/git/worktree.js';
import { syncMirror } from '../../lib/git/mirror.js';
import { type GitContext } from '../../lib/git/context.js';
import { acquireLock } from '../../lib/git/lock.js';
import { mirrorLockPath } from '../../lib/git/mirror-store.js';
import { startGitServer, createBareRepo, commitToBare, createTag } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

function context(lines: string[] = []): GitContext {
  return { credentials: undefined, log: (line) => lines.push(line), stderr: new PassThrough(), env: { PATH: process.env.PATH, HOME: process.env.HOME } };
}

async function mirrored(t: Test) {
  const server = await startGitServer();
  t.teardown(server.close);
  const head = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  await commitToBare(server, 'acme/widgets.git', { branch: 'develop', files: { 'd.txt': 'd\n' } });
  await createTag(server, 'acme/widgets.git', 'v1', 'main', true);
  const url = server.repoUrl('acme/widgets.git');
  const cache = tempDir(t);
  const mirror = (await syncMirror(url, cache, context())).path;
  return { server, url, cache, mirror, head };
}

t.test('a local clone: own objects (hardlinked), origin the real remote, only the run branch', async (t) => {
  const { url, cache, mirror, head } = await mirrored(t);
  const dest = join(cache, 'work', 'run-1', 'repo');
  const { baseSha } = await makeWorkingCopy({ mirror, url, dest, base: 'main', branch: 'jgo/20261123-202500' }, context());
  t.equal(baseSha, head);
  t.equal(git(dest, 'rev-parse', 'HEAD'), head);
  t.equal(git(dest, 'branch', '--show-current'), 'jgo/20261123-202500');
  t.equal(git(dest, 'for-each-ref', '--format=%(refname)', 'refs/heads'), 'refs/heads/jgo/20261123-202500', 'no local branch but the run\'s');
  t.equal(git(dest, 'config', '--get-all', 'remote.origin.url'), url, 'origin is the real remote, once');
  t.equal(git(dest, 'rev-parse', 'origin/main'), head, "the remote's base is known without a fetch");
  t.equal(git(dest, 'for-each-ref', '--format=%(refname)', 'refs/remotes'), 'refs/remotes/origin/main', 'and only the base, as in a reused copy (no origin/HEAD)');
  t.equal(git(dest, 'config', '--get-all', 'remote.origin.fetch'), '+refs/heads/main:refs/remotes/origin/main');
  t.equal(git(dest, 'cat-file', '-t', 'v1'), 'tag', 'and its tags');
  t.throws(() => git(dest, 'rev-parse', '--abbrev-ref', '--symbolic-full-name', '@{upstream}'), 'the run branch tracks nothing');
  t.notOk(existsSync(join(dest, '.git', 'objects', 'info', 'alternates')), 'no alternates: the copy reads no object from the mirror');
  const pack = readdirSync(join(dest, '.git', 'objects', 'pack')).find((f) => f.endsWith('.pack'));
  t.ok(pack && statSync(join(dest, '.git', 'objects', 'pack', pack)).nlink > 1, 'the pack is a hardlink of the mirror\'s');
  t.equal(git(dest, 'status', '--porcelain'), '', 'checked out and clean');
});

t.test('the copy survives the mirror repacked, pruned and removed; removing the copy leaves the mirror whole', async (t) => {
  const { server, url, cache, mirror } = await mirrored(t);
  const dest = join(cache, 'work', 'run-2', 'repo');
  await makeWorkingCopy({ mirror, url, dest, base: 'develop', branch: 'jgo/x' }, context());
  // What later syncs may do to the mirror: new packs, old ones repacked away, everything unreachable pruned.
  await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'later.txt': 'l\n' } });
  await syncMirror(url, cache, context());
  git(mirror, 'repack', '-a', '-d', '-q');
  git(mirror, 'prune', '--expire=now');
  t.equal(git(dest, 'fsck', '--no-progress', '--no-dangling'), '', 'fsck is clean after a repack and prune of the mirror');
  rmSync(mirror, { recursive: true });
  t.equal(git(dest, 'fsck', '--no-progress', '--no-dangling'), '', 'and after the mirror is gone');
  t.equal(git(dest, 'log', '--format=%s', '-1'), git(dest, 'log', '--format=%s', '-1', 'origin/develop'));

  const again = (await syncMirror(url, cache, context())).path;
  const other = join(cache, 'work', 'run-3', 'repo');
  await makeWorkingCopy({ mirror: again, url, dest: other, base: 'main', branch: 'jgo/y' }, context());
  rmSync(join(cache, 'work', 'run-3'), { recursive: true });
  t.equal(git(again, 'fsck', '--no-progress', '--no-dangling'), '', 'the mirror is whole once a copy is removed');
});

t.test('the clone waits for a sync that holds the mirror, and a missing base is a usage error', async (t) => {
  const { url, cache, mirror } = await mirrored(t);
  const lock = await acquireLock(mirrorLockPath(mirror));
  const lines: string[] = [];
  const dest = join(cache, 'work', 'run-4', 'repo');
  const making = makeWorkingCopy({ mirror, url, dest, base: 'main', branch: 'jgo/z' }, context(lines));
  await new Promise((resolve) => setTimeout(resolve, 300));
  t.notOk(existsSync(dest), 'nothing cloned while the mirror is held');
  t.match(lines.join('\n'), /waiting for a sync of this repository/);
  await lock.release();
  await making;
  t.equal(git(dest, 'branch', '--show-current'), 'jgo/z');

  await t.rejects(makeWorkingCopy({ mirror, url, dest: join(cache, 'work', 'run-5', 'repo'), base: 'nope', branch: 'jgo/w' }, context()), { code: 'base_not_found' });
  t.notOk(existsSync(join(cache, 'work', 'run-5', 'repo')));
});
