/**
 * jgo-codex through the real stage harness (in-process) against the fake codex, a real process
 * that checks our flags and follows a script: each case costs a few hundred milliseconds.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage } from '../../lib/stage.js';
import { codexStage } from '../../lib/stages/codex.js';
import { baseEnv, tempDir } from '../helpers/run.js';
import { memoryIO } from '../helpers/streams.js';
import { ev, fakeCodex, gone, THREAD_ID, type Fake, type FakeScript, type FakeStep } from '../helpers/fake-codex.js';

const GH_TOKEN = 'ghp_test0123456789abcdefSECRET';
const OPENAI_KEY = 'sk-test-openai-0123456789';
const TASK = 'Add a NOTES.md file and greet the world in README.md.';

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A committed repository with README.md, as jgo-worktree leaves it. */
function repository(t: Test): { path: string; sha: string } {
  // Where jgo-worktree puts it: $JGO_CACHE_DIR/work/<run_id>/repo (the stage derives the path).
  const path = join(tempDir(t, 'jgo-cache-'), 'work', '20261123-202500-7f3a', 'repo');
  mkdirSync(path, { recursive: true });
  git(path, 'init', '-q', '-b', 'jgo/20261123-202500');
  writeFileSync(join(path, 'README.md'), 'hello\n');
  git(path, 'add', '.');
  git(path, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'init');
  return { path, sha: git(path, 'rev-parse', 'HEAD') };
}

function envelope(worktree?: { path: string; sha: string }): Record<string, unknown> {
  return {
    jgo: 1,
    run_id: '20261123-202500-7f3a',
    request: 'acme/widgets add notes',
    gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: TASK, model: 'gate-model' },
    repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' },
    ...(worktree ? { worktree: { path: worktree.path, branch: 'jgo/20261123-202500', base_branch: 'main', base_sha: worktree.sha } } : {}),
  };
}

/** The cache a working copy made by repository() lives in. */
function cacheOf(input: Record<string, unknown> | undefined): string | undefined {
  const path = (input?.worktree as { path?: string } | undefined)?.path;
  return path === undefined ? undefined : join(path, '..', '..', '..');
}

interface Outcome {
  code: number;
  out: Record<string, any>;
  stdout: string;
  stderr: string;
  fake: Fake;
  codexHome: string;
  ms: number;
}

async function runCodexStage(
  t: Test,
  script: FakeScript,
  options: { input?: Record<string, unknown>; env?: Record<string, string>; cwd?: string; loggedIn?: boolean } = {},
): Promise<Outcome> {
  const home = tempDir(t, 'jgo-home-');
  const codexHome = join(tempDir(t, 'jgo-codex-home-'), 'codex');
  mkdirSync(codexHome);
  if (options.loggedIn !== false) writeFileSync(join(codexHome, 'auth.json'), '{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stored-login-000"}');
  const fake = fakeCodex(home, script);
  const io = memoryIO(JSON.stringify(options.input ?? envelope()), {
    cwd: options.cwd ?? home,
    env: { ...baseEnv(home), ...fake.env, CODEX_HOME: codexHome, JGO_CACHE_DIR: cacheOf(options.input) ?? join(home, 'cache'), GH_TOKEN, ...options.env },
  });
  const started = Date.now();
  const code = await runStage(codexStage(), io);
  const stdout = io.out();
  t.match(stdout, /^[^\n]+\n$/, 'one line on stdout');
  t.notMatch(stdout + io.err(), GH_TOKEN, 'no secret in any output');
  t.notMatch(stdout + io.err(), OPENAI_KEY, 'no secret in any output');
  return { code, out: JSON.parse(stdout), stdout, stderr: io.err(), fake, codexHome, ms: Date.now() - started };
}

const editSteps = (cwd: string): FakeStep[] => [
  ev.threadStarted(),
  ev.turnStarted(),
  ev.reasoning('item_0', 'Add the notes, then touch up the README.'),
  ev.message('item_1', 'Creating NOTES.md.'),
  ...ev.command('item_2', 'printf hi > NOTES.md', 0),
  { write: 'NOTES.md', content: 'hi\n' },
  { write: 'README.md', content: 'hello, world\n' },
  ev.fileChange('item_3', [{ path: join(cwd, 'README.md'), kind: 'update' }]),
  ev.message('item_4', 'Done: added NOTES.md and greeted the world.'),
  ev.turnCompleted(),
];

