/**
 * The mirror against a real git smart-HTTP server (git http-backend on loopback): sync, rebuild,
 * upkeep, and recording a pushed branch.
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { syncMirror, mirrorPath } from '../../lib/git/mirror.js';
import { type GitContext } from '../../lib/git/context.js';
import { startGitServer, createBareRepo, commitToBare, deleteBranch, forcePush, createTag, revParse, runGit } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';
import { grepTree } from '../helpers/files.js';
import { PassThrough } from 'node:stream';

/** With a token: it goes to `origin` (the test server's) and nowhere else. */
function context(token?: string, origin?: string) {
  const lines: string[] = [];
  const stderr = new PassThrough();
  let err = '';
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  const ctx: GitContext = {
    credentials: token ? { token, from: 'GITHUB_TOKEN', origins: origin ? [origin] : [] } : undefined,
    log: (line) => lines.push(line),
    stderr,
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  };
  return { ctx, lines, stderr: () => err };
}

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

t.test(`cold sync, warm no-change, new commit, deleted branch, force push, tags`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  const cache = tempDir(t);
  const first = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n', 'src/a.txt': 'a\n' } });
  await commitToBare(server, 'acme/widgets.git', { branch: 'feature', files: { 'f.txt': 'f\n' } });
  await createTag(server, 'acme/widgets.git', 'v1', 'main', true);
  const url = server.repoUrl('acme/widgets.git');

  const { ctx, lines } = context();
  const cold = await syncMirror(url, cache, ctx);
  t.equal(cold.path, mirrorPath(cache, url));
  t.match(cold.path, /\/repos\/acme-widgets-[0-9a-f]{8}\.git$/);
  t.equal(cold.defaultBranch, 'main');
  t.equal(cold.headSha, first);
  t.equal(cold.fetched, true);
  t.equal(cold.rebuilt, false);
  t.equal(git(cold.path, 'rev-parse', 'refs/heads/feature'), await revParse(server, 'acme/widgets.git', 'feature'));
  t.equal(git(cold.path, 'cat-file', '-t', 'refs/tags/v1'), 'tag', 'annotated tags arrive as tag objects');
  t.equal(git(cold.path, 'fsck', '--no-progress', '--no-dangling'), '', 'git fsck accepts the mirror');
  t.match(lines.at(-1), /^cloned 3 refs/);

  server.resetStats();
  const warm = await syncMirror(url, cache, ctx);
  t.equal(warm.fetched, false, 'nothing fetched when nothing changed');
  t.equal(server.uploadPackCount(), 0, 'no pack negotiated or transferred');
  t.equal(warm.headSha, first);
  t.match(lines.at(-1), /^up to date, 3 refs/);

  const second = await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'src/b.txt': 'b\n' } });
  const newer = await syncMirror(url, cache, ctx);
  t.equal(newer.fetched, true);
  t.equal(newer.headSha, second, 'the new commit arrived');
  t.equal(git(newer.path, 'show', `${second}:src/b.txt`), 'b');

  await deleteBranch(server, 'acme/widgets.git', 'feature');
  const rewritten = await forcePush(server, 'acme/widgets.git', 'main', { 'NEW.md': 'new history\n' });
  await createTag(server, 'acme/widgets.git', 'v2', 'main');
  const after = await syncMirror(url, cache, ctx);
  t.equal(after.headSha, rewritten, 'a force-pushed branch follows the remote');
  t.throws(() => git(after.path, 'rev-parse', '--verify', '-q', 'refs/heads/feature'), 'a deleted remote branch is pruned');
  t.equal(git(after.path, 'rev-parse', 'refs/tags/v2'), rewritten, 'new tags arrive');
  t.equal(git(after.path, 'fsck', '--no-progress', '--no-dangling'), '');
});

t.test(`private repository with and without a token; the token is written nowhere`, async (t) => {
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const server = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  t.teardown(server.close);
  await createBareRepo(server, 'acme/private.git');
  const cache = tempDir(t);
  const url = server.repoUrl('acme/private.git');

  const anonymous = context();
  await t.rejects(syncMirror(url, cache, anonymous.ctx), { code: 'auth_failed', exitCode: 1 });
  t.notOk(existsSync(mirrorPath(cache, url)), 'no mirror is left behind');

  const wrong = context('wrong-token-value', server.url);
  await t.rejects(syncMirror(url, cache, wrong.ctx), { code: 'auth_failed' });

  const authed = context(token, server.url);
  const result = await syncMirror(url, cache, authed.ctx);
  t.equal(result.fetched, true);
  t.same(await grepTree(cache, token), [], 'the token is in no file under the cache');
  t.notMatch(authed.lines.join('\n') + authed.stderr(), token, 'nor in any output');
  t.notMatch(git(result.path, 'config', '--list'), token);
});

