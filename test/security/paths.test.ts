/**
 * Issue 17, points 2 and 3, tried as an attacker would: hand-written envelopes that point the
 * built stages at a scratch directory outside the cache (which must survive untouched), at the
 * mirror of another repository, through symlinks planted under the cache, at a branch jgo did
 * not make, and at repositories the settings leave out.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, lstatSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage, type StageSpec } from '../../lib/stage.js';
import { syncStage } from '../../lib/stages/sync.js';
import { worktreeStage } from '../../lib/stages/worktree.js';
import { startGitServer, createBareRepo, revParse, type GitServer } from '../helpers/git-server.js';
import { fakeCodex, ev } from '../helpers/fake-codex.js';
import { memoryIO } from '../helpers/streams.js';
import { baseEnv, bin, runProcess, tempDir } from '../helpers/run.js';

const RUN = '20261123-202500-7f3a';
const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

/** Every path under `root` (symlinks as links, not followed) with a digest of its content. */
function tree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else out[path.slice(root.length)] = entry.isSymbolicLink() ? 'link' : createHash('sha1').update(readFileSync(path)).digest('hex');
    }
  };
  walk(root);
  return out;
}

/** A directory outside the cache holding a git repository with uncommitted work, and a sibling. */
function scratch(t: Test): { root: string; repo: string; before: Record<string, string> } {
  const root = tempDir(t, 'jgo-scratch-');
  const repo = join(root, 'victim', 'repo');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'jgo/20261123-202500');
  writeFileSync(join(repo, 'README.md'), 'mine\n');
  git(repo, 'add', '.');
  git(repo, '-c', 'user.name=me', '-c', 'user.email=me@example.invalid', 'commit', '-q', '-m', 'mine');
  writeFileSync(join(repo, 'uncommitted.txt'), 'work in progress\n');
  writeFileSync(join(root, 'victim', 'sibling.txt'), 'next to the repository\n');
  return { root, repo, before: tree(root) };
}

interface Setup {
  server: GitServer;
  cache: string;
  env: Record<string, string>;
  envelope: Record<string, any>;
}

async function stage(t: Test, spec: StageSpec, input: object, env: Record<string, string>) {
  const io = memoryIO(JSON.stringify(input), { cwd: tempDir(t), env: { PATH: process.env.PATH, HOME: tempDir(t), ...env } });
  const code = await runStage(spec, io);
  return { code, out: JSON.parse(io.out()), err: io.err() };
}

/** A served repository, its mirror and this run's working copy with a change in it. */
async function setup(t: Test, token?: string): Promise<Setup> {
  const server = await startGitServer(token ? { auth: { username: 'x-access-token', password: token } } : {});
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  await createBareRepo(server, 'acme/other.git', { files: { 'README.md': '# other\n' } });
  const cache = tempDir(t, 'jgo-cache-');
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ev.message('m1', 'not a plan'), ev.turnCompleted()] });
  const env: Record<string, string> = { ...baseEnv(tempDir(t)), ...fake.env, JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache, CODEX_HOME: join(cache, 'codex'), ...(token ? { GITHUB_TOKEN: token } : {}) };
  const start = { jgo: 1, run_id: RUN, request: 'acme/widgets add notes', repo: { ref: 'acme/widgets', url: server.repoUrl('acme/widgets.git') } };
  const synced = await stage(t, syncStage(), start, env);
  const made = await stage(t, worktreeStage(), synced.out, env);
  t.equal(made.code, 0, made.err);
  writeFileSync(join(made.out.worktree.path, 'NOTES.md'), 'notes\n');
  const envelope = {
    ...made.out,
    gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: 'Add NOTES.md.', model: 'm' },
    codex: { exit_code: 0, changed_files: ['NOTES.md'], last_message: 'done', duration_ms: 1 },
  };
  return { server, cache, env, envelope };
}

const run = (name: string, input: object, env: Record<string, string>) => runProcess(bin(name), { input: JSON.stringify(input), env, cwd: env.HOME! });

function refused(t: Test, result: { code: number | null; stdout: string; stderr: string }, code: string, exit: number) {
  t.equal(result.code, exit, result.stderr);
  t.equal(JSON.parse(result.stdout).error?.code, code);
  t.equal(result.stderr.trim().split('\n').filter((l) => !l.startsWith('  ')).length, 1, 'one line (and its hint)');
  t.notMatch(result.stderr, /\n\s+at /, 'no stack trace');
}