const argValue = (argv: string[], flag: string) => argv[argv.indexOf(flag) + 1];
const overrides = (argv: string[]) => argv.flatMap((a, i) => (argv[i - 1] === '-c' ? [a] : []));

t.test('codex changes files: exit 0 and the whole truth in "codex"', async (t) => {
  const wt = repository(t);
  const { code, out, stderr, fake, codexHome } = await runCodexStage(t, { steps: editSteps(wt.path) }, { input: envelope(wt) });
  t.equal(code, 0, stderr);
  t.equal(out.error, undefined);
  t.same(out.codex.changed_files, ['NOTES.md', 'README.md'], 'from the repository, the untracked file included');
  t.equal(out.codex.exit_code, 0);
  t.equal(out.codex.last_message, 'Done: added NOTES.md and greeted the world.');
  t.equal(out.codex.thread_id, THREAD_ID);
  t.same(out.codex.usage, { input_tokens: 300, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: 60, reasoning_output_tokens: 0, total_tokens: 360 });
  t.same(out.codex.failed_commands, []);
  t.equal(out.codex.sandbox, 'workspace-write');
  t.type(out.codex.duration_ms, 'number');
  t.equal(out.gate.optimized_prompt, TASK, 'the rest of the envelope is passed on');

  // What people watching stderr see.
  t.match(stderr, /jgo-codex: codex exec in .* \(sandbox workspace-write, network on, provider codex, env inherit\)/);
  t.match(stderr, /jgo-codex: \$ printf hi > NOTES\.md\n/);
  t.match(stderr, /jgo-codex:   ok \(exit 0\): printf hi > NOTES\.md/);
  t.match(stderr, /jgo-codex: edited: update README\.md/);
  t.match(stderr, /jgo-codex: codex: Done: added NOTES\.md/);
  t.match(stderr, /jgo-codex: turn completed: 300 input tokens, 60 output/);

  // What codex was given.
  const records = fake.records();
  t.same(records.map((r) => r.kind), ['login', 'exec'], 'login status first, then exec');
  const exec = fake.exec()!;
  t.equal(exec.cwd, wt.path, 'runs in worktree.path');
  t.equal(exec.pgid, exec.pid, 'in a process group of its own');
  t.equal(exec.argv?.[0], 'exec');
  t.notOk(exec.argv?.includes('--skip-git-repo-check'), 'inside a repository no skip');
  t.equal(argValue(exec.argv!, '--disable'), 'shell_snapshot');
  t.equal(argValue(exec.argv!, '-s'), 'workspace-write');
  t.ok(overrides(exec.argv!).includes('approval_policy="never"'));
  t.ok(overrides(exec.argv!).includes('sandbox_workspace_write.network_access=true'));
  t.notOk(exec.argv!.some((a) => a.includes(TASK)), 'the prompt is not in the argv (ps shows argv)');
  t.equal(exec.env?.CODEX_HOME, codexHome);
  t.equal(exec.env?.GH_TOKEN, GH_TOKEN, 'inherit: gh can authenticate');
  t.match(exec.stdin, TASK, 'the prompt came on stdin');
  t.match(exec.stdin, /acme\/widgets/);
  t.match(exec.stdin, /Do not commit, push/);
  t.match(exec.stdin, /jgo\/20261123-202500/);
  t.notOk(existsSync(join(codexHome, 'shell_snapshots')));
  t.notOk(existsSync(argValue(exec.argv!, '-o')!), 'the -o file is cleaned up');
});

