/**
 * A caught secret leaves nothing behind: a malicious fake agent writes the token plainly and
 * encoded into the working copy and through CODEX_HOME (session file, sqlite state and its WAL,
 * history, logs, config.toml); the run fails secret_on_disk, nothing under the cache holds the
 * token afterwards, the login survives, and the next run on the same cache succeeds.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage } from '../../lib/stage.js';
import { codexStage } from '../../lib/stages/codex.js';
import { makeRunTemp, runDirOf } from '../../lib/codex/leaks.js';
import { baseEnv, tempDir } from '../helpers/run.js';
import { memoryIO } from '../helpers/streams.js';
import { ev, fakeCodex, type FakeStep } from '../helpers/fake-codex.js';
import { filesHolding } from '../helpers/secret-forms.js';

// Assembled at run time: no token-shaped string sits in the source.
const TOKEN = ['gh', 'p_', 'Lk7'.repeat(12)].join('');
const RUN_ID = '20261123-202500-7f3a';
const LOGIN = '{"auth_mode":"apikey","OPENAI_API_KEY":"sk-stored-login-000"}';
const CONFIG = 'model = "gpt-5.5"\n';

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** A working copy where jgo-worktree puts it, and the envelope that names it. */
function workingCopy(cache: string): Record<string, unknown> {
  const path = join(cache, 'work', RUN_ID, 'repo');
  mkdirSync(path, { recursive: true });
  git(path, 'init', '-q', '-b', 'jgo/20261123-202500');
  writeFileSync(join(path, 'README.md'), 'hello\n');
  git(path, 'add', '.');
  git(path, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'init');
  return {
    jgo: 1,
    run_id: RUN_ID,
    request: 'acme/widgets add notes',
    gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: 'Add NOTES.md.', model: 'gate-model' },
    repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' },
    worktree: { path, branch: 'jgo/20261123-202500', base_branch: 'main', base_sha: git(path, 'rev-parse', 'HEAD') },
  };
}

/** A cache whose CODEX_HOME ($JGO_CACHE_DIR/codex) holds a login and settings, as a deployment has. */
function cacheWithLogin(t: Test): { cache: string; codexHome: string } {
  const cache = join(tempDir(t, 'jgo-leak-'), 'cache');
  const codexHome = join(cache, 'codex');
  mkdirSync(join(codexHome, 'sessions'), { recursive: true });
  writeFileSync(join(codexHome, 'auth.json'), LOGIN);
  writeFileSync(join(codexHome, 'config.toml'), CONFIG);
  return { cache, codexHome };
}

async function runCodex(t: Test, cache: string, steps: FakeStep[], input: Record<string, unknown>, cwd?: string) {
  const home = tempDir(t, 'jgo-home-');
  const fake = fakeCodex(home, { steps });
  const io = memoryIO(JSON.stringify(input), { cwd: cwd ?? home, env: { ...baseEnv(home), ...fake.env, JGO_CACHE_DIR: cache, GH_TOKEN: TOKEN } });
  const code = await runStage(codexStage(), io);
  t.notMatch(io.out() + io.err(), TOKEN, 'the token is in no output');
  return { code, out: JSON.parse(io.out()), stderr: io.err(), fake };
}

const malicious: FakeStep[] = [
  ev.threadStarted(),
  ev.turnStarted(),
  { write: 'config/.env', content: 'GH_TOKEN={{hex:GH_TOKEN}}\n' },
  { write: 'NOTES.md', content: 'notes\n' },
  { write: '{{codex_home}}/sessions/2026/11/23/rollout-x.jsonl', content: '{"output":"GH_TOKEN={{env:GH_TOKEN}}"}\n' },
  { write: '{{codex_home}}/state_5.sqlite', content: 'SQLite format 3\0' },
  { write: '{{codex_home}}/state_5.sqlite-wal', content: 'page {{b64:GH_TOKEN}} page' },
  { write: '{{codex_home}}/state_5.sqlite-shm', content: 'index' },
  { write: '{{codex_home}}/history.jsonl', content: '{"text":"curl -H {{pct:GH_TOKEN}}"}\n' },
  { write: '{{codex_home}}/log/codex-tui.log', content: 'token {{b64url:GH_TOKEN}}\n' },
  { write: '{{codex_home}}/config.toml', content: `${CONFIG}[mcp_servers.x]\nenv = { T = "{{env:GH_TOKEN}}" }\n` },
  ev.message('m', 'done'),
  ev.turnCompleted(),
];

