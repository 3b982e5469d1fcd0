/** jgo-sync and jgo-worktree as processes: concurrency, crashes, credentials, real stdio. */
import t from 'tap';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir } from '../helpers/run.js';
import { startGitServer, createBareRepo } from '../helpers/git-server.js';
import { grepTree } from '../helpers/files.js';

const sync = bin('jgo-sync');
const worktree = bin('jgo-worktree');
const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

const envelope = (url: string, runId = '20261123-202500-7f3a') => JSON.stringify({ jgo: 1, run_id: runId, repo: { ref: 'acme/widgets', url } });

t.test('jgo-sync | jgo-worktree as processes: one envelope each, a summary line on stderr', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  const head = await createBareRepo(server, 'acme/widgets.git');
  const home = tempDir(t);
  const cache = tempDir(t);
  const env = { ...baseEnv(home), JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache };
  const synced = await runProcess(sync, { input: envelope(server.repoUrl('acme/widgets.git')), env, cwd: home });
  t.equal(synced.code, 0, synced.stderr);
  t.match(synced.stdout, /^\{[^\n]+\}\n$/);
  const out = JSON.parse(synced.stdout);
  t.equal(out.mirror.head_sha, head);
  t.equal(out.mirror.default_branch, 'main');
  t.match(synced.stderr, /^jgo-sync: cloned 1 refs, .* of packs, main at [0-9a-f]{12}, in \d+ ms\n$/, 'one summary line when stderr is not a terminal');

  const made = await runProcess(worktree, { input: synced.stdout, env, cwd: home });
  t.equal(made.code, 0, made.stderr);
  const wt = JSON.parse(made.stdout).worktree;
  t.equal(git(wt.path, 'branch', '--show-current'), 'jgo/20261123-202500');
  t.equal(git(wt.path, 'status', '--porcelain'), '');
});

t.test('a private repository: auth_failed without a token; with one, the token is in no file, output or argument', async (t) => {
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const server = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  t.teardown(server.close);
  await createBareRepo(server, 'acme/private.git');
  const home = tempDir(t);
  const cache = tempDir(t);
  const url = server.repoUrl('acme/private.git');

  const denied = await runProcess(sync, { input: envelope(url), env: { ...baseEnv(home), JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache }, cwd: home });
  t.equal(denied.code, 1);
  const error = JSON.parse(denied.stdout).error;
  t.equal(error.code, 'auth_failed');
  t.match(denied.stderr, /GITHUB_TOKEN/, 'the hint names the variable');
  t.equal(denied.stderr.trim().split('\n').length, 2, 'a one-line message and its hint');

  // A git shim on PATH records every argument vector native git is called with.
  const shimDir = join(home, 'shim');
  mkdirSync(shimDir);
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(shimDir, 'git'), `#!/bin/sh\nprintf '%s\\n' "$*" >> "${join(home, 'argv.log')}"\nexec "${realGit}" "$@"\n`);
  chmodSync(join(shimDir, 'git'), 0o755);
  const syncCache = tempDir(t);
  const result = await runProcess(sync, {
    input: envelope(url),
    env: { ...baseEnv(home), JGO_GIT_BASE_URL: server.url, PATH: `${shimDir}:${process.env.PATH}`, JGO_CACHE_DIR: syncCache, GH_TOKEN: token },
    cwd: home,
  });
  t.equal(result.code, 0, result.stderr);
  t.notMatch(result.stdout + result.stderr, token, 'not in stdout or stderr');
  t.same(await grepTree(syncCache, token), [], 'in no file under the cache');
  const argv = readFileSync(join(home, 'argv.log'), 'utf8');
  t.match(argv, /fetch/, 'native git did run');
  t.notMatch(argv, token, 'never in a process argument');
});

t.test('two syncs at once: both succeed, one clone, a mirror git fsck accepts', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`f/${i}.txt`, `${i}\n`.repeat(50)])) });
  const home = tempDir(t);
  const cache = tempDir(t);
  const env = { ...baseEnv(home), JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache };
  const url = server.repoUrl('acme/widgets.git');
  const [a, b] = await Promise.all([runProcess(sync, { input: envelope(url), env, cwd: home }), runProcess(sync, { input: envelope(url), env, cwd: home })]);
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  const outs = [JSON.parse(a.stdout).mirror, JSON.parse(b.stdout).mirror];
  t.equal(outs[0].path, outs[1].path);
  t.equal(outs.filter((m) => m.fetched).length, 1, 'the second waited, then found nothing to fetch');
  t.equal(server.uploadPackCount(), 1, 'one pack transfer');
  t.equal(git(outs[0].path, 'fsck', '--no-progress', '--no-dangling'), '');
});