t.test('codex changes nothing: exit 4, no_changes, "codex" still filled', async (t) => {
  const wt = repository(t);
  const { code, out, stderr } = await runCodexStage(
    t,
    { steps: [ev.threadStarted(), ev.turnStarted(), ev.message('item_0', 'The README already greets the world.'), ev.turnCompleted(100, 10)] },
    { input: envelope(wt) },
  );
  t.equal(code, 4);
  t.match(out.error, { stage: 'codex', code: 'no_changes', exit_code: 4 });
  t.same(out.codex.changed_files, []);
  t.equal(out.codex.last_message, 'The README already greets the world.');
  t.match(stderr, /codex said: The README already greets the world\./);
});

t.test('turn.failed: exit 1, codex_failed with codex message; a top-level error before it is only a notice', async (t) => {
  const wt = repository(t);
  const { code, out, stderr } = await runCodexStage(
    t,
    {
      steps: [
        ev.threadStarted(),
        ev.turnStarted(),
        ev.notice('Reconnecting... 1/5 (stream disconnected)'),
        ev.notice('stream disconnected before completion: scripted boom'),
        ev.turnFailed('stream disconnected before completion: scripted boom'),
      ],
      exit: 1,
    },
    { input: envelope(wt) },
  );
  t.equal(code, 1);
  t.match(out.error, { code: 'codex_failed', message: 'codex failed: stream disconnected before completion: scripted boom', exit_code: 1 });
  t.equal(out.codex.exit_code, 1);
  t.equal(out.codex.last_message, '', 'no answer on a failed turn');
  t.match(stderr, /notice: Reconnecting\.\.\. 1\/5/);
  t.match(stderr, /turn failed: stream disconnected/);
  t.match(stderr, new RegExp(`resume ${THREAD_ID}`), 'says where the session is');
});

t.test('exit 0 from codex is not success: no turn.completed, or a non-zero exit, is codex_failed', async (t) => {
  const wt = repository(t);
  const silent = await runCodexStage(t, { steps: [ev.threadStarted(), ev.turnStarted(), { write: 'x.txt', content: 'x' }] }, { input: envelope(wt) });
  t.equal(silent.code, 1);
  t.match(silent.out.error, { code: 'codex_failed', message: /without completing its turn/ });
  const crashed = await runCodexStage(t, { steps: [ev.threadStarted(), { stderr: 'thread main panicked at core/src/lib.rs' }], exit: 101 }, { input: envelope(repository(t)) });
  t.equal(crashed.code, 1);
  t.match(crashed.out.error, { code: 'codex_failed', message: /panicked/ });
  t.equal(crashed.out.codex.exit_code, 101);
});

t.test('a command that fails inside a successful turn is reported, and the run still succeeds', async (t) => {
  const wt = repository(t);
  const { code, out, stderr } = await runCodexStage(
    t,
    {
      steps: [
        ev.threadStarted(),
        ev.turnStarted(),
        ...ev.command('item_0', 'npm test', 2, 'npm ERR! missing script: test\n'),
        { write: 'NOTES.md', content: 'notes\n' },
        ev.message('item_1', 'Added NOTES.md; there is no test script.'),
        ev.turnCompleted(),
      ],
    },
    { input: envelope(wt) },
  );
  t.equal(code, 0, stderr);
  t.same(out.codex.failed_commands, [{ command: 'npm test', exit_code: 2 }]);
  t.same(out.codex.changed_files, ['NOTES.md']);
  t.match(stderr, /failed \(exit 2\): npm test — npm ERR! missing script: test/);
  t.match(stderr, /1 failed command/);
});

t.test('a hang: the idle limit fires, codex_timeout, and the whole process group is gone', async (t) => {
  const wt = repository(t);
  const { code, out, fake, ms, stderr } = await runCodexStage(t, { steps: [ev.threadStarted(), ev.turnStarted(), { hang: true }] }, { input: envelope(wt), env: { JGO_CODEX_IDLE_S: '1' } });
  t.equal(code, 1, stderr);
  t.match(out.error, { code: 'codex_timeout', message: /no event for 1 s \(JGO_CODEX_IDLE_S\)/ });
  t.equal(out.codex.thread_id, THREAD_ID, 'what was seen before the hang is kept');
  t.ok(ms < 6000, `stopped on time (${ms} ms)`);
  const grandchild = fake.records().find((r) => r.grandchild !== undefined);
  t.ok(grandchild, 'the fake started a process of its own, as the npm wrapper does');
  t.ok(gone(fake.exec()!.pid), 'codex is gone');
  t.ok(gone(grandchild!.grandchild!), 'and so is the process it started');
});