t.test(`a missing repository and an unreachable host have their own codes`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  const cache = tempDir(t);
  await t.rejects(syncMirror(server.repoUrl('acme/nope.git'), cache, context().ctx), { code: 'repo_not_found' });
  await t.rejects(syncMirror('http://127.0.0.1:9/acme/widgets.git', cache, context().ctx), { code: 'network_error' });
});

t.test(`a damaged mirror is rebuilt, and says so`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  const head = await createBareRepo(server, 'acme/widgets.git');
  const cache = tempDir(t);
  const url = server.repoUrl('acme/widgets.git');
  const { ctx } = context();
  const first = await syncMirror(url, cache, ctx);
  rmSync(join(first.path, 'objects'), { recursive: true });
  const again = await syncMirror(url, cache, ctx);
  t.equal(again.rebuilt, true);
  t.equal(again.headSha, head);
  t.equal(git(again.path, 'fsck', '--no-progress', '--no-dangling'), '');
  // A pack cut short (a disk that filled up): the fetch or the check after it fails, so the
  // mirror is built anew instead of serving broken objects.
  await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'x.txt': 'x\n' } });
  const packDir = join(again.path, 'objects', 'pack');
  const packs = readdirSync(packDir).filter((e) => e.endsWith('.pack'));
  t.ok(packs.length > 0, 'the mirror keeps packs, not loose objects');
  for (const entry of packs) truncateSync(join(packDir, entry), 40);
  const third = await syncMirror(url, cache, ctx);
  t.equal(third.rebuilt, true);
  t.equal(git(third.path, 'fsck', '--no-progress', '--no-dangling'), '');
});

t.test('leftovers of a killed sync (temp build, git lock files) do not break the next one', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const cache = tempDir(t);
  const url = server.repoUrl('acme/widgets.git');
  const { ctx } = context();
  const first = await syncMirror(url, cache, ctx);
  writeFileSync(join(first.path, 'packed-refs.lock'), '');
  const name = first.path.split('/').at(-1)!;
  const tmp = join(cache, 'repos', '.tmp', `${name}-99999-abcdef`);
  execFileSync('mkdir', ['-p', join(tmp, 'objects')]);
  await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'y.txt': 'y\n' } });
  const second = await syncMirror(url, cache, ctx);
  t.equal(second.fetched, true);
  t.notOk(existsSync(join(first.path, 'packed-refs.lock')));
  t.notOk(existsSync(tmp), 'the abandoned temporary build is removed');
});

/** A served repository, its mirror, and a working copy of it on `branch`, as ship finds them. */
async function mirrorAndCopy(t: Test, branch: string) {
  const { makeWorkingCopy } = await import('../../lib/git/worktree.js');
  const server = await startGitServer();
  t.teardown(server.close);
  const cache = tempDir(t);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const url = server.repoUrl('acme/widgets.git');
  const { ctx } = context();
  const mirror = (await syncMirror(url, cache, ctx)).path;
  const dest = join(tempDir(t), 'repo');
  await makeWorkingCopy({ mirror, url, dest, base: 'main', branch }, ctx);
  return { server, cache, url, ctx, mirror, dest };
}

