/**
 * The working-copy pool: a kept copy is reused only once nothing of the run that left it is
 * there. The traps are what an agent (or the tools it runs: npm, husky, a build) leaves in a
 * working copy; the reused copy is compared with a new one made for the same branch.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { PassThrough } from 'node:stream';
import { makeWorkingCopy } from '../../lib/git/worktree.js';
import { givePooled, reuseWorkingCopy, takePooled } from '../../lib/git/pool.js';
import { syncMirror } from '../../lib/git/mirror.js';
import { type GitContext } from '../../lib/git/context.js';
import { startGitServer, createBareRepo, commitToBare, createTag } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

/** git as the agent runs it: its own config and hooks apply. */
const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1', GIT_AUTHOR_NAME: 'a', GIT_AUTHOR_EMAIL: 'a@b', GIT_COMMITTER_NAME: 'a', GIT_COMMITTER_EMAIL: 'a@b' } }).trim();

function context(lines: string[] = []): GitContext {
  return { credentials: undefined, log: (line) => lines.push(line), stderr: new PassThrough(), env: { PATH: process.env.PATH, HOME: process.env.HOME } };
}

const FILES = { 'README.md': '# widgets\n', '.gitignore': 'build/\n*.log\n', 'src/a.txt': 'a\n', 'src/b.txt': 'b\n', 'src/c.txt': 'c\n' };

async function mirrored(t: Test) {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: FILES });
  await createTag(server, 'acme/widgets.git', 'v1', 'main', true);
  const url = server.repoUrl('acme/widgets.git');
  const cache = tempDir(t);
  const sync = async () => (await syncMirror(url, cache, context())).path;
  const mirror = await sync();
  let n = 0;
  /** A new copy, as jgo-worktree makes one, at work/<run>/repo. */
  const fresh = async (branch: string) => {
    const dest = join(cache, 'work', `20261207-10000${n++}-aaaa`, 'repo');
    await makeWorkingCopy({ mirror, url, dest, base: 'main', branch }, context());
    return dest;
  };
  return { server, url, cache, mirror, sync, fresh, pool: join(cache, 'pool', 'widgets') };
}

/** Every file of the tree outside .git, with a digest of its content. */
function tree(dir: string, root = dir, out: Record<string, string> = {}): Record<string, string> {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.name === '.git' && dir === root) continue;
    if (entry.isDirectory()) tree(path, root, out);
    else out[relative(root, path)] = createHash('sha256').update(readFileSync(path)).digest('hex');
  }
  return out;
}

const config = (dir: string) => git(dir, 'config', '--local', '--list').split('\n').sort();
const refs = (dir: string) => git(dir, 'for-each-ref', '--format=%(refname) %(objectname)').split('\n').sort();

/** What an agent's run may leave behind, short of hiding a change from git. */
function plantTraps(dir: string, marker: string): void {
  writeFileSync(join(dir, 'src/c.txt'), 'stashed\n');
  git(dir, 'stash', 'push', '--quiet', '-m', 'left by the agent');
  writeFileSync(join(dir, 'notes.txt'), 'untracked\n');
  mkdirSync(join(dir, 'build'));
  writeFileSync(join(dir, 'build', 'out.bin'), 'ignored\n');
  writeFileSync(join(dir, 'debug.log'), 'ignored\n');
  mkdirSync(join(dir, 'empty', 'dirs'), { recursive: true });
  writeFileSync(join(dir, 'README.md'), '# staged change\n');
  writeFileSync(join(dir, 'staged-new.txt'), 'staged new file\n');
  git(dir, 'add', 'README.md', 'staged-new.txt');
  writeFileSync(join(dir, 'src/a.txt'), 'modified\n');
  git(dir, 'rm', '--quiet', '--cached', 'src/b.txt');
  writeFileSync(join(dir, '.git', 'hooks', 'pre-commit'), `#!/bin/sh\necho hook >> ${marker}\n`);
  chmodSync(join(dir, '.git', 'hooks', 'pre-commit'), 0o755);
  mkdirSync(join(dir, '.husky'));
  writeFileSync(join(dir, '.husky', 'post-checkout'), `#!/bin/sh\necho husky >> ${marker}\n`);
  chmodSync(join(dir, '.husky', 'post-checkout'), 0o755);
  git(dir, 'config', 'core.hooksPath', '.husky');
  git(dir, 'config', 'user.name', 'Mallory');
  git(dir, 'config', 'core.fsmonitor', `echo fsmonitor >> ${marker}; false`);
  git(dir, 'config', '--add', 'remote.origin.url', 'https://evil.example/acme/widgets.git');
  git(dir, 'branch', 'leftover');
  git(dir, 'tag', 'leftover-tag');
  writeFileSync(join(dir, '.git', 'info', 'exclude'), 'notes.txt\n');
  writeFileSync(join(dir, '.git', 'objects', 'info', 'alternates'), `${join(dir, '..')}\n`);
  writeFileSync(join(dir, '.git', 'MERGE_HEAD'), `${git(dir, 'rev-parse', 'HEAD')}\n`);
  git(dir, 'status', '--porcelain');
}

