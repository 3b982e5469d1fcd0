/**
 * One run, one writer: jgo resume against a run another process has; a jgo-worktree killed
 * half-way and made again by jgo resume; stages killed by signals. Real jgo processes, stages
 * replaced by stand-ins where the point is jgo's own handling of them.
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir, type RunResult } from '../helpers/run.js';
import { fakeStages, type FakeStages } from '../helpers/fake-stage.js';
import { startGitServer, createBareRepo } from '../helpers/git-server.js';

const jgo = bin('jgo');
const ALL = ['gate', 'sync', 'worktree', 'codex', 'ship'];

interface World {
  cache: string;
  home: string;
  fake: FakeStages;
  env: (extra?: Record<string, string>) => Record<string, string>;
}

function world(t: Test): World {
  const cache = tempDir(t);
  const home = tempDir(t);
  const fake = fakeStages(tempDir(t));
  return { cache, home, fake, env: (extra = {}) => ({ ...baseEnv(home), JGO_CACHE_DIR: cache, ...fake.env(...ALL), ...extra }) };
}

const runIdOf = (r: RunResult) => /jgo: run (\S+)/.exec(r.stderr)?.[1] ?? '';

/** Every file of a run's journal with its bytes: what "untouched" is compared by. */
function snapshot(dir: string): Record<string, string> {
  const files: Record<string, string> = {};
  const walk = (d: string, prefix: string) => {
    for (const e of readdirSync(d, { withFileTypes: true })) {
      if (e.isDirectory()) walk(join(d, e.name), `${prefix}${e.name}/`);
      else files[`${prefix}${e.name}`] = readFileSync(join(d, e.name), 'utf8');
    }
  };
  walk(dir, '');
  return files;
}

async function until(what: string, check: () => boolean, ms = 60_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A run that failed at codex, to be resumed. */
async function failedRun(t: Test, w: World): Promise<string> {
  w.fake.fail('codex', true);
  const first = await runProcess(jgo, { args: ['run', 'acme/widgets add a file'], env: w.env(), cwd: w.home });
  t.equal(first.code, 1, first.stderr);
  t.match(first.stderr, /codex failed: codex was told to fail \(fake_failure, exit 1\)/);
  w.fake.fail('codex', false);
  return runIdOf(first);
}

t.test('jgo resume of a run another jgo resume has: exit 1 run_in_progress, the journal untouched', async (t) => {
  const w = world(t);
  const runId = await failedRun(t, w);
  const journal = join(w.cache, 'runs', runId);
  w.fake.hold('codex', true);
  const winner = runProcess(jgo, { args: ['resume', runId], env: w.env(), cwd: w.home });
  await until('the resumed codex to start', () => w.fake.log().filter((l) => l.stage === 'codex').length === 2);
  const before = snapshot(journal);
  const loser = await runProcess(jgo, { args: ['resume', '--json', runId], env: w.env(), cwd: w.home });
  t.equal(loser.code, 1, 'exit 1');
  t.match(loser.stderr, new RegExp(`^jgo: run ${runId} is in progress in another process \\(pid \\d+ on [^)]+\\)\\n  Wait for it to end; jgo show tells how far it is\\.\\n$`), 'one line, and what to do');
  t.equal(JSON.parse(loser.stdout).error.code, 'run_in_progress');
  t.same(snapshot(journal), before, 'the loser wrote nothing in the journal');
  w.fake.hold('codex', false);
  const won = await winner;
  t.equal(won.code, 0, won.stderr);
  t.same(w.fake.log().map((l) => l.stage), [...ALL.slice(0, 4), 'codex', 'ship'], 'codex ran again once, then ship');
  t.notOk(existsSync(join(journal, 'lock')), 'the lock is gone with the run');
  const again = await runProcess(jgo, { args: ['resume', runId], env: w.env(), cwd: w.home });
  t.equal(again.code, 0, 'a finished run resumes to its end');
  t.match(again.stderr, /is already done/);
});

t.test('two jgo resume started together: exactly one runs the stages, the other exits 1 run_in_progress', async (t) => {
  const w = world(t);
  const runId = await failedRun(t, w);
  w.fake.hold('codex', true);
  const results: Array<RunResult | undefined> = [undefined, undefined];
  const both = [0, 1].map((i) => runProcess(jgo, { args: ['resume', '--json', runId], env: w.env(), cwd: w.home }).then((r) => (results[i] = r)));
  // The loser ends while the winner waits in codex; two codex starts would mean two writers.
  await until('one resume to end', () => results.some((r) => r !== undefined) || w.fake.log().filter((l) => l.stage === 'codex').length > 2);
  w.fake.hold('codex', false);
  await Promise.all(both);
  const codes = results.map((r) => r?.code).sort();
  t.same(codes, [0, 1], 'one succeeded, one refused');
  const loser = results.find((r) => r?.code === 1)!;
  t.equal(JSON.parse(loser.stdout).error.code, 'run_in_progress');
  t.equal(w.fake.log().filter((l) => l.stage === 'codex').length, 2, 'codex: the failed run, then one resume');
  t.equal(w.fake.log().filter((l) => l.stage === 'ship').length, 1, 'ship once');
});

t.test('a lock left by a jgo that was killed is taken over by jgo resume', async (t) => {
  const w = world(t);
  const runId = await failedRun(t, w);
  // A lock left by a process that is gone (SIGKILL): its pid no longer runs.
  const dead = execFileSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  const lock = join(w.cache, 'runs', runId, 'lock');
  mkdirSync(lock);
  writeFileSync(join(lock, 'owner.json'), JSON.stringify({ host: (await import('node:os')).hostname(), pid: Number(dead), since: new Date().toISOString() }));
  const resumed = await runProcess(jgo, { args: ['resume', runId], env: w.env(), cwd: w.home });
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stderr, /resuming run \S+ at codex/);
});