t.test('the objects ship leaves in the mirror: fetched loose from the working copy, and packed by a sync once they are many', async (t) => {
  const { createHash } = await import('node:crypto');
  const { recordPushed } = await import('../../lib/git/record.js');
  const { LOOSE_LIMIT, SAMPLE_DIRS } = await import('../../lib/git/mirror-store.js');
  const { server, cache, url, ctx, mirror, dest } = await mirrorAndCopy(t, 'jgo/many');
  // Enough files whose blobs land in the sampled fan-out directories (objects/00 to 0f, 1/16th of
  // the loose objects) to pass the limit: found by hashing as git does, so the test needs no luck.
  const blobId = (text: string) => createHash('sha1').update(`blob ${Buffer.byteLength(text)}\0${text}`).digest('hex');
  const sampled = (dir: string) => SAMPLE_DIRS.flatMap((d) => (existsSync(join(dir, 'objects', d)) ? readdirSync(join(dir, 'objects', d)) : []));
  let made = 0;
  for (let i = 0; made * 16 < LOOSE_LIMIT; i++) {
    const text = `line ${i}\n`;
    if (!blobId(text).startsWith('0')) continue;
    writeFileSync(join(dest, `f${i}.txt`), text);
    made++;
  }
  git(dest, 'add', '-A');
  git(dest, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'many');
  const sha = git(dest, 'rev-parse', 'HEAD');
  t.equal(await recordPushed({ mirror, dir: dest, branch: 'jgo/many', sha }, ctx), true);
  t.equal(git(mirror, 'rev-parse', 'refs/heads/jgo/many'), sha, 'the mirror has the branch');
  t.ok(sampled(mirror).length >= made, 'as loose objects');
  git(mirror, 'fsck', '--no-progress', '--no-dangling');
  // The remote has the branch too, as after the push recordPushed follows.
  await runGit(server, ['push', '-q', url, 'jgo/many'], { cwd: dest }); // rejects on failure
  const synced = await syncMirror(url, cache, ctx);
  t.equal(synced.headSha, git(mirror, 'rev-parse', 'main'));
  t.same(sampled(mirror), [], 'a sync packed them');
  git(mirror, 'cat-file', '-e', `${sha}^{commit}`);
  git(mirror, 'fsck', '--no-progress', '--no-dangling');
});

t.test('a verified push: the mirror takes the objects and the branch; a mirror held by a sync is left to that sync', async (t) => {
  const { recordPushed } = await import('../../lib/git/record.js');
  const { acquireLock } = await import('../../lib/git/lock.js');
  const { mirrorLockPath } = await import('../../lib/git/mirror-store.js');
  const { cache, url, ctx, mirror, dest } = await mirrorAndCopy(t, 'jgo/recorded');
  writeFileSync(join(dest, 'NOTES.md'), 'notes\n');
  git(dest, 'add', '-A');
  git(dest, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'notes');
  const sha = git(dest, 'rev-parse', 'HEAD');

  const lock = await acquireLock(mirrorLockPath(mirrorPath(cache, url)));
  t.equal(await recordPushed({ mirror, dir: dest, branch: 'jgo/recorded', sha }, ctx), false, 'busy: not recorded (the next sync fetches it)');
  await lock.release();
  t.throws(() => git(mirror, 'rev-parse', '--verify', '-q', 'refs/heads/jgo/recorded'), 'and the mirror has no such branch');
  t.equal(await recordPushed({ mirror, dir: dest, branch: 'jgo/recorded', sha }, ctx), true, 'free: recorded');
  t.equal(git(mirror, 'rev-parse', 'refs/heads/jgo/recorded'), sha);
  git(mirror, 'fsck', '--no-progress', '--no-dangling');
});

t.test('recording runs git fetch, no copy of object files; a branch that is not the proven commit is not kept', async (t) => {
  const { recordPushed } = await import('../../lib/git/record.js');
  const { ctx, mirror, dest } = await mirrorAndCopy(t, 'jgo/moved-after');
  writeFileSync(join(dest, 'A.md'), 'a\n');
  git(dest, 'add', '-A');
  git(dest, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'a');
  const proven = git(dest, 'rev-parse', 'HEAD');
  writeFileSync(join(dest, 'B.md'), 'b\n');
  git(dest, 'add', '-A');
  git(dest, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'b, after the push');

  // A git on PATH that notes each command: the mirror is written by git, and by a fetch.
  const bin = tempDir(t);
  const log = join(bin, 'commands.log');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const counted = { ...ctx, env: { ...ctx.env, PATH: `${bin}:${process.env.PATH}` } };
  t.equal(await recordPushed({ mirror, dir: dest, branch: 'jgo/moved-after', sha: proven }, counted), false, 'the working copy is ahead of what the remote was shown to hold');
  t.throws(() => git(mirror, 'rev-parse', '--verify', '-q', 'refs/heads/jgo/moved-after'), 'so the mirror does not keep the branch');
  t.match(readFileSync(log, 'utf8'), /^fetch\n/, 'the objects came by git fetch');

  git(dest, 'reset', '-q', '--hard', proven);
  t.equal(await recordPushed({ mirror, dir: dest, branch: 'jgo/moved-after', sha: proven }, ctx), true);
  t.equal(git(mirror, 'rev-parse', 'refs/heads/jgo/moved-after'), proven);
  t.notOk(existsSync(join(mirror, 'FETCH_HEAD')), 'no FETCH_HEAD in the mirror');
  git(mirror, 'fsck', '--no-progress', '--no-dangling');
});