t.test('worktree.path outside the cache: codex and ship refuse before anything runs, and the scratch survives', async (t) => {
  const s = await setup(t);
  const victim = scratch(t);
  const hostile = { ...s.envelope, worktree: { ...s.envelope.worktree, path: victim.repo } };
  const codex = await run('jgo-codex', hostile, s.env);
  refused(t, codex, 'bad_path', 2);
  const ship = await run('jgo-ship', hostile, s.env);
  refused(t, ship, 'bad_path', 2);
  t.match(ship.stderr, /worktree\.path .* is not .*\/work\/20261123-202500-7f3a\/repo/);
  const dotted = await run('jgo-ship', { ...s.envelope, worktree: { ...s.envelope.worktree, path: `${s.cache}/work/${RUN}/repo/../../../../${victim.repo}` } }, s.env);
  refused(t, dotted, 'bad_path', 2);
  t.same(tree(victim.root), victim.before, 'nothing under the scratch directory changed, its parent included');
  t.equal(s.server.stats.filter((r) => r.service === 'git-receive-pack').length, 0, 'nothing was pushed');
  t.ok(existsSync(join(s.envelope.worktree.path, 'NOTES.md')), 'the real working copy is untouched too');
});

t.test('a symlink planted under the cache leads nowhere: the run dir or its repo pointing outside is bad_path', async (t) => {
  const s = await setup(t);
  const victim = scratch(t);
  // Another run whose working copy is a symlink to the scratch repository.
  const other = 'run-linked';
  mkdirSync(join(s.cache, 'work', other));
  symlinkSync(victim.repo, join(s.cache, 'work', other, 'repo'));
  const linkedRepo = { ...s.envelope, run_id: other, worktree: { ...s.envelope.worktree, path: join(s.cache, 'work', other, 'repo') } };
  refused(t, await run('jgo-codex', linkedRepo, s.env), 'bad_path', 2);
  refused(t, await run('jgo-ship', linkedRepo, s.env), 'bad_path', 2);
  // A run directory that is itself a symlink to the scratch directory's parent of the repository.
  const third = 'run-dir-linked';
  symlinkSync(join(victim.root, 'victim'), join(s.cache, 'work', third));
  const linkedDir = { ...s.envelope, run_id: third, worktree: { ...s.envelope.worktree, path: join(s.cache, 'work', third, 'repo') } };
  refused(t, await run('jgo-ship', linkedDir, s.env), 'bad_path', 2);
  t.same(tree(victim.root), victim.before, 'the scratch directory is untouched');
  t.ok(lstatSync(join(s.cache, 'work', third)).isSymbolicLink(), 'and the planted link was not followed to delete anything');
});

t.test('mirror.path must be the mirror of repo.url', async (t) => {
  const s = await setup(t);
  const victim = scratch(t);
  const elsewhere = await run('jgo-worktree', { jgo: 1, run_id: 'run-m1', repo: s.envelope.repo, mirror: { ...s.envelope.mirror, path: victim.repo } }, s.env);
  refused(t, elsewhere, 'bad_path', 2);
  // The mirror of another repository of the same server is not this one's.
  const synced = await stage(t, syncStage(), { jgo: 1, repo: { ref: 'acme/other', url: s.server.repoUrl('acme/other.git') } }, s.env);
  const crossed = await run('jgo-worktree', { jgo: 1, run_id: 'run-m2', repo: s.envelope.repo, mirror: synced.out.mirror }, s.env);
  refused(t, crossed, 'bad_path', 2);
  const ship = await run('jgo-ship', { ...s.envelope, mirror: synced.out.mirror }, s.env);
  refused(t, ship, 'bad_path', 2);
  t.same(tree(victim.root), victim.before);
  // Another spelling of the same repository is the same mirror.
  const spelled = await run('jgo-worktree', { jgo: 1, run_id: 'run-m3', repo: { ref: 'acme/widgets', url: `${s.server.url.replace('127.0.0.1', '127.0.0.1')}/acme/widgets/` }, mirror: s.envelope.mirror }, s.env);
  t.equal(spelled.code, 0, spelled.stderr);
});

