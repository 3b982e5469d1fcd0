/**
 * Bad input never crashes, never hangs: envelopes too deep or too large for the stages, replaced
 * stages that flood stdout or answer too deep, JGO_STAGE_* that does not split, a cache that can
 * never be made, a full disk. Each is its documented exit code and one line, within seconds.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir, type RunResult } from '../helpers/run.js';
import { fakeStages } from '../helpers/fake-stage.js';
import { startGitServer, createBareRepo } from '../helpers/git-server.js';

const jgo = bin('jgo');
const STAGES = ['gate', 'sync', 'worktree', 'codex', 'ship'];
const SECONDS = 15_000;

/** No stack trace, no Node crash banner. */
function noCrash(t: Test, r: RunResult, what: string): void {
  t.notMatch(r.stderr, /^\s+at |RangeError|Node\.js v/m, `${what}: no stack trace`);
  t.not(r.signal, 'SIGKILL', `${what}: ended by itself, in time`);
}

function world(t: Test) {
  const cache = tempDir(t);
  const home = tempDir(t);
  const fake = fakeStages(tempDir(t));
  const env = (extra: Record<string, string> = {}) => ({ ...baseEnv(home), JGO_CACHE_DIR: cache, ...fake.env(...STAGES), ...extra });
  return { cache, home, fake, env };
}

t.test('an envelope nested 50,000 levels deep: exit 2 envelope_too_deep from every stage', async (t) => {
  const home = tempDir(t);
  const deep = '['.repeat(50_000) + ']'.repeat(50_000);
  const inputs: Array<[string, string]> = [
    ['in a field of its own', `{"jgo":1,"x":${deep}}`],
    ['in a known field', `{"jgo":1,"gate":${deep}}`],
    ['never closed', `{"jgo":1,"x":${'['.repeat(50_000)}`],
  ];
  const runs = STAGES.flatMap((stage) =>
    inputs.map(async ([name, input]) => {
      const r = await runProcess(bin(`jgo-${stage}`), { input, env: { ...baseEnv(home), JGO_CACHE_DIR: tempDir(t) }, cwd: home, timeoutMs: SECONDS });
      return { stage, name, r };
    }),
  );
  for (const { stage, name, r } of await Promise.all(runs)) {
    const what = `jgo-${stage}, ${name}`;
    t.equal(r.code, 2, `${what}: exit 2`);
    t.match(r.stderr, new RegExp(`^jgo-${stage}: stdin:1:\\d+: nested more than 512 levels deep; an envelope is a shallow JSON object\\n  usage: `), `${what}: one line, and how to call`);
    t.equal(JSON.parse(r.stdout).error.code, 'envelope_too_deep');
    noCrash(t, r, what);
  }
});

t.test('an envelope over 16 MiB: jgo-sync stops reading and exits 2 envelope_too_large', async (t) => {
  const home = tempDir(t);
  const input = `{"jgo":1,"x":"${'a'.repeat(17 * 1024 * 1024)}"}`;
  const r = await runProcess(bin('jgo-sync'), { input, env: { ...baseEnv(home), JGO_CACHE_DIR: tempDir(t) }, cwd: home, timeoutMs: SECONDS });
  t.equal(r.code, 2);
  t.match(r.stderr, /^jgo-sync: stdin holds more than 16 MiB: an envelope is at most that\n/);
  t.equal(JSON.parse(r.stdout).error.code, 'envelope_too_large');
  noCrash(t, r, 'jgo-sync');
});

t.test('a replaced stage that floods stdout is stopped: exit 1 stage_output_too_large', async (t) => {
  const w = world(t);
  const r = await runProcess(jgo, { args: ['run', '--json', 'acme/widgets x'], env: w.env({ JGO_STAGE_GATE: 'yes' }), cwd: w.home, timeoutMs: SECONDS });
  t.equal(r.code, 1);
  t.match(r.stderr, /gate failed: jgo-gate wrote more than 16 MiB on stdout and was stopped \(stage_output_too_large, exit 1\)/);
  t.equal(JSON.parse(r.stdout).error.code, 'stage_output_too_large');
  noCrash(t, r, 'jgo run');
  const runId = readdirSync(join(w.cache, 'runs'))[0]!;
  t.equal(JSON.parse(readFileSync(join(w.cache, 'runs', runId, 'run.json'), 'utf8')).status, 'failed', 'the journal says how it ended');
});