t.test('tags the agent made in the working copy do not reach the mirror', async (t) => {
  const { recordPushed } = await import('../../lib/git/record.js');
  const { ctx, mirror, dest } = await mirrorAndCopy(t, 'jgo/tagged');
  writeFileSync(join(dest, 'T.md'), 't\n');
  git(dest, 'add', '-A');
  git(dest, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 't');
  git(dest, 'tag', 'agent-tag');
  const sha = git(dest, 'rev-parse', 'HEAD');
  t.equal(await recordPushed({ mirror, dir: dest, branch: 'jgo/tagged', sha }, ctx), true);
  t.throws(() => git(mirror, 'rev-parse', '--verify', '-q', 'refs/tags/agent-tag'), 'the tag stays in the working copy');
});

t.test('a mirror that gathers many loose refs (a branch per run) has them packed by a sync', async (t) => {
  const { LOOSE_REFS_LIMIT } = await import('../../lib/git/mirror-store.js');
  const { readLocalRefs } = await import('../../lib/git/refs.js');
  const server = await startGitServer();
  t.teardown(server.close);
  const cache = tempDir(t);
  const main = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const url = server.repoUrl('acme/widgets.git');
  const { ctx } = context();
  const mirror = (await syncMirror(url, cache, ctx)).path;
  // As after many runs: more branches than the limit, which a fetch writes as loose refs.
  const count = LOOSE_REFS_LIMIT + 6;
  const bare = join(server.root, 'acme/widgets.git');
  await runGit(server, [`--git-dir=${bare}`, 'update-ref', '--stdin'], { input: Array.from({ length: count }, (_, i) => `create refs/heads/jgo/run-${i} ${main}\n`).join('') });
  const looseHeads = () => {
    const dir = join(mirror, 'refs', 'heads', 'jgo');
    return existsSync(dir) ? readdirSync(dir).length : 0;
  };
  const synced = await syncMirror(url, cache, ctx);
  t.equal(synced.fetched, true);
  t.equal(looseHeads(), 0, 'the loose refs were packed');
  const refs = await readLocalRefs(mirror);
  t.equal(refs.size, count + 1, 'and every branch is still there');
  t.equal(refs.get(`refs/heads/jgo/run-${count - 1}`), main);
  t.equal((await syncMirror(url, cache, ctx)).fetched, false, 'the next sync finds nothing to fetch');
  git(mirror, 'fsck', '--no-progress', '--no-dangling');

  // Below the limit nothing is packed: a handful of loose refs is cheaper than a git process.
  await runGit(server, [`--git-dir=${bare}`, 'update-ref', 'refs/heads/jgo/one-more', main]);
  await syncMirror(url, cache, ctx);
  t.equal(looseHeads(), 1, 'one new branch stays a loose ref');
});

t.test('a sync that had to wait for the lock sees the remote as it is after the wait', async (t) => {
  const { acquireLock } = await import('../../lib/git/lock.js');
  const { mirrorLockPath } = await import('../../lib/git/mirror-store.js');
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const url = server.repoUrl('acme/widgets.git');
  const cache = tempDir(t);
  const ctx: GitContext = context().ctx;
  await syncMirror(url, cache, ctx);
  server.resetStats();
  const unhurried = await syncMirror(url, cache, ctx);
  t.equal(unhurried.fetched, false);
  t.same(server.stats.map((r) => `${r.method} ${r.service}`), ['GET git-upload-pack'], 'nothing to fetch: one question');

  // Another sync holds the lock; main moves while this one waits.
  const lock = await acquireLock(mirrorLockPath(mirrorPath(cache, url)));
  server.resetStats();
  const waiting = syncMirror(url, cache, ctx);
  await new Promise((resolve) => setTimeout(resolve, 300));
  const moved = await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'late.txt': 'late\n' }, from: 'main' });
  await lock.release();
  const after = await waiting;
  t.equal(after.headSha, moved, 'the answer after the wait, not the one from before it');
  t.equal(after.fetched, true, 'the answer from before the wait would have said there was nothing to fetch');
});