t.test('a malicious agent: secret_on_disk, nothing of the token left on the cache, the login kept, the next run fine', async (t) => {
  const { cache, codexHome } = cacheWithLogin(t);
  const input = workingCopy(cache);
  const first = await runCodex(t, cache, malicious, input);
  t.equal(first.code, 1, first.stderr);
  t.match(first.out.error, { stage: 'codex', code: 'secret_on_disk', exit_code: 1 });
  t.match(first.out.error.message, /^a secret value in use was written to \S+ \(and 5 more: /);
  t.match(first.out.error.message, /; jgo removed 6 files of codex's from CODEX_HOME; put back config\.toml as it was; removed the working copy$/);
  t.match(first.stderr, /Rotate the secret: it was on disk while codex ran/);

  t.same(await filesHolding(cache, TOKEN), [], 'no file under the cache holds the token in any form');
  t.notOk(existsSync(join(cache, 'work', RUN_ID, 'repo')), 'the working copy is gone');
  t.equal(readFileSync(join(codexHome, 'auth.json'), 'utf8'), LOGIN, 'the login survives');
  t.equal(readFileSync(join(codexHome, 'config.toml'), 'utf8'), CONFIG, 'config.toml as it was before the run');
  for (const gone of ['state_5.sqlite', 'state_5.sqlite-wal', 'state_5.sqlite-shm', 'history.jsonl']) t.notOk(existsSync(join(codexHome, gone)), `${gone} removed`);
  t.same(readdirSync(join(cache, 'work', RUN_ID, 'tmp')), [], 'the last-message file went with the run');

  // The next run on the same cache: a fresh working copy, the same CODEX_HOME.
  const second = await runCodex(t, cache, [ev.threadStarted(), { write: 'NOTES.md', content: 'notes\n' }, ev.message('m', 'done'), ev.turnCompleted()], workingCopy(cache));
  t.equal(second.code, 0, second.stderr);
  t.same(second.out.codex.changed_files, ['NOTES.md']);
});

t.test("codex's temp files live under the cache, beside the working copy, and go", async (t) => {
  const { cache } = cacheWithLogin(t);
  const input = workingCopy(cache);
  const run = await runCodex(t, cache, [ev.threadStarted(), { write: 'NOTES.md', content: 'x\n' }, ev.message('m', 'all done'), ev.turnCompleted()], input);
  t.equal(run.code, 0, run.stderr);
  t.equal(run.out.codex.last_message, 'all done');
  const argv = run.fake.exec()!.argv!;
  const lastMessage = argv[argv.indexOf('-o') + 1]!;
  t.match(lastMessage, new RegExp(`^${join(cache, 'work', RUN_ID, 'tmp')}/codex-[^/]+/last-message\\.txt$`));
  t.notOk(existsSync(join(lastMessage, '..')), 'removed after the run');
  t.equal(git(join(cache, 'work', RUN_ID, 'repo'), 'status', '--porcelain'), '?? NOTES.md', 'outside the working copy: git does not see it');
});

t.test('the ad-hoc chain: a file outside the cache is named and left to its owner; CODEX_HOME is still cleaned', async (t) => {
  const { cache, codexHome } = cacheWithLogin(t);
  const cwd = tempDir(t, 'jgo-adhoc-');
  const { worktree: _none, ...input } = workingCopy(cache);
  const steps: FakeStep[] = [ev.threadStarted(), { write: 'dump.txt', content: '{{env:GH_TOKEN}}' }, { write: '{{codex_home}}/sessions/r.jsonl', content: '{{b64:GH_TOKEN}}' }, ev.turnCompleted()];
  const run = await runCodex(t, cache, steps, input, cwd);
  t.equal(run.code, 1, run.stderr);
  t.match(run.out.error.message, /; jgo removed 1 file of codex's from CODEX_HOME; left 1 file outside the cache to you$/);
  t.ok(existsSync(join(cwd, 'dump.txt')), 'not the cache: not jgo to delete');
  t.same(await filesHolding(codexHome, TOKEN), []);
  t.same(readdirSync(join(cache, 'tmp')), [], 'temp files of a run without a working copy: under $JGO_CACHE_DIR/tmp, and gone');
});

t.test('runDirOf and makeRunTemp: only a run\'s working copy has a run directory', async (t) => {
  const cache = tempDir(t);
  t.equal(runDirOf(cache, join(cache, 'work', RUN_ID, 'repo')), join(cache, 'work', RUN_ID));
  t.equal(runDirOf(cache, join(cache, 'work', '.removing-x-1', 'repo')), undefined);
  t.equal(runDirOf(cache, join(cache, 'elsewhere', RUN_ID, 'repo')), undefined);
  t.equal(runDirOf(cache, join(cache, 'work', RUN_ID, 'repo', 'sub')), undefined);
  const made = await makeRunTemp(cache, join(cache, 'work', RUN_ID, 'repo'), 'plan-');
  t.match(made, new RegExp(`^${join(cache, 'work', RUN_ID, 'tmp')}/plan-`));
});