t.test('a codex that ignores SIGTERM is killed; the wall-clock limit counts too', async (t) => {
  const wt = repository(t);
  const { code, out, fake, ms } = await runCodexStage(
    t,
    { steps: [ev.threadStarted(), { hang: true, ignoreTerm: true }] },
    { input: envelope(wt), env: { JGO_CODEX_TIMEOUT_S: '1', JGO_CODEX_IDLE_S: '60' } },
  );
  t.equal(code, 1);
  t.match(out.error, { code: 'codex_timeout', message: /more than 1 s \(JGO_CODEX_TIMEOUT_S\)/ });
  t.ok(ms < 8000, `stopped on time (${ms} ms)`);
  const grandchild = fake.records().find((r) => r.grandchild !== undefined)!;
  t.ok(gone(fake.exec()!.pid) && gone(grandchild.grandchild!), 'SIGKILL after the grace period took the group');
});

t.test('not logged in: exit 2, codex_login_required, the commands that fix it; codex exec never runs', async (t) => {
  const wt = repository(t);
  const { code, out, stderr, fake, codexHome } = await runCodexStage(t, { steps: editSteps(wt.path) }, { input: envelope(wt), loggedIn: false });
  t.equal(code, 2);
  t.match(out.error, { code: 'codex_login_required', exit_code: 2, message: /Not logged in/ });
  t.match(stderr, `CODEX_HOME=${codexHome} `);
  t.match(stderr, /fake-codex\.mjs login\n/);
  t.match(stderr, /printenv OPENAI_API_KEY \| CODEX_HOME=\S+ \S+fake-codex\.mjs login --with-api-key/);
  t.same(fake.records().map((r) => r.kind), ['login']);
  t.notOk(existsSync(join(wt.path, 'NOTES.md')));
});

t.test('CODEX_API_KEY stands in for a login: no login status, and codex exec gets the key', async (t) => {
  const wt = repository(t);
  const key = 'codex-key-0123456789abc';
  const { code, fake, stdout, stderr } = await runCodexStage(t, { steps: editSteps(wt.path) }, { input: envelope(wt), loggedIn: false, env: { CODEX_API_KEY: key } });
  t.equal(code, 0, stderr);
  t.same(fake.records().map((r) => r.kind), ['exec']);
  t.equal(fake.exec()?.env?.CODEX_API_KEY, key);
  t.notOk(fake.exec()?.argv?.some((a) => a.includes(key)));
  t.notMatch(stdout + stderr, key);
});

t.test('openai-compatible: the gate endpoint, the key by env_key only, no login needed; minimal env', async (t) => {
  const wt = repository(t);
  const { code, fake, stderr, out } = await runCodexStage(t, { steps: editSteps(wt.path) }, {
    input: envelope(wt),
    loggedIn: false,
    env: {
      JGO_CODEX_PROVIDER: 'openai-compatible',
      OPENAI_BASE_URL: 'http://127.0.0.1:9/v1',
      OPENAI_API_KEY: OPENAI_KEY,
      MODEL: 'gpt-5.5',
      JGO_CODEX_ENV: 'minimal',
      JGO_CODEX_ENV_PASS: 'EXTRA_PASSED',
      EXTRA_PASSED: 'yes',
      JGO_CODEX_SANDBOX: 'danger-full-access',
      JGO_CODEX_NETWORK: 'false',
    },
  });
  t.equal(code, 0, stderr);
  t.equal(out.codex.model, 'gpt-5.5');
  t.equal(out.codex.sandbox, 'danger-full-access');
  const exec = fake.exec()!;
  t.same(fake.records().map((r) => r.kind), ['exec'], 'no login check for the openai-compatible provider');
  t.equal(exec.env?.JGO_CODEX_API_KEY, OPENAI_KEY, 'the key is in the environment');
  t.notOk(exec.argv!.some((a) => a.includes(OPENAI_KEY)), 'and in no argv value');
  t.equal(argValue(exec.argv!, '-m'), 'gpt-5.5');
  t.equal(argValue(exec.argv!, '-s'), 'danger-full-access');
  t.ok(overrides(exec.argv!).includes('model_providers.jgo.base_url="http://127.0.0.1:9/v1"'));
  t.ok(overrides(exec.argv!).includes('model_providers.jgo.env_key="JGO_CODEX_API_KEY"'));
  t.ok(overrides(exec.argv!).includes('sandbox_workspace_write.network_access=false'));
  // tap's process-info hook adds NODE_OPTIONS and _TAPJS_* to every child it sees spawned.
  const passed = Object.keys(exec.env!).filter((k) => !k.startsWith('CODEX_') && !k.startsWith('_TAPJS_') && k !== 'NODE_OPTIONS');
  t.same(passed.sort(), ['EXTRA_PASSED', 'HOME', 'JGO_CODEX_API_KEY', 'LANG', 'PATH']);
  t.equal(exec.env?.GH_TOKEN, undefined, 'minimal: GH_TOKEN stays behind');
});

