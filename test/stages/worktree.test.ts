/**
 * jgo-worktree through the stage harness: the working copy must be an ordinary repository that
 * git accepts, because codex runs git in it.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync, chmodSync, symlinkSync, statSync, lstatSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { runStage } from '../../lib/stage.js';
import { syncStage } from '../../lib/stages/sync.js';
import { worktreeStage, branchStem } from '../../lib/stages/worktree.js';
import { startGitServer, createBareRepo, commitToBare, runGit, type GitServer } from '../helpers/git-server.js';
import { memoryIO } from '../helpers/streams.js';
import { tempDir } from '../helpers/run.js';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

/** A served repository with an executable script and a symlink, pushed by native git. */
async function richRepo(t: Test, server: GitServer): Promise<string> {
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const work = tempDir(t, 'jgo-rich-');
  await runGit(server, ['clone', '--quiet', server.repoUrl('acme/widgets.git'), work]);
  writeFileSync(join(work, 'run.sh'), '#!/bin/sh\necho hi\n');
  chmodSync(join(work, 'run.sh'), 0o755);
  symlinkSync('README.md', join(work, 'LINK.md'));
  await runGit(server, ['add', '.'], { cwd: work });
  await runGit(server, ['commit', '--quiet', '-m', 'script and link'], { cwd: work });
  await runGit(server, ['push', '--quiet', 'origin', 'main'], { cwd: work });
  return work;
}

async function stage(t: Test, spec: ReturnType<typeof syncStage>, input: object, env: Record<string, string>) {
  const io = memoryIO(JSON.stringify(input), { cwd: tempDir(t), env: { PATH: process.env.PATH, HOME: tempDir(t), ...env } });
  const code = await runStage(spec, io);
  return { code, out: JSON.parse(io.out()), err: io.err() };
}

t.test(`an ordinary repository on a new branch, origin the real remote`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await richRepo(t, server);
  const cache = tempDir(t);
  const env = { JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache };
  const url = server.repoUrl('acme/widgets.git');
  const synced = await stage(t, syncStage(), { jgo: 1, run_id: '20261123-202500-7f3a', repo: { ref: 'acme/widgets', url } }, env);
  t.equal(synced.code, 0, synced.err);

  const made = await stage(t, worktreeStage(), synced.out, env);
  t.equal(made.code, 0, made.err);
  const wt = made.out.worktree;
  t.equal(wt.path, join(cache, 'work', '20261123-202500-7f3a', 'repo'));
  t.equal(wt.branch, 'jgo/20261123-202500');
  t.equal(wt.base_branch, 'main');
  t.equal(wt.base_sha, synced.out.mirror.head_sha);

  t.equal(git(wt.path, 'status', '--porcelain'), '', 'git status is clean');
  t.equal(git(wt.path, 'branch', '--show-current'), 'jgo/20261123-202500');
  t.equal(git(wt.path, 'log', '--format=%s').split('\n').length, 2, 'git log shows the history');
  t.equal(git(wt.path, 'fsck', '--no-progress', '--no-dangling'), '', 'git fsck is clean');
  t.equal(git(wt.path, 'remote', 'get-url', 'origin'), url, 'origin is the real remote, not the mirror');
  t.equal(git(wt.path, 'rev-parse', 'origin/main'), wt.base_sha, 'origin/main is known without a fetch');
  t.ok(statSync(join(wt.path, 'run.sh')).mode & 0o100, 'the exec bit is on disk');
  t.ok(lstatSync(join(wt.path, 'LINK.md')).isSymbolicLink(), 'the symlink is a symlink');
  t.equal(git(wt.path, 'config', 'core.filemode'), 'true');

  // codex edits; native git must see exactly that.
  writeFileSync(join(wt.path, 'README.md'), '# widgets\nmore\n');
  t.equal(git(wt.path, 'status', '--porcelain'), 'M README.md');
});

t.test(`branch names already taken get -2, -3`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  await commitToBare(server, 'acme/widgets.git', { branch: 'jgo/20261123-202500', files: { 'x': 'x\n' } });
  const cache = tempDir(t);
  const env = { JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache };
  const url = server.repoUrl('acme/widgets.git');
  const synced = await stage(t, syncStage(), { jgo: 1, repo: { ref: 'acme/widgets', url } }, env);
  const branches: string[] = [];
  for (const id of ['20261123-202500-aaaa', '20261123-202500-bbbb']) {
    const made = await stage(t, worktreeStage(), { ...synced.out, run_id: id }, env);
    t.equal(made.code, 0, made.err);
    branches.push(made.out.worktree.branch);
  }
  t.same(branches, ['jgo/20261123-202500-2', 'jgo/20261123-202500-3'], 'the mirror has -1; the live worktree holds -2');
});

t.test('--base, a missing base, an existing working copy, and a missing mirror', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const dev = await commitToBare(server, 'acme/widgets.git', { branch: 'develop', files: { 'd.txt': 'd\n' } });
  const cache = tempDir(t);
  const env = { JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache };
  const synced = await stage(t, syncStage(), { jgo: 1, run_id: 'run-a', repo: { ref: 'acme/widgets', url: server.repoUrl('acme/widgets.git') } }, env);
  const fromDevelop = await stage(t, worktreeStage({ base: 'develop' }), synced.out, env);
  t.equal(fromDevelop.code, 0, fromDevelop.err);
  t.equal(fromDevelop.out.worktree.base_branch, 'develop');
  t.equal(fromDevelop.out.worktree.base_sha, dev);
  t.equal(git(fromDevelop.out.worktree.path, 'rev-parse', 'HEAD'), dev);

  const again = await stage(t, worktreeStage({ base: 'develop' }), synced.out, env);
  t.equal(again.code, 1);
  t.equal(again.out.error.code, 'worktree_exists');

  const missing = await stage(t, worktreeStage({ base: 'nope' }), { ...synced.out, run_id: 'run-b' }, env);
  t.equal(missing.code, 2);
  t.equal(missing.out.error.code, 'base_not_found');
  t.notOk(existsSync(join(cache, 'work', 'run-b')), 'nothing is left of a failed attempt');

  const hostile = await stage(t, worktreeStage({ base: '--upload-pack=x' }), { ...synced.out, run_id: 'run-c' }, env);
  t.equal(hostile.code, 2);
  t.equal(hostile.out.error.code, 'bad_branch');

  const noMirror = await stage(t, worktreeStage(), { jgo: 1, repo: synced.out.repo }, env);
  t.equal(noMirror.code, 2);
  t.match(noMirror.err, /run jgo-sync first/);
});

t.test('branch names come from the run id, else the clock', async (t) => {
  t.equal(branchStem('20261123-202500-7f3a', new Date()), 'jgo/20261123-202500');
  t.equal(branchStem('custom', new Date('2026-01-02T03:04:05Z')), 'jgo/20260102-030405');
});
