/** The built jgo-codex executable, run as a process with real stdin and stdout, against the fake codex. */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { bin, baseEnv, runProcess, tempDir } from '../helpers/run.js';
import { ev, fakeCodex, FAKE_DEFAULT_MODEL, gone, PINNED_CODEX_VERSION, type Fake } from '../helpers/fake-codex.js';

const jgoCodex = bin('jgo-codex');

/** A committed repository where jgo-worktree leaves one: $JGO_CACHE_DIR/work/<run_id>/repo. */
function repository(t: Test): { path: string; sha: string; cache: string } {
  const cache = tempDir(t, 'jgo-cache-');
  const path = join(cache, 'work', '20261123-202500-7f3a', 'repo');
  mkdirSync(path, { recursive: true });
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: path, GIT_CONFIG_NOSYSTEM: '1' };
  const git = (...args: string[]) => {
    const r = spawnSync('git', args, { cwd: path, env, encoding: 'utf8' });
    if (r.status !== 0) throw new Error(r.stderr);
    return r.stdout.trim();
  };
  git('init', '-q', '-b', 'jgo/20261123-202500');
  writeFileSync(join(path, 'README.md'), 'hello\n');
  git('add', '.');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'init');
  return { path, sha: git('rev-parse', 'HEAD'), cache };
}

function envelope(wt: { path: string; sha: string }): string {
  return JSON.stringify({
    jgo: 1,
    run_id: '20261123-202500-7f3a',
    request: 'acme/widgets add notes',
    gate: { executable: true, reason: '', repo_ref: 'acme/widgets', optimized_prompt: 'Add NOTES.md.', model: 'm' },
    repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' },
    worktree: { path: wt.path, branch: 'jgo/20261123-202500', base_branch: 'main', base_sha: wt.sha },
  });
}

t.test('… | jgo-codex: one envelope on stdout, the events on stderr, CODEX_HOME made in the cache', async (t) => {
  const home = tempDir(t);
  const wt = repository(t);
  const fake = fakeCodex(home, {
    login: 'ok',
    steps: [ev.threadStarted(), ev.turnStarted(), ...ev.command('item_0', 'printf hi > NOTES.md', 0), { write: 'NOTES.md', content: 'hi\n' }, ev.message('item_1', 'Added NOTES.md'), ev.turnCompleted()],
  });
  const cache = wt.cache;
  const result = await runProcess(jgoCodex, { input: envelope(wt), cwd: home, env: { ...baseEnv(home), ...fake.env, JGO_CACHE_DIR: cache } });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^\{[^\n]*\}\n$/, 'exactly one line of JSON on stdout');
  const out = JSON.parse(result.stdout);
  const { Envelope } = await import('../../lib/envelope.js');
  t.ok(Envelope.safeParse(out).success, 'a valid envelope v1');
  t.same(out.codex.changed_files, ['NOTES.md']);
  t.equal(out.codex.last_message, 'Added NOTES.md');
  // jgo named no model: the one recorded is codex's own choice, from its session record.
  t.equal(out.codex.model, FAKE_DEFAULT_MODEL, 'the model codex chose, from its session record');
  t.equal(out.codex.version, PINNED_CODEX_VERSION, 'what codex --version said');
  t.match(result.stderr, /^jgo-codex: codex login: /m);
  t.match(result.stderr, /^jgo-codex: \$ printf hi > NOTES\.md$/m);
  t.match(result.stderr, /^jgo-codex: codex: Added NOTES\.md$/m);
  t.equal(fake.exec()?.env?.CODEX_HOME, join(cache, 'codex'), 'CODEX_HOME defaults to $JGO_CACHE_DIR/codex');
  t.ok(existsSync(join(cache, 'codex')), 'and is created');
});