t.test('a replaced stage that answers 50,000 levels deep: exit 1 bad_stage_output', async (t) => {
  const w = world(t);
  w.fake.answer('gate', `{"jgo":1,"x":${'['.repeat(50_000)}${']'.repeat(50_000)}}\n`);
  const r = await runProcess(jgo, { args: ['run', 'acme/widgets x'], env: w.env(), cwd: w.home, timeoutMs: SECONDS });
  t.equal(r.code, 1);
  t.match(r.stderr, /gate failed: jgo-gate wrote something that is not an envelope \(stdout:1:\d+: nested more than 512 levels deep/);
  noCrash(t, r, 'jgo run');
});

t.test('JGO_STAGE_* with broken quoting: exit 2, one line, before any journal', async (t) => {
  const w = world(t);
  for (const args of [['run', 'acme/widgets x'], ['resume', '20261207-000000-abcd']]) {
    const r = await runProcess(jgo, { args, env: w.env({ JGO_STAGE_CODEX: '"oops' }), cwd: w.home, timeoutMs: SECONDS });
    t.equal(r.code, 2, `${args[0]}: exit 2`);
    t.equal(r.stderr, 'jgo: JGO_STAGE_CODEX: unterminated double quote in "\\"oops"\n', `${args[0]}: one line`);
  }
  t.same(existsSync(join(w.cache, 'runs')) ? readdirSync(join(w.cache, 'runs')) : [], [], 'no run was started');
});

t.test('a JGO_CACHE_DIR that can never be made (/proc/x): exit 2 at once, from jgo and the stages', async (t) => {
  const home = tempDir(t);
  // With and without the code cache, which lib/boot.ts keeps under JGO_CACHE_DIR.
  const env = { ...baseEnv(home), JGO_CACHE_DIR: '/proc/x', JGO_CODE_CACHE: '0', JGO_GIT_BASE_URL: 'http://127.0.0.1:9' };
  const run = await runProcess(jgo, { args: ['run', 'acme/widgets x'], env, cwd: home, timeoutMs: SECONDS });
  t.equal(run.code, 2);
  t.equal(run.stderr, 'jgo: JGO_CACHE_DIR /proc/x cannot be created or written\n  Point JGO_CACHE_DIR at a writable directory (a volume in a container).\n');
  const sync = await runProcess(bin('jgo-sync'), { input: '{"jgo":1,"repo":{"ref":"acme/widgets","url":"http://127.0.0.1:9/acme/widgets.git"}}', env, cwd: home, timeoutMs: SECONDS });
  t.equal(sync.code, 2);
  t.equal(JSON.parse(sync.stdout).error.code, 'cache_unwritable');
  noCrash(t, sync, 'jgo-sync');
  t.test('with the code cache on', async (t) => {
    const started = Date.now();
    const r = await runProcess(jgo, { args: ['run', 'acme/widgets x'], env: { ...env, JGO_CODE_CACHE: '' }, cwd: home, timeoutMs: SECONDS });
    t.equal(r.code, 2);
    t.match(r.stderr, /^jgo: JGO_CACHE_DIR \/proc\/x cannot be created or written\n/);
    t.ok(Date.now() - started < SECONDS, 'at once');
    const gate = await runProcess(bin('jgo-gate'), { input: 'acme/widgets x', env: { ...env, JGO_CODE_CACHE: '' }, cwd: home, timeoutMs: SECONDS });
    t.equal(gate.code === null ? 'timed out' : 'answered', 'answered', 'jgo-gate does not spin either');
  });
});

/** Whether this test may mount a small tmpfs (as root, where mount is allowed). */
function canMount(): boolean {
  if (process.getuid?.() !== 0) return false;
  const probe = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'ignore' });
    execFileSync('umount', [probe]);
    return true;
  } catch {
    return false;
  } finally {
    rmSync(probe, { recursive: true, force: true });
  }
}
const fullDisk = { skip: canMount() ? false : 'needs root to mount a small tmpfs' };

/** A 1 MiB tmpfs as the cache, unmounted when the test ends. */
function smallDisk(t: Test): string {
  const dir = tempDir(t);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', dir], { stdio: 'ignore' });
  t.teardown(() => execFileSync('umount', [dir]));
  return dir;
}

/** Every journal file still parses, and no temporary is left beside them. */
function journalWhole(t: Test, dir: string): void {
  for (const file of readdirSync(dir)) {
    t.notMatch(file, /\.tmp$/, `no temporary ${file}`);
    if (file.endsWith('.json')) t.doesNotThrow(() => JSON.parse(readFileSync(join(dir, file), 'utf8')), `${file} is whole`);
  }
}