t.test('a secret written to the working copy or CODEX_HOME: secret_on_disk, naming the file only', async (t) => {
  const wt = repository(t);
  const inCopy = await runCodexStage(
    t,
    { steps: [ev.threadStarted(), ev.turnStarted(), { write: 'config/.env', content: 'GH_TOKEN={{env:GH_TOKEN}}\n' }, ev.message('i', 'wrote config'), ev.turnCompleted()] },
    { input: envelope(wt) },
  );
  t.equal(inCopy.code, 1);
  t.match(inCopy.out.error, { code: 'secret_on_disk', message: `a secret value in use was written to ${join(wt.path, 'config', '.env')}; jgo removed the working copy` });
  t.ok(inCopy.out.codex, 'what codex did is still reported');
  t.notOk(existsSync(wt.path), 'the working copy, with the secret, is gone from the cache');
  t.ok(existsSync(join(wt.path, '..')), 'the run directory itself is left to the run');

  const wt2 = repository(t);
  const inHome = await runCodexStage(
    t,
    { steps: [ev.threadStarted(), { write: '{{codex_home}}/sessions/rollout.jsonl', content: '{"output":"{{env:GH_TOKEN}}"}' }, { write: 'NOTES.md', content: 'x' }, ev.turnCompleted()] },
    { input: envelope(wt2) },
  );
  t.equal(inHome.code, 1);
  t.match(inHome.out.error, { code: 'secret_on_disk', message: new RegExp(`${inHome.codexHome}/sessions/rollout\\.jsonl; jgo removed 1 file of codex's from CODEX_HOME$`) });
  t.notOk(existsSync(join(inHome.codexHome, 'sessions', 'rollout.jsonl')), 'the file is gone');
  t.ok(existsSync(join(inHome.codexHome, 'auth.json')), 'the login stays');
  t.ok(existsSync(join(wt2.path, 'NOTES.md')), 'a working copy without the secret stays');
});

t.test('read-only sandbox (as ship plans): CODEX_HOME, where codex itself writes, is still scanned for secrets', async (t) => {
  const wt = repository(t);
  const inHome = await runCodexStage(
    t,
    { steps: [ev.threadStarted(), { write: '{{codex_home}}/sessions/rollout.jsonl', content: '{"output":"{{env:GH_TOKEN}}"}' }, ev.turnCompleted()] },
    { input: envelope(wt), env: { JGO_CODEX_SANDBOX: 'read-only' } },
  );
  t.equal(inHome.code, 1);
  t.match(inHome.out.error, { code: 'secret_on_disk', message: new RegExp(`${inHome.codexHome}/sessions/rollout\\.jsonl; jgo removed 1 file of codex's from CODEX_HOME$`) });
  t.equal(argValue(inHome.fake.exec()!.argv!, '-s'), 'read-only');
});

