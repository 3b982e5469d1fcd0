/**
 * jgo run, resume, runs, show and gc as processes, every stage a real process, against the
 * loopback git server, the loopback model server and the fake codex.
 */
import t, { type Test } from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir } from '../helpers/run.js';
import { startGitServer, createBareRepo, revParse, runGit, type GitServer } from '../helpers/git-server.js';
import { startLlmServer, gateAnswer, type LlmReply } from '../helpers/llm-server.js';
import { fakeCodex, ev, type FakeScript } from '../helpers/fake-codex.js';

const jgo = bin('jgo');
const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

/** The edit run writes files; the planning run answers one commit per file. */
function codexScript(files: Record<string, string>): FakeScript {
  return {
    login: 'ok',
    runs: [
      { steps: [ev.threadStarted(), ev.turnStarted(), ...Object.entries(files).map(([write, content]) => ({ write, content })), ev.message('m', 'done'), ev.turnCompleted()] },
      {
        steps: [
          ev.threadStarted(),
          ev.turnStarted(),
          ev.message('p', JSON.stringify({ commits: Object.keys(files).map((p) => ({ subject: `docs: add ${p}`, body: '', paths: [p] })) })),
          ev.turnCompleted(100, 20),
        ],
      },
    ],
  };
}

interface World {
  server: GitServer;
  cache: string;
  home: string;
  env: (extra?: Record<string, string>) => Record<string, string>;
  fake: ReturnType<typeof fakeCodex>;
  llm: Awaited<ReturnType<typeof startLlmServer>>;
}