t.test('a full disk while jgo writes the journal: exit 1 disk_full, one line; resumed once there is room', fullDisk, async (t) => {
  const cache = smallDisk(t);
  const home = tempDir(t);
  const fake = fakeStages(tempDir(t));
  const filling = join(fake.dir, 'filling');
  writeFileSync(filling, '');
  // codex fills the disk, then answers: jgo then cannot write codex's record.
  const codex = `sh -c 'if [ -e "$0" ]; then head -c 4000000 /dev/zero > "$1/fill" 2>/dev/null; fi; exec "$2" "$3" codex "$4"' ${filling} ${cache} ${process.execPath} ${join(fake.dir, 'fake-stage.mjs')} ${fake.dir}`;
  const env = { ...baseEnv(home), JGO_CACHE_DIR: cache, ...fake.env(...STAGES), JGO_STAGE_CODEX: codex };
  const r = await runProcess(jgo, { args: ['run', 'acme/widgets x'], env, cwd: home, timeoutMs: SECONDS });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /^jgo: the disk is full: ENOSPC: no space left on device[^\n]*\n  Free space where JGO_CACHE_DIR is/m);
  noCrash(t, r, 'jgo run');
  const runId = readdirSync(join(cache, 'runs'))[0]!;
  journalWhole(t, join(cache, 'runs', runId));
  t.notOk(existsSync(join(cache, 'runs', runId, '4-codex.json')), 'codex has no record: resume runs it again');
  t.equal(JSON.parse(readFileSync(join(cache, 'runs', runId, 'run.json'), 'utf8')).status, 'running', 'run.json is its last whole version');

  rmSync(filling);
  rmSync(join(cache, 'fill'));
  const resumed = await runProcess(jgo, { args: ['resume', runId], env, cwd: home, timeoutMs: SECONDS });
  t.equal(resumed.code, 0, resumed.stderr);
  // The record before codex's is written while codex works: the full disk may have met it too.
  t.match(resumed.stderr, /resuming run \S+ at (worktree|codex)/);
});

t.test('a full disk while jgo-worktree writes the working copy: disk_full, and nothing half-made is left', fullDisk, async (t) => {
  const cache = smallDisk(t);
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const home = tempDir(t);
  const fake = fakeStages(tempDir(t));
  const url = server.repoUrl('acme/widgets.git');
  const gate = join(fake.dir, 'gate.mjs');
  writeFileSync(gate, `let s='';process.stdin.on('data',(d)=>(s+=d));process.stdin.on('end',()=>{const e=JSON.parse(s);process.stdout.write(JSON.stringify({...e,gate:{executable:true,reason:'',repo_ref:'acme/widgets',optimized_prompt:'x',model:'m'},repo:{ref:'acme/widgets',url:${JSON.stringify(url)}}})+'\\n')})`);
  const filling = join(fake.dir, 'filling');
  writeFileSync(filling, '');
  // jgo's own sync, then the disk filled before jgo-worktree's turn.
  const sync = `sh -c '"$0" "$1"; s=$?; if [ -e "$2" ]; then head -c 4000000 /dev/zero > "$3/fill" 2>/dev/null; fi; exit $s' ${process.execPath} ${bin('jgo-sync')} ${filling} ${cache}`;
  const env = { ...baseEnv(home), JGO_CACHE_DIR: cache, JGO_GIT_BASE_URL: server.url, ...fake.env('codex', 'ship'), JGO_STAGE_GATE: `"${process.execPath}" "${gate}"`, JGO_STAGE_SYNC: sync };
  const r = await runProcess(jgo, { args: ['run', 'acme/widgets x'], env, cwd: home, timeoutMs: SECONDS * 2 });
  t.equal(r.code, 1, r.stderr);
  t.match(r.stderr, /^jgo-worktree: the disk is full: ENOSPC: no space left on device/m, 'the stage says so in one line');
  noCrash(t, r, 'jgo run');
  const runId = readdirSync(join(cache, 'runs'))[0]!;
  journalWhole(t, join(cache, 'runs', runId));
  t.notOk(existsSync(join(cache, 'work', runId)), 'no working copy, whole or half');
  t.same(existsSync(join(cache, 'work', '.branches')) ? readdirSync(join(cache, 'work', '.branches')) : [], [], 'no branch claimed');

  rmSync(filling);
  rmSync(join(cache, 'fill'));
  const resumed = await runProcess(jgo, { args: ['resume', runId], env, cwd: home, timeoutMs: SECONDS * 2 });
  t.equal(resumed.code, 0, resumed.stderr);
  // sync's record is written as jgo-worktree starts, on the disk that is full by then.
  t.match(resumed.stderr, /resuming run \S+ at (sync|worktree)/);
  t.ok(existsSync(join(cache, 'work', runId, 'repo', 'README.md')));
});