t.test('ad hoc, outside a git repository: --skip-git-repo-check, no changed_files, no no-change check', async (t) => {
  const dir = tempDir(t, 'jgo-adhoc-');
  const { code, out, fake, stderr } = await runCodexStage(
    t,
    { steps: [ev.threadStarted(), ev.turnStarted(), ev.message('i', 'Nothing needed.'), ev.turnCompleted()] },
    { cwd: dir },
  );
  t.equal(code, 0, stderr);
  t.equal(out.codex.changed_files, undefined);
  t.equal(out.worktree, undefined);
  t.equal(fake.exec()?.cwd, dir, 'the current directory');
  t.ok(fake.exec()?.argv?.includes('--skip-git-repo-check'));
  t.match(fake.exec()?.stdin, /not a git repository/);
});

t.test('ad hoc, in a checkout with work in progress: only what codex changed counts', async (t) => {
  const wt = repository(t);
  writeFileSync(join(wt.path, 'README.md'), 'my own edit\n');
  mkdirSync(join(wt.path, 'src'));
  const unchanged = await runCodexStage(t, { steps: [ev.threadStarted(), ev.message('i', 'ok'), ev.turnCompleted()] }, { cwd: join(wt.path, 'src') });
  t.equal(unchanged.code, 4, 'the user’s own dirty README is not codex’s change');
  t.same(unchanged.out.codex.changed_files, []);
  t.notOk(unchanged.fake.exec()?.argv?.includes('--skip-git-repo-check'));
  const changed = await runCodexStage(t, { steps: [ev.threadStarted(), { write: 'NOTES.md', content: 'n' }, { write: '../README.md', content: 'more\n' }, ev.turnCompleted()] }, { cwd: join(wt.path, 'src') });
  t.equal(changed.code, 0);
  t.same(changed.out.codex.changed_files, ['README.md', 'src/NOTES.md'], 'paths from the repository root');
});

t.test('input and settings errors: exit 2 before codex runs', async (t) => {
  const wt = repository(t);
  const noGate = await runCodexStage(t, {}, { input: { jgo: 1, request: 'x' } });
  t.equal(noGate.code, 2);
  t.match(noGate.out.error, { code: 'missing_field', message: /run jgo-gate first/ });
  const missing = await runCodexStage(t, {}, { input: envelope({ path: join(tempDir(t), 'work', '20261123-202500-7f3a', 'repo'), sha: wt.sha }) });
  t.equal(missing.out.error.code, 'worktree_missing');
  const elsewhere = await runCodexStage(t, {}, { input: envelope({ path: '/nonexistent/jgo/repo', sha: wt.sha }) });
  t.equal(elsewhere.out.error.code, 'bad_path', 'a path that is not the run\'s working copy is refused');
  t.equal(elsewhere.code, 2);
  const noBin = await runCodexStage(t, {}, { input: envelope(wt), env: { CODEX_BIN: 'no-such-codex-binary' } });
  t.equal(noBin.code, 2);
  t.match(noBin.out.error, { code: 'codex_missing', message: /CODEX_BIN=no-such-codex-binary: no such executable on PATH/ });
  const badSandbox = await runCodexStage(t, {}, { input: envelope(wt), env: { JGO_CODEX_SANDBOX: 'yolo' } });
  t.equal(badSandbox.out.error.code, 'invalid_setting');
  t.same(noGate.fake.records().concat(missing.fake.records(), elsewhere.fake.records(), noBin.fake.records(), badSandbox.fake.records()), [], 'codex never ran');
});

t.test('CODEX_HOME is created when missing, private to the user', async (t) => {
  const wt = repository(t);
  const parent = tempDir(t);
  const codexHome = join(parent, 'a', 'b', 'codex');
  const { code, fake } = await runCodexStage(t, { login: 'ok', steps: editSteps(wt.path) }, { input: envelope(wt), env: { CODEX_HOME: codexHome } });
  t.equal(code, 0);
  t.equal(fake.exec()?.env?.CODEX_HOME, codexHome);
  t.equal(statSync(codexHome).mode & 0o777, 0o700);
  t.equal(readFileSync(join(wt.path, 'NOTES.md'), 'utf8'), 'hi\n');
});