async function world(t: Test, replies: LlmReply[] = [gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Add CONTRIBUTING.md.' })], files = { 'CONTRIBUTING.md': 'Be kind.\n' }): Promise<World> {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const llm = await startLlmServer(replies);
  t.teardown(llm.close);
  const cache = tempDir(t);
  const home = tempDir(t);
  const fake = fakeCodex(tempDir(t), codexScript(files));
  const env = (extra: Record<string, string> = {}) => ({
    ...baseEnv(home),
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: 'test-key-abcdef123456',
    MODEL: 'gpt-test-mini',
    JGO_GIT_BASE_URL: server.url,
    JGO_CACHE_DIR: cache,
    ...fake.env,
    ...extra,
  });
  return { server, cache, home, env, fake, llm };
}

t.test('a full run puts a branch on the server and prints it last', async (t) => {
  const w = await world(t);
  const result = await runProcess(jgo, { args: ['run', 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(result.code, 0, result.stderr);
  const branch = result.stdout.trim().split('\n').at(-1)!;
  t.match(branch, /^jgo\/\d{8}-\d{6}$/, 'the pushed branch is the last line of stdout');
  t.equal(result.stdout, `${branch}\n`, 'and the only one');
  const sha = await revParse(w.server, 'acme/widgets.git', branch);
  t.ok(sha);
  t.match(result.stderr, /jgo-gate: executable/);
  t.match(result.stderr, /jgo-ship: pushed/, "the stages' stderr is passed through");
  t.notMatch(result.stdout + result.stderr, 'test-key-abcdef123456');

  const runId = /jgo: run (\S+)/.exec(result.stderr)?.[1] ?? '';
  const journal = join(w.cache, 'runs', runId);
  t.same(readdirSync(journal).sort(), ['1-gate.json', '2-sync.json', '3-worktree.json', '4-codex.json', '5-ship.json', 'run.json']);
  const shipRecord = JSON.parse(readFileSync(join(journal, '5-ship.json'), 'utf8'));
  t.equal(shipRecord.envelope.ship.remote_sha, sha);
  t.ok(Date.parse(shipRecord.ended) >= Date.parse(shipRecord.started));
  t.equal(JSON.parse(readFileSync(join(journal, 'run.json'), 'utf8')).status, 'done');
  for (const file of readdirSync(journal)) t.notMatch(readFileSync(join(journal, file), 'utf8'), 'test-key-abcdef123456', `no secret in ${file}`);

  const runs = await runProcess(jgo, { args: ['runs'], env: w.env(), cwd: w.home });
  t.match(runs.stdout, new RegExp(`${runId}\\s+\\S+ \\S+\\s+acme/widgets\\s+ship\\s+done\\s+${branch.replace('/', '\\/')}`));
  const show = await runProcess(jgo, { args: ['show', runId], env: w.env(), cwd: w.home });
  t.match(show.stdout, /docs: add CONTRIBUTING\.md/);
  t.match(show.stdout, /^  gate +\d+(\.\d)? m?s  ok$/m, 'stages with their durations');
  t.match(show.stdout, /files \(1\):\n  CONTRIBUTING\.md/);
  // The gate's call (120), codex's edit (360) and its plan (120), as the loopback servers counted them.
  t.match(show.stdout, /tokens: 600 \(500 in, 100 out\); gate 120, codex 360, ship 120/);
  const report = JSON.parse((await runProcess(jgo, { args: ['show', '--json', runId], env: w.env(), cwd: w.home })).stdout);
  t.equal(report.branch, branch);
  t.same(report.stages.map((x: { stage: string }) => x.stage), ['gate', 'sync', 'worktree', 'codex', 'ship']);
  t.equal(report.usage.total_tokens, 600);
  const json = await runProcess(jgo, { args: ['run', '--json', 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(json.code, 1, 'the scripted model has no second answer: the gate fails');
  t.equal(JSON.parse(json.stdout).error.stage, 'gate', '--json prints the final envelope');
});

t.test('a refused request exits 3 and runs nothing after the gate', async (t) => {
  const w = await world(t, [gateAnswer({ executable: false, reason: 'no concrete change' })]);
  const result = await runProcess(jgo, { args: ['run', 'acme/widgets make it nicer'], env: w.env(), cwd: w.home });
  t.equal(result.code, 3);
  t.equal(result.stdout, '');
  t.match(result.stderr, /gate failed: not executable: no concrete change/);
  t.equal(w.server.stats.length, 0, 'no git traffic');
  t.equal(w.fake.records().length, 0, 'no codex');
  t.notMatch(result.stderr, /jgo-(sync|worktree|codex|ship)/, 'the stage started ahead was stopped without a word');
  const runId = readdirSync(join(w.cache, 'runs'))[0]!;
  t.same(readdirSync(join(w.cache, 'runs', runId)).sort(), ['1-gate.json', 'run.json']);
});

t.test('a run that fails at push, then jgo resume pushes without running codex again', async (t) => {
  const w = await world(t);
  // A pre-receive hook that refuses every push while the block file exists.
  const block = join(w.home, 'block');
  writeFileSync(block, '');
  const hook = join(w.server.root, 'acme', 'widgets.git', 'hooks', 'pre-receive');
  writeFileSync(hook, `#!/bin/sh\nif [ -e '${block}' ]; then echo 'pushes are blocked' >&2; exit 1; fi\n`);
  chmodSync(hook, 0o755);
  const first = await runProcess(jgo, { args: ['run', 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(first.code, 1);
  t.match(first.stderr, /ship failed: .*push_rejected/);
  const runId = /jgo: run (\S+)/.exec(first.stderr)?.[1] ?? '';
  t.match(first.stderr, new RegExp(`jgo resume ${runId}`), 'tells how to continue');
  const execsBefore = w.fake.records().filter((r) => r.kind === 'exec').length;
  t.equal(execsBefore, 2, 'codex edited and planned once');

  rmSync(block);
  const resumed = await runProcess(jgo, { args: ['resume', runId], env: w.env(), cwd: w.home });
  t.equal(resumed.code, 0, resumed.stderr);
  t.match(resumed.stderr, /resuming run \S+ at ship/);
  const branch = resumed.stdout.trim();
  t.ok(await revParse(w.server, 'acme/widgets.git', branch));
  t.equal(w.fake.records().filter((r) => r.kind === 'exec').length, 2, 'no second codex run');
  const again = await runProcess(jgo, { args: ['resume', runId], env: w.env(), cwd: w.home });
  t.equal(again.code, 0);
  t.equal(again.stdout.trim(), branch, 'a finished run resumes to its branch');
});

t.test('three concurrent runs on one repository give three branches and a sound mirror', async (t) => {
  const w = await world(t, [1, 2, 3].map(() => gateAnswer({ executable: true, repo_ref: 'acme/widgets' })));
  const runs = await Promise.all(
    [1, 2, 3].map((n) => {
      const fake = fakeCodex(tempDir(t), codexScript({ [`file-${n}.md`]: `${n}\n` }));
      return runProcess(jgo, { args: ['run', '--quiet', `acme/widgets add file-${n}.md`], env: w.env(fake.env), cwd: w.home, timeoutMs: 120_000 });
    }),
  );
  const branches = runs.map((r) => r.stdout.trim());
  runs.forEach((r, i) => t.equal(r.code, 0, `run ${i + 1}: ${r.stderr}`));
  t.equal(new Set(branches).size, 3, `three distinct branches: ${branches.join(', ')}`);
  for (const b of branches) t.ok(await revParse(w.server, 'acme/widgets.git', b));
  const mirror = readdirSync(join(w.cache, 'repos')).find((e) => e.endsWith('.git'))!;
  t.equal(git(join(w.cache, 'repos', mirror), 'fsck', '--no-progress', '--no-dangling'), '');
  t.ok(runs.every((r) => r.stderr === ''), '--quiet prints nothing else on success');
});

t.test('a replaced stage: JGO_STAGE_CODEX names another executable and its arguments', async (t) => {
  const w = await world(t);
  const agent = join(w.home, 'my agent.mjs');
  writeFileSync(
    agent,
    `import { writeFileSync } from 'node:fs';
let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const env = JSON.parse(input);
  writeFileSync(env.worktree.path + '/AGENT.md', 'made by ' + process.argv.slice(2).join(' ') + '\\n');
  process.stderr.write('my-agent: wrote AGENT.md\\n');
  process.stdout.write(JSON.stringify({ ...env, codex: { exit_code: 0, changed_files: ['AGENT.md'], last_message: 'ok', duration_ms: 1 } }) + '\\n');
});
`,
  );
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ev.message('p', JSON.stringify({ commits: [{ subject: 'docs: add AGENT.md', body: '', paths: ['AGENT.md'] }] })), ev.turnCompleted()] });
  const result = await runProcess(jgo, {
    args: ['run', 'acme/widgets add an agent note'],
    env: w.env({ ...fake.env, JGO_STAGE_CODEX: `${process.execPath} "${agent}" --fast 'two words'` }),
    cwd: w.home,
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /my-agent: wrote AGENT\.md/);
  const branch = result.stdout.trim();
  const clone = tempDir(t);
  // Async: the git server lives in this process, so a synchronous clone would wait on itself.
  await runGit(w.server, ['clone', '-q', '--branch', branch, w.server.repoUrl('acme/widgets.git'), join(clone, 'c')]);
  t.equal(readFileSync(join(clone, 'c', 'AGENT.md'), 'utf8'), 'made by --fast two words\n', 'the replacement ran, with its arguments split like a shell would');
});

t.test('a gate replaced in the env file: jgo-gate never runs, the replacement does', async (t) => {
  const w = await world(t);
  const gate = join(w.home, 'my gate.mjs');
  writeFileSync(
    gate,
    `let input = '';
process.stdin.on('data', (d) => (input += d));
process.stdin.on('end', () => {
  const env = JSON.parse(input);
  process.stderr.write('my-gate: ok\\n');
  const url = process.env.JGO_GIT_BASE_URL + '/acme/widgets.git';
  process.stdout.write(JSON.stringify({ ...env, gate: { executable: true, reason: 'mine', repo_ref: 'acme/widgets', optimized_prompt: 'x', model: 'mine' }, repo: { ref: 'acme/widgets', url } }) + '\\n');
});
`,
  );
  const envFile = join(w.home, 'jgo.env');
  writeFileSync(envFile, `JGO_STAGE_GATE=${process.execPath} "${gate}"\n`);
  const result = await runProcess(jgo, { args: ['run', '--dry-run', 'acme/widgets add a CONTRIBUTING.md'], env: w.env({ JGO_ENV_FILE: envFile }), cwd: w.home });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stderr, /my-gate: ok/);
  t.notMatch(result.stderr, /jgo-gate/, 'jgo-gate said nothing');
  t.equal(w.llm.requests.length, 0, 'and asked the model nothing');
  const runId = /jgo: run (\S+)/.exec(result.stderr)?.[1] ?? '';
  const record = JSON.parse(readFileSync(join(w.cache, 'runs', runId, '1-gate.json'), 'utf8'));
  t.match(record.command.join(' '), /my gate\.mjs/);
});

t.test('--dry-run stops after jgo-worktree: nothing changed or pushed', async (t) => {
  const w = await world(t);
  const result = await runProcess(jgo, { args: ['run', '--dry-run', 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^would run: .*jgo-codex\.js in \/.*\/repo\nwould run: .*jgo-ship\.js, pushing jgo\/\d{8}-\d{6} to http:\/\/127\.0\.0\.1:\d+\/acme\/widgets\.git\njgo\/\d{8}-\d{6}\n$/);
  t.equal(w.fake.records().length, 0, 'codex never ran');
  t.equal(w.server.receivePackCount(), 0, 'nothing pushed');
  const runId = readdirSync(join(w.cache, 'runs'))[0]!;
  t.equal(JSON.parse(readFileSync(join(w.cache, 'runs', runId, 'run.json'), 'utf8')).status, 'dry_run');
});

t.test('gc removes finished runs and their working copies, and says what it freed', async (t) => {
  const w = await world(t);
  const dry = await runProcess(jgo, { args: ['run', '--dry-run', 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(dry.code, 0);
  const runId = readdirSync(join(w.cache, 'runs'))[0]!;
  t.ok(existsSync(join(w.cache, 'work', runId, 'repo')));
  const kept = await runProcess(jgo, { args: ['gc'], env: w.env(), cwd: w.home });
  t.equal(kept.stdout, 'freed about 0 B in 0 runs\n', 'younger than 7 days: kept');
  // A working copy jgo-ship set aside, and was stopped before it had deleted.
  const aside = join(w.cache, 'work', '.removing-20261101-000000-abcd-4242');
  mkdirSync(join(aside, 'repo'), { recursive: true });
  writeFileSync(join(aside, 'repo', 'file.txt'), 'x'.repeat(2048));
  const kept20261101 = join(w.cache, 'pool', 'acme-widgets-0123abcd', '20261101-000000-abcd', '.git');
  mkdirSync(kept20261101, { recursive: true });
  const gc = await runProcess(jgo, { args: ['gc', '--days', '0'], env: w.env(), cwd: w.home });
  t.equal(gc.code, 0);
  t.match(gc.stdout, new RegExp(`^removed 20261101-000000-abcd\\nremoved ${runId}\\nfreed about \\d+(\\.\\d)? [KMG]?i?B in 2 runs\\n$`), 'oldest first, and an estimate of what was freed');
  t.notOk(existsSync(aside), 'what a stopped jgo-ship set aside is removed too');
  t.notOk(existsSync(kept20261101), 'and a kept working copy of a run begun before the cut-off');
  t.notOk(existsSync(join(w.cache, 'work', runId)));
  t.notOk(existsSync(join(w.cache, 'runs', runId)));
  t.ok(readdirSync(join(w.cache, 'repos')).some((e) => e.endsWith('.git')), 'the mirror stays');
});

t.test('the ad-hoc chain: echo "…" | jgo-gate | jgo-codex in a plain checkout', async (t) => {
  const w = await world(t);
  const checkout = tempDir(t);
  git(checkout, 'init', '-q', '-b', 'main');
  writeFileSync(join(checkout, 'README.md'), 'x\n');
  git(checkout, 'add', '.');
  git(checkout, '-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'init');
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), { write: 'CONTRIBUTING.md', content: 'hi\n' }, ev.message('m', 'done'), ev.turnCompleted()] });
  const out = await new Promise<{ code: number | null; stdout: string }>((resolve) => {
    const child = spawn('/bin/bash', ['-c', `set -o pipefail; echo "acme/widgets add a CONTRIBUTING.md" | "${process.execPath}" "${bin('jgo-gate')}" | "${process.execPath}" "${bin('jgo-codex')}"`], {
      cwd: checkout,
      env: w.env(fake.env),
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d));
    child.on('close', (code) => resolve({ code, stdout }));
  });
  t.equal(out.code, 0);
  const envelope = JSON.parse(out.stdout);
  t.same(envelope.codex.changed_files, ['CONTRIBUTING.md']);
  t.equal(readFileSync(join(checkout, 'CONTRIBUTING.md'), 'utf8'), 'hi\n');
  t.equal(fake.exec()?.cwd, checkout, 'codex worked in the current directory');
});

t.test('jgo run --pr prints the pull request after the branch; jgo doctor checks the same setup', async (t) => {
  const { startGitHubServer } = await import('../helpers/github-server.js');
  const w = await world(t);
  const token = 'gh-test-token-0123456789';
  const github = await startGitHubServer({ token, repos: { 'acme/widgets': { permissions: { admin: false, push: true, pull: true } } } });
  t.teardown(github.close);
  const env = w.env({ GITHUB_TOKEN: token, JGO_GITHUB_API_URL: github.url });
  // The git server takes any credentials when it asks for none; the token is for GitHub's API here.
  const result = await runProcess(jgo, { args: ['run', '--pr', 'acme/widgets add a CONTRIBUTING.md'], env, cwd: w.home });
  t.equal(result.code, 0, result.stderr);
  const [branch, url] = result.stdout.trim().split('\n');
  t.match(branch, /^jgo\/\d{8}-\d{6}$/);
  t.match(url, /\/acme\/widgets\/pull\/1$/, 'the pull request URL comes after the branch');
  t.equal(github.pulls[0]?.head, branch);
  t.notMatch(result.stdout + result.stderr, token);

  const doctor = await runProcess(jgo, { args: ['doctor', '--json', '--repo', 'acme/widgets'], env, cwd: w.home });
  const report = JSON.parse(doctor.stdout) as { ok: boolean; checks: Array<{ name: string; status: string }> };
  const status = (name: string) => report.checks.find((c) => c.name === name)?.status;
  t.equal(status('llm'), 'ok');
  t.equal(status('repo read'), 'ok');
  t.equal(status('repo push'), 'ok');
  t.equal(status('codex'), 'ok');
  t.notMatch(doctor.stdout, token, 'secrets are masked');
});

t.test('--run-id: a fresh id in the run-id form, else exit 2 and one line', async (t) => {
  const w = await world(t);
  const bad = await runProcess(jgo, { args: ['run', '--run-id', '../../etc', 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(bad.code, 2);
  t.match(bad.stderr, /^jgo: --run-id "\.\.\/\.\.\/etc" is not a run id/);
  const id = '20261207-120000-ab12';
  const dry = await runProcess(jgo, { args: ['run', '--dry-run', '--run-id', id, 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(dry.code, 0, dry.stderr);
  t.ok(existsSync(join(w.cache, 'runs', id, 'run.json')), 'the run has the id it was given');
  const taken = await runProcess(jgo, { args: ['run', '--run-id', id, 'acme/widgets add a CONTRIBUTING.md'], env: w.env(), cwd: w.home });
  t.equal(taken.code, 2);
  t.match(taken.stderr, new RegExp(`^jgo: --run-id ${id} is taken: a run with that id exists\\n  Leave --run-id out`));
  t.equal(w.llm.requests.length, 1, 'neither refused run asked the model');
});

t.test('nothing of jgo outlives jgo run: no process of the run is left when it returns', async (t) => {
  const { readdirSync: list, readFileSync: read } = await import('node:fs');
  const w = await world(t);
  // Every process of this run has this HOME in its environment (jgo hands its stages its own).
  const mine = () =>
    list('/proc').filter((p) => /^\d+$/.test(p)).filter((pid) => {
      try {
        return read(`/proc/${pid}/environ`, 'latin1').split('\0').includes(`HOME=${w.home}`) && !/^Z/m.test(read(`/proc/${pid}/stat`, 'latin1').split(') ')[1] ?? '');
      } catch {
        return false;
      }
    });
  for (let i = 0; i < 3; i++) {
    // A removal cut off by a kill, before the last run: that run finishes it.
    const aside = join(w.cache, 'work', '.removing-20261101-000000-abcd-999999999');
    if (i === 2) mkdirSync(join(aside, 'repo'), { recursive: true });
    const llm = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Add CONTRIBUTING.md.' })]);
    t.teardown(llm.close);
    const fake = fakeCodex(tempDir(t), codexScript({ [`C${i}.md`]: 'x\n' }));
    // Checked when jgo exits, not when its output closes (a stage holding jgo's stderr would
    // keep that open): a shell's next command starts at jgo's exit.
    const child = spawn(process.execPath, [jgo, 'run', '--quiet', `acme/widgets add C${i}.md`], { cwd: w.home, env: w.env({ OPENAI_BASE_URL: llm.url, ...fake.env }), stdio: 'ignore' });
    const code = await new Promise<number | null>((resolve) => child.on('exit', resolve));
    const left = mine();
    t.equal(code, 0);
    t.same(left, [], `run ${i + 1}: no process of it is still at work`);
    t.same(readdirSync(join(w.cache, 'work')).filter((e) => e !== '.branches'), [], 'and no working copy is left in work/, nor what a killed run had set aside');
    const runs = readdirSync(join(w.cache, 'runs')).sort();
    const pool = readdirSync(join(w.cache, 'pool'));
    t.same(pool.flatMap((repo) => readdirSync(join(w.cache, 'pool', repo))), [runs.at(-1)], "the pool holds the run's own working copy, and no other");
    const worktree = JSON.parse(readFileSync(join(w.cache, 'runs', runs.at(-1) ?? '', '3-worktree.json'), 'utf8')).envelope.worktree;
    t.equal(worktree.reused, i > 0, i > 0 ? "the run reused the one before's copy" : 'the first run made its copy');
  }
  const llm = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets' })]);
  t.teardown(llm.close);
  const fake = fakeCodex(tempDir(t), codexScript({ 'D.md': 'd\n' }));
  const off = await runProcess(jgo, { args: ['run', '--quiet', 'acme/widgets add D.md'], env: w.env({ JGO_POOL_SIZE: '0', OPENAI_BASE_URL: llm.url, ...fake.env }), cwd: w.home });
  t.equal(off.code, 0, off.stderr);
  const last = readdirSync(join(w.cache, 'runs')).sort().at(-1) ?? '';
  t.equal(JSON.parse(readFileSync(join(w.cache, 'runs', last, '3-worktree.json'), 'utf8')).envelope.worktree.reused, false, 'JGO_POOL_SIZE=0: a new copy');
  t.notOk(readdirSync(join(w.cache, 'pool')).some((repo) => readdirSync(join(w.cache, 'pool', repo)).includes(last)), 'and it is not kept');
  // An agent that could write .git (its index, its objects) leaves a copy that cannot be proven clean.
  const kept = () => readdirSync(join(w.cache, 'pool')).flatMap((repo) => readdirSync(join(w.cache, 'pool', repo)));
  t.equal(kept().length, 1, "the third run's copy is still kept");
  const llm2 = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets' })]);
  t.teardown(llm2.close);
  const fake2 = fakeCodex(tempDir(t), codexScript({ 'E.md': 'e\n' }));
  const open = await runProcess(jgo, { args: ['run', '--quiet', 'acme/widgets add E.md'], env: w.env({ JGO_CODEX_SANDBOX: 'danger-full-access', OPENAI_BASE_URL: llm2.url, ...fake2.env }), cwd: w.home });
  t.equal(open.code, 0, open.stderr);
  const newest = readdirSync(join(w.cache, 'runs')).sort().at(-1) ?? '';
  t.equal(JSON.parse(readFileSync(join(w.cache, 'runs', newest, '3-worktree.json'), 'utf8')).envelope.worktree.reused, true, 'danger-full-access: the kept copy is taken');
  t.same(kept(), [], 'and, the agent having been free to write its .git, it is not given back');
  t.same(readdirSync(join(w.cache, 'work')).filter((e) => e !== '.branches'), [], 'but deleted');
});