t.test('ship pushes only a jgo/ branch with a valid name', async (t) => {
  const s = await setup(t);
  for (const branch of ['main', '--force', 'jgo/../main', 'jgo/x y', 'refs/heads/jgo/x']) {
    const result = await run('jgo-ship', { ...s.envelope, worktree: { ...s.envelope.worktree, branch } }, s.env);
    refused(t, result, 'bad_branch', 2);
  }
  t.equal(s.server.stats.filter((r) => r.service === 'git-receive-pack').length, 0, 'nothing was pushed');
  t.equal(await revParse(s.server, 'acme/widgets.git', 'main').then(Boolean), true);
});

t.test('codex.changed_files is a hint: a wrong list neither hides a change nor adds a file', async (t) => {
  const s = await setup(t);
  const dir = s.envelope.worktree.path;
  writeFileSync(join(dir, 'hidden.txt'), 'not in the list\n');
  const hint = { ...s.envelope, codex: { ...s.envelope.codex, changed_files: ['NOTES.md', 'ghost.txt', '../../../etc/passwd'] } };
  const shipped = await run('jgo-ship', hint, s.env);
  t.equal(shipped.code, 0, shipped.stderr);
  const sha = JSON.parse(shipped.stdout).ship.remote_sha;
  const files = git(join(s.server.root, 'acme/widgets.git'), 'ls-tree', '-r', '--name-only', sha).split('\n');
  t.same(files.sort(), ['NOTES.md', 'README.md', 'hidden.txt'], 'every change git sees, and nothing else');
  t.notOk(existsSync(join(s.cache, 'work', RUN)), 'the run directory is gone');
  t.ok(existsSync(join(s.cache, 'work')), 'and only it: work/ stays');
  t.ok(existsSync(join(s.cache, 'repos')), 'the mirrors stay');
});

t.test('every stage that reads repo.url checks the host and JGO_REPOS again', async (t) => {
  const s = await setup(t);
  const limited = { ...s.env, JGO_REPOS: 'tools/*' };
  refused(t, await run('jgo-sync', { jgo: 1, repo: s.envelope.repo }, limited), 'repo_not_allowed', 3);
  refused(t, await run('jgo-worktree', { jgo: 1, run_id: 'run-r1', repo: s.envelope.repo, mirror: s.envelope.mirror }, limited), 'repo_not_allowed', 3);
  refused(t, await run('jgo-codex', s.envelope, limited), 'repo_not_allowed', 3);
  refused(t, await run('jgo-ship', s.envelope, limited), 'repo_not_allowed', 3);
  const foreign = { ...s.envelope, repo: { ref: 'x/y', url: 'http://127.0.0.1:9/acme/widgets.git' } };
  refused(t, await run('jgo-ship', foreign, s.env), 'host_not_allowed', 3);
  refused(t, await run('jgo-sync', { jgo: 1, repo: foreign.repo }, s.env), 'host_not_allowed', 3);
  t.equal(s.server.stats.filter((r) => r.service === 'git-receive-pack').length, 0, 'nothing was pushed');
  t.ok(existsSync(join(s.envelope.worktree.path, 'NOTES.md')), 'a refused ship leaves the working copy');
});

t.test('nothing planted in the working copy\'s .git runs in a git that holds the token', async (t) => {
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const s = await setup(t, token);
  const dir = s.envelope.worktree.path;
  const loot = join(tempDir(t), 'loot');
  const hook = `#!/bin/sh\necho "$0 $JGO_GIT_TOKEN" >> ${loot}\n`;
  mkdirSync(join(dir, '.git', 'hooks'), { recursive: true });
  for (const name of ['pre-commit', 'commit-msg', 'post-commit', 'pre-push', 'reference-transaction']) {
    writeFileSync(join(dir, '.git', 'hooks', name), hook, { mode: 0o755 });
  }
  git(dir, 'config', 'core.fsmonitor', `sh -c 'echo fsmonitor $JGO_GIT_TOKEN >> ${loot}'`);
  const shipped = await run('jgo-ship', s.envelope, s.env);
  t.equal(shipped.code, 0, shipped.stderr);
  t.equal(JSON.parse(shipped.stdout).ship.pushed, true, 'the push itself used the token');
  t.notOk(existsSync(loot), 'no hook and no fsmonitor command ran');
});