t.test('a kept copy full of traps is reused as a new copy of the same branch would be made', async (t) => {
  const { server, url, cache, sync, fresh, pool, mirror } = await mirrored(t);
  const donor = await fresh('jgo/20261207-100000');
  const marker = join(cache, 'hooks-ran');
  plantTraps(donor, marker);
  t.ok(existsSync(marker), 'the planted fsmonitor runs in a git that reads the copy\'s config');
  execFileSync('rm', ['-f', marker]);
  t.ok(await givePooled(pool, donor, '20261207-100000-aaaa', 2), 'the copy goes to the pool');
  // The base moves on while the copy is kept: one file changes.
  const head = await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'src/b.txt': 'b, later\n' } });
  await sync();
  const unchanged = statSync(join(join(pool, '20261207-100000-aaaa'), 'src/c.txt'));

  const dest = join(cache, 'work', '20261207-110000-bbbb', '.repo-partial-1');
  t.equal(await takePooled(pool, dest), '20261207-100000-aaaa');
  const { baseSha } = await reuseWorkingCopy({ mirror, url, dest, base: 'main', branch: 'jgo/20261207-110000' }, context());
  t.equal(baseSha, head, 'at the base as the mirror has it now');
  const expected = await fresh('jgo/20261207-110000');

  t.same(tree(dest), tree(expected), 'the same files with the same contents: nothing untracked, ignored, modified or staged is left');
  t.notOk(existsSync(join(dest, 'empty')), 'not even empty directories');
  t.equal(git(dest, 'status', '--porcelain', '--ignored', '--untracked-files=all'), '', 'git status has nothing to say');
  t.same(config(dest), config(expected), "the config is a new copy's: no hooksPath, user, fsmonitor or second origin");
  t.same(refs(dest), refs(expected), 'the same refs: the run branch, origin/main and the tags of its history; no leftover branch, tag or stash');
  t.equal(git(dest, 'stash', 'list'), '', 'no stash');
  t.equal(git(dest, 'rev-parse', '--abbrev-ref', 'HEAD'), 'jgo/20261207-110000');
  t.notOk(existsSync(join(dest, '.git', 'objects', 'info', 'alternates')), 'no alternates');
  t.notOk(existsSync(join(dest, '.git', 'MERGE_HEAD')), 'no merge in progress');
  t.same(readdirSync(join(dest, '.git', 'hooks')).filter((f) => !f.endsWith('.sample')), [], 'no hook but git\'s samples');
  git(dest, 'fsck', '--no-dangling');
  writeFileSync(join(dest, 'new.txt'), 'n\n');
  git(dest, 'add', 'new.txt');
  git(dest, 'commit', '--quiet', '-m', 'a commit runs no hook');
  git(dest, 'checkout', '--quiet', '-b', 'and-a-checkout');
  t.notOk(existsSync(marker), 'no planted hook or fsmonitor ran, in jgo\'s git or in the agent\'s');
  const after = statSync(join(dest, 'src/c.txt'));
  t.same([after.ino, after.mtimeMs], [unchanged.ino, unchanged.mtimeMs], 'a file the new base did not change was not written again');
  t.equal(readFileSync(join(dest, 'src/b.txt'), 'utf8'), 'b, later\n', 'the one it changed was');
});