/** Starts jgo-codex on a codex that hangs, waits for the hang, signals jgo-codex, and reports. */
async function signalled(t: Test, signal: NodeJS.Signals): Promise<{ code: number | null; stdout: string; stderr: string; fake: Fake; ms: number }> {
  const home = tempDir(t);
  const wt = repository(t);
  const fake = fakeCodex(home, { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), { hang: true }] });
  const child = spawn(process.execPath, [jgoCodex], {
    cwd: home,
    env: { ...baseEnv(home), ...fake.env, JGO_CACHE_DIR: wt.cache, CODEX_HOME: join(home, 'codex-home') },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  t.teardown(() => {
    child.kill('SIGKILL');
  });
  child.stdin.end(envelope(wt));
  const deadline = Date.now() + 15_000;
  while (!fake.records().some((r) => r.grandchild !== undefined) && Date.now() < deadline) await sleep(25);
  t.ok(fake.records().some((r) => r.grandchild !== undefined), 'codex is running, and has started a process of its own');
  const started = Date.now();
  child.kill(signal);
  const code = await exited;
  return { code, stdout, stderr, fake, ms: Date.now() - started };
}

t.test('SIGTERM to jgo-codex stops codex and its group, and still writes the envelope', async (t) => {
  const { code, stdout, stderr, fake, ms } = await signalled(t, 'SIGTERM');
  t.equal(code, 1, stderr);
  t.match(stderr, /SIGTERM: stopping/);
  const out = JSON.parse(stdout);
  t.match(out.error, { stage: 'codex', code: 'interrupted', exit_code: 1 });
  t.ok(ms < 5000, `stopped in ${ms} ms`);
  const exec = fake.exec()!;
  const grandchild = fake.records().find((r) => r.grandchild !== undefined)!.grandchild!;
  t.ok(gone(exec.pid), 'codex is gone');
  t.ok(gone(grandchild), 'no orphan: the process codex started is gone too');
});

t.test('SIGINT (Ctrl-C) does the same', async (t) => {
  const { code, stdout, fake } = await signalled(t, 'SIGINT');
  t.equal(code, 1);
  t.equal(JSON.parse(stdout).error.code, 'interrupted');
  t.ok(gone(fake.exec()!.pid));
  t.ok(gone(fake.records().find((r) => r.grandchild !== undefined)!.grandchild!));
});

t.test('an upstream error passes through; --help is the manual', async (t) => {
  const home = tempDir(t);
  const fake = fakeCodex(home, {});
  const upstream = { jgo: 1, request: 'x', error: { stage: 'worktree', code: 'worktree_exists', message: 'exists', exit_code: 1 } };
  const passed = await runProcess(jgoCodex, { input: JSON.stringify(upstream), cwd: home, env: { ...baseEnv(home), ...fake.env } });
  t.equal(passed.code, 1);
  t.same(JSON.parse(passed.stdout), upstream);
  t.same(fake.records(), [], 'codex never ran');
  const help = await runProcess(jgoCodex, { args: ['--help'], cwd: home, env: baseEnv(home) });
  t.equal(help.code, 0);
  t.match(help.stdout, /Exit codes:/);
  t.match(help.stdout, /JGO_CODEX_SANDBOX/);
  const bad = await runProcess(jgoCodex, { args: ['--frobnicate'], cwd: home, env: baseEnv(home) });
  t.equal(bad.code, 2);
});

t.test("in jgo's own working copy one git status tells what codex changed", async (t) => {
  const home = tempDir(t);
  const wt = repository(t);
  const fake = fakeCodex(home, { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), { write: 'NOTES.md', content: 'hi\n' }, ev.message('m', 'done'), ev.turnCompleted()] });
  const result = await runProcess(jgoCodex, { input: envelope(wt), cwd: home, env: { ...baseEnv(home), ...fake.env, JGO_CACHE_DIR: wt.cache, JGO_TRACE: '1' } });
  t.equal(result.code, 0, result.stderr);
  t.same(JSON.parse(result.stdout).codex.changed_files, ['NOTES.md']);
  const statuses = result.stderr.split('\n').filter((l) => /^jgo-codex \S+ \+\d+ms git status\b/.test(l));
  t.equal(statuses.length, 1, `one git status, after codex (${statuses.length})`);
});

t.test("in jgo's own working copy the secret scan reads what that git status names, ignored files included, and .git", async (t) => {
  // 150 tracked files the agent rewrites as they were (a formatter, a code generator): git sees
  // no change, and a scan of the tree by time would read every one.
  const files = Array.from({ length: 150 }, (_, i) => `src/f${i}.txt`);
  const run = async (secretAt: string | undefined) => {
    const wt = repository(t);
    mkdirSync(join(wt.path, 'src'));
    for (const f of [...files, '.gitignore']) writeFileSync(join(wt.path, f), f === '.gitignore' ? 'build/\n*.log\n' : `${f}\n`);
    const git = (...args: string[]) => spawnSync('git', args, { cwd: wt.path, encoding: 'utf8', env: { PATH: process.env.PATH ?? '', HOME: wt.path, GIT_CONFIG_NOSYSTEM: '1' } }).stdout.trim();
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'files');
    const home = tempDir(t);
    const rewrite = files.map((f) => ({ write: f, content: `${f}\n` }));
    const secret = secretAt ? [{ write: secretAt, content: 'GH_TOKEN={{env:GH_TOKEN}}\n' }] : [];
    const fake = fakeCodex(home, { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ...rewrite, { write: 'NOTES.md', content: 'hi\n' }, { write: 'debug.log', content: 'log\n' }, ...secret, ev.message('m', 'done'), ev.turnCompleted()] });
    const token = ['gh', 'p_', 'Sc4'.repeat(12)].join('');
    return runProcess(jgoCodex, { input: envelope({ path: wt.path, sha: git('rev-parse', 'HEAD') }), cwd: home, env: { ...baseEnv(home), ...fake.env, JGO_CACHE_DIR: wt.cache, JGO_TRACE: '1', GH_TOKEN: token } });
  };
  const clean = await run(undefined);
  t.equal(clean.code, 0, clean.stderr);
  t.same(JSON.parse(clean.stdout).codex.changed_files, ['NOTES.md']);
  const read = Number(/secret scan read (\d+) files/.exec(clean.stderr)?.[1]);
  t.ok(read >= 2 && read < 20, `the scan read NOTES.md, debug.log and what changed in .git and CODEX_HOME, not the 150 rewritten files (${read})`);
  for (const where of ['build/out/secret.txt', 'deep.log', '.git/config', 'src/f7.txt']) {
    const leaked = await run(where);
    t.equal(leaked.code, 1, `${where}: caught`);
    t.match(JSON.parse(leaked.stdout).error, { code: 'secret_on_disk', message: new RegExp(`written to \\S*${where.replace(/\./g, '\\.')}`) });
  }
});