t.test('a sync killed with SIGKILL mid-clone leaves nothing that breaks the next one', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  // Enough incompressible content that a clone takes a while.
  const files = Object.fromEntries(Array.from({ length: 1500 }, (_, i) => [`d${i % 30}/f${i}.bin`, randomBytes(3000).toString('base64')]));
  const head = await createBareRepo(server, 'acme/widgets.git', { files });
  const home = tempDir(t);
  const cache = tempDir(t);
  const url = server.repoUrl('acme/widgets.git');
  const child = spawn(process.execPath, [sync], { env: { ...baseEnv(home), JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache }, cwd: home, stdio: ['pipe', 'ignore', 'ignore'] });
  child.stdin.end(envelope(url));
  const tmpDir = join(cache, 'repos', '.tmp');
  const killedMidway = await new Promise<boolean>((resolve) => {
    const poll = setInterval(() => {
      const building = existsSync(tmpDir) && readdirSync(tmpDir).length > 0;
      if (building && existsSync(join(tmpDir, readdirSync(tmpDir)[0]!, 'config'))) {
        clearInterval(poll);
        child.kill('SIGKILL');
        resolve(true);
      }
    }, 5);
    child.on('exit', () => {
      clearInterval(poll);
      resolve(false);
    });
  });
  await new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve(null) : child.on('exit', resolve)));
  t.ok(killedMidway, 'killed while the mirror was being built');
  t.equal(readdirSync(join(cache, 'repos')).filter((e) => e.endsWith('.git')).length, 0, 'no half-made mirror where the next sync looks');
  t.ok(existsSync(join(cache, 'repos', readdirSync(join(cache, 'repos')).find((e) => e.endsWith('.lock')) ?? 'none')), 'the dead holder left its lock');

  const next = await runProcess(sync, { input: envelope(url), env: { ...baseEnv(home), JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache }, cwd: home });
  t.equal(next.code, 0, next.stderr);
  const mirror = JSON.parse(next.stdout).mirror;
  t.equal(mirror.head_sha, head);
  t.equal(git(mirror.path, 'fsck', '--no-progress', '--no-dangling'), '');
  t.same(readdirSync(tmpDir), [], 'the abandoned build was cleared');
});

t.test('bad input: no repo, and a hostile URL in a hand-written envelope', async (t) => {
  const home = tempDir(t);
  const env = { ...baseEnv(home), JGO_CACHE_DIR: tempDir(t) };
  const noRepo = await runProcess(sync, { input: '{"jgo":1}', env, cwd: home });
  t.equal(noRepo.code, 2);
  t.match(noRepo.stderr, /run jgo-gate first/);
  const hostile = await runProcess(sync, { input: JSON.stringify({ jgo: 1, repo: { ref: 'x', url: 'http://127.0.0.1:1/a/b?x=--upload-pack=touch' } }), env, cwd: home });
  t.equal(hostile.code, 2);
  t.equal(JSON.parse(hostile.stdout).error.code, 'bad_repo');
  const local = await runProcess(sync, { input: JSON.stringify({ jgo: 1, repo: { ref: 'x', url: 'file:///etc' } }), env, cwd: home });
  t.equal(local.code, 2);
});

t.test('a stage waiting for its envelope stops at once and silently on SIGTERM; JGO_TRACE=1 says where the time went', async (t) => {
  const home = tempDir(t);
  const env = { ...baseEnv(home), JGO_CACHE_DIR: tempDir(t), JGO_TRACE: '1' };
  const child = spawn(process.execPath, [sync], { cwd: home, env, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  const ready = new Promise<void>((resolve) =>
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (/ ready\n/.test(stderr)) resolve();
    }),
  );
  const closed = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  await ready;
  const signalled = Date.now();
  child.kill('SIGTERM');
  t.equal(await closed, 143, 'exit 143, as a shell reports SIGTERM');
  t.ok(Date.now() - signalled < 2000, 'at once');
  t.equal(stdout, '', 'no envelope: it had none to enrich');
  t.match(stderr, /^(jgo-sync \d\d:\d\d:\d\d\.\d{3} \+\d+ms [^\n]+\n)+$/, 'nothing but trace lines');

  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  Object.assign(env, { JGO_GIT_BASE_URL: server.url });
  const traced = await runProcess(sync, { input: envelope(server.repoUrl('acme/widgets.git')), env, cwd: home });
  t.equal(traced.code, 0, traced.stderr);
  t.match(traced.stdout, /^\{[^\n]+\}\n$/, 'stdout still holds only the envelope');
  for (const step of [/ ready\n/, / envelope in\n/, / git (clone|fetch) \(\d+ ms\)\n/, / envelope out\n/, / exit, \d+ ms user, \d+ ms system CPU, \d+ page faults, peak \d+ MiB\n/]) t.match(traced.stderr, step);
  // The warm path (nothing to fetch) reads the remote's refs with isomorphic-git's listServerRefs,
  // the one way jgo reads them (so the token's rule is enforced in one place).
  const warm = await runProcess(sync, { input: envelope(server.repoUrl('acme/widgets.git')), env, cwd: home });
  t.equal(warm.code, 0, warm.stderr);
  t.equal(JSON.parse(warm.stdout).mirror.fetched, false);
  t.notMatch(warm.stderr, / git fetch /, 'and fetches nothing');
  t.match(warm.stderr, /remote's refs read \(\d+ ms\)\n/, "a warm sync reads the remote's refs with isomorphic-git");
  const quiet = await runProcess(sync, { input: envelope(server.repoUrl('acme/widgets.git')), env: { ...env, JGO_TRACE: undefined }, cwd: home });
  t.notMatch(quiet.stderr, /\+\d+ms/, 'no trace without JGO_TRACE=1');
});