t.test('a copy whose index hides a change from git status is not reused', async (t) => {
  const { url, cache, fresh, pool, mirror } = await mirrored(t);
  for (const [flag, n] of [['--assume-unchanged', 1], ['--skip-worktree', 2]] as const) {
    const donor = await fresh(`jgo/20261207-10000${n}`);
    git(donor, 'update-index', flag, 'src/a.txt');
    writeFileSync(join(donor, 'src/a.txt'), 'hidden change\n');
    t.equal(git(donor, 'status', '--porcelain'), '', `${flag}: git status does not see the change`);
    await givePooled(pool, donor, `20261207-10000${n}-aaaa`, 2);
    const dest = join(cache, 'work', `20261207-11000${n}-bbbb`, '.repo-partial-1');
    await takePooled(pool, dest);
    await t.rejects(reuseWorkingCopy({ mirror, url, dest, base: 'main', branch: `jgo/20261207-11000${n}` }, context()), /the index hides "src\/a.txt" from git \(/, `${flag}: not reused`);
  }
});

t.test('a copy git cannot clean is not reused: a failing reset or clean is the end of it, not a warning', async (t) => {
  const { url, cache, fresh, pool, mirror } = await mirrored(t);
  // Root removes anything, so a file clean cannot remove is played by a git that fails as clean
  // does then (exit 1, "failed to remove"); everything else goes to the real git.
  const bin = tempDir(t, 'jgo-shim-');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  for (const step of ['reset', 'clean']) {
    writeFileSync(join(bin, 'git'), `#!/bin/sh\nfor a; do [ "$a" = ${step} ] && { echo "warning: failed to remove stuck.txt: Operation not permitted" >&2; exit 1; }; done\nexec ${real} "$@"\n`);
    chmodSync(join(bin, 'git'), 0o755);
    const n = step === 'reset' ? 1 : 2;
    const donor = await fresh(`jgo/20261207-10000${n}`);
    await givePooled(pool, donor, `20261207-10000${n}-aaaa`, 2);
    const dest = join(cache, 'work', `20261207-11000${n}-bbbb`, '.repo-partial-1');
    await takePooled(pool, dest);
    const ctx = { ...context(), env: { PATH: `${bin}:${process.env.PATH}`, HOME: process.env.HOME } };
    await t.rejects(reuseWorkingCopy({ mirror, url, dest, base: 'main', branch: `jgo/20261207-11000${n}` }, ctx), new RegExp(`git ${step} failed: warning: failed to remove stuck.txt`), `${step}: not reused`);
  }
});

t.test('symlinks in .git: where git would write through one the copy is not reused; others are unlinked, never followed', async (t) => {
  const { url, cache, fresh, pool, mirror } = await mirrored(t);
  const outside = tempDir(t);
  writeFileSync(join(outside, 'config'), 'precious\n');
  writeFileSync(join(outside, 'HEAD'), 'precious\n');

  const linked = await fresh('jgo/20261207-100001');
  symlinkSync(outside, join(linked, '.git', 'objects', 'ee'));
  await givePooled(pool, linked, '20261207-100001-aaaa', 2);
  const first = join(cache, 'work', '20261207-110001-bbbb', '.repo-partial-1');
  await takePooled(pool, first);
  await t.rejects(reuseWorkingCopy({ mirror, url, dest: first, base: 'main', branch: 'jgo/20261207-110001' }, context()), /objects\/ee is not a directory/);

  const planted = await fresh('jgo/20261207-100002');
  for (const name of ['config', 'HEAD']) {
    execFileSync('rm', [join(planted, '.git', name)]);
    symlinkSync(join(outside, name), join(planted, '.git', name));
  }
  await givePooled(pool, planted, '20261207-100002-aaaa', 2);
  const second = join(cache, 'work', '20261207-110002-bbbb', '.repo-partial-1');
  await takePooled(pool, second);
  await reuseWorkingCopy({ mirror, url, dest: second, base: 'main', branch: 'jgo/20261207-110002' }, context());
  t.same([readFileSync(join(outside, 'config'), 'utf8'), readFileSync(join(outside, 'HEAD'), 'utf8')], ['precious\n', 'precious\n'], 'the files the symlinks named are untouched');
  t.notOk(statSync(join(second, '.git', 'config')).isSymbolicLink());
  t.equal(git(second, 'rev-parse', '--abbrev-ref', 'HEAD'), 'jgo/20261207-110002');
});

t.test('the pool: at most its size, and two runs never take the same copy', async (t) => {
  const { cache, fresh, pool } = await mirrored(t);
  const copies = [await fresh('jgo/a'), await fresh('jgo/b'), await fresh('jgo/c')];
  const kept: boolean[] = [];
  for (const [i, copy] of copies.entries()) kept.push(await givePooled(pool, copy, `20261207-10000${i}-aaaa`, 2));
  t.same(kept, [true, true, false], 'two of three kept with a size of 2');
  t.notOk(await givePooled(pool, copies[2] ?? '', '20261207-100009-aaaa', 0), 'a size of 0 keeps none');
  writeFileSync(join(pool, 'not-a-run'), '');
  const takers = Array.from({ length: 4 }, (_, i) => takePooled(pool, join(cache, 'work', `20261207-12000${i}-cccc`)));
  const taken = (await Promise.all(takers)).filter((x) => x !== undefined);
  t.same(taken.sort(), ['20261207-100000-aaaa', '20261207-100001-aaaa'], 'each kept copy went to exactly one run, and nothing else was taken');
  t.same(readdirSync(pool), ['not-a-run']);
});