t.test('a stage killed by a signal: exit 1, stage_killed naming the signal', async (t) => {
  const w = world(t);
  // The first stage is the one replaced: each case is then one stage process.
  const cases: Array<[string, string, RegExp]> = [
    ['SIGINT', `sh -c 'kill -INT $$'`, /gate failed: jgo-gate was killed by SIGINT \(stage_killed, exit 1\)/],
    ['SIGKILL', `sh -c 'kill -KILL $$'`, /gate failed: jgo-gate was killed by SIGKILL \(stage_killed, exit 1\)/],
    ['SIGTERM', `sh -c 'kill -TERM $$'`, /gate failed: jgo-gate was killed by SIGTERM \(stage_killed, exit 1\)/],
    ['exit 130', `sh -c 'exit 130'`, /gate failed: jgo-gate exited 130, as a process killed by SIGINT does \(stage_killed, exit 1\)/],
    ['exit 7', `sh -c 'exit 7'`, /gate failed: jgo-gate wrote nothing on stdout, exit 7 \(bad_stage_output, exit 1\)/],
  ];
  for (const [name, command, message] of cases) {
    const result = await runProcess(jgo, { args: ['run', '--json', 'acme/widgets add a file'], env: w.env({ JGO_STAGE_GATE: command }), cwd: w.home });
    t.equal(result.code, 1, `${name}: exit 1, never 128 or another undocumented code`);
    t.match(result.stderr, message, `${name}: says which signal`);
    const envelope = JSON.parse(result.stdout);
    t.equal(envelope.error.exit_code, 1, `${name}: the envelope says exit 1`);
    t.equal(envelope.error.code, name === 'exit 7' ? 'bad_stage_output' : 'stage_killed');
    t.notMatch(result.stderr, /    at /, `${name}: no stack trace`);
    const record = JSON.parse(readFileSync(join(w.cache, 'runs', runIdOf(result), '1-gate.json'), 'utf8'));
    t.equal(record.exit_code, 1, `${name}: the journal says exit 1`);
  }
  t.equal(w.fake.log().length, 0, 'nothing after the killed stage ran');
});

t.test('a jgo-worktree killed half-way leaves a copy that jgo resume recognises and makes again', async (t) => {
  const w = world(t);
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  // git on PATH, as jgo-worktree finds it: SIGKILLs the stage that runs it (its parent) at the
  // checkout, once the clone is made and before its files are written, while the flag file is there.
  const tools = tempDir(t);
  const flagFile = join(tools, 'kill');
  const realGit = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(tools, 'git'), `#!/bin/sh\nif [ "$1" = checkout ] && [ -e '${flagFile}' ]; then kill -KILL $PPID; sleep 5; exit 1; fi\nexec '${realGit}' "$@"\n`);
  chmodSync(join(tools, 'git'), 0o755);
  writeFileSync(flagFile, '');
  const url = server.repoUrl('acme/widgets.git');
  const gate = join(w.fake.dir, 'gate.mjs');
  writeFileSync(gate, `let s='';process.stdin.on('data',(d)=>(s+=d));process.stdin.on('end',()=>{const e=JSON.parse(s);process.stdout.write(JSON.stringify({...e,gate:{executable:true,reason:'',repo_ref:'acme/widgets',optimized_prompt:'x',model:'m'},repo:{ref:'acme/widgets',url:${JSON.stringify(url)}}})+'\\n')})`);
  const env = (extra: Record<string, string> = {}) => {
    const e = w.env({ JGO_GIT_BASE_URL: server.url, PATH: `${tools}:${process.env.PATH}`, JGO_STAGE_GATE: `"${process.execPath}" "${gate}"`, ...extra });
    delete e.JGO_STAGE_SYNC;
    delete e.JGO_STAGE_WORKTREE;
    return e;
  };
  const first = await runProcess(jgo, { args: ['run', 'acme/widgets add a file'], env: env(), cwd: w.home });
  t.equal(first.code, 1, first.stderr);
  t.match(first.stderr, /worktree failed: jgo-worktree was killed by SIGKILL \(stage_killed, exit 1\)/);
  const runId = runIdOf(first);
  const runDir = join(w.cache, 'work', runId);
  t.notOk(existsSync(join(runDir, 'repo')), 'no working copy where codex would look');
  t.ok(readdirSync(runDir).some((e) => e.startsWith('.repo-partial-')), 'the half-made one is aside');

  rmSync(flagFile);
  const resumed = await runProcess(jgo, { args: ['resume', runId], env: env(), cwd: w.home });
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stderr, /resuming run \S+ at worktree/);
  t.match(resumed.stderr, /jgo-worktree: a working copy left half-made by a stopped jgo-worktree was removed; making it again/);
  const repo = join(runDir, 'repo');
  const git = (...args: string[]) => execFileSync(realGit, args, { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: w.home, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
  t.equal(git('status', '--porcelain'), '', 'a whole, clean working copy');
  t.equal(readFileSync(join(repo, 'README.md'), 'utf8'), '# widgets\n');
  t.equal(git('branch', '--show-current'), `jgo/${runId.slice(0, 15)}`, 'on the branch the run had claimed, not a -2');
  t.same(readdirSync(runDir).filter((e) => e.startsWith('.repo-partial-')), [], 'nothing half-made is left');
  const record = JSON.parse(readFileSync(join(w.cache, 'runs', runId, '3-worktree.json'), 'utf8'));
  t.equal(record.envelope.worktree.path, repo);
});
