/**
 * A conversation is one branch: `jgo run --pr` and follow-ups with `jgo run --continue` (by run
 * id, by branch, by pull request URL), every stage a real process, against the loopback git
 * server (a person pushes to the branch between runs), the loopback model server, the loopback
 * GitHub API and the fake codex. Two follow-ups started together run one after the other.
 */
import t, { type Test } from 'tap';
import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir, type RunResult } from '../helpers/run.js';
import { startGitServer, createBareRepo, commitToBare, revParse, runGit, type GitServer } from '../helpers/git-server.js';
import { startLlmServer, gateAnswer } from '../helpers/llm-server.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';
import { fakeCodex, ev, type FakeScript } from '../helpers/fake-codex.js';

const jgo = bin('jgo');
const GITHUB_TOKEN = 'gh-test-token-follow-0123456789';
const OPENAI_KEY = 'test-key-follow-abcdef123456';

const THREAD = (n: number) => `0199a6b1-0000-7000-8000-00000000000${n}`;

/** Each edit writes one file under its own codex thread; each plan commits that file. */
function script(files: string[]): FakeScript {
  return {
    login: 'ok',
    runs: files.flatMap((file, i) => [
      {
        steps: [
          ev.threadStarted(THREAD(i + 1)),
          ev.turnStarted(),
          { write: file, content: `${file} by run ${i + 1}\n` },
          ev.message('m', 'done'),
          ev.turnCompleted(),
        ],
      },
      {
        steps: [
          ev.threadStarted(),
          ev.turnStarted(),
          ev.message('p', JSON.stringify({ commits: [{ subject: `docs: add ${file}`, body: '', paths: [file] }] })),
          ev.turnCompleted(100, 20),
        ],
      },
    ]),
  };
}

interface World {
  server: GitServer;
  github: GitHubServer;
  llm: Awaited<ReturnType<typeof startLlmServer>>;
  cache: string;
  home: string;
  env: Record<string, string>;
  fake: ReturnType<typeof fakeCodex>;
}

async function world(t: Test, files: string[]): Promise<World> {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const github = await startGitHubServer({ token: GITHUB_TOKEN, repos: { 'acme/widgets': {} } });
  t.teardown(github.close);
  // The first answer names the repository; a follow-up's names none (the thread's is meant).
  const llm = await startLlmServer(files.map((_, i) => gateAnswer({ executable: true, repo_ref: i === 0 ? 'acme/widgets' : '', optimized_prompt: `Add ${files[i]}.` })));
  t.teardown(llm.close);
  const cache = tempDir(t);
  const home = tempDir(t);
  const fake = fakeCodex(tempDir(t), script(files));
  const env = {
    ...baseEnv(home),
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: OPENAI_KEY,
    MODEL: 'gpt-test-mini',
    JGO_GIT_BASE_URL: server.url,
    JGO_CACHE_DIR: cache,
    GITHUB_TOKEN,
    JGO_GITHUB_API_URL: github.url,
    ...fake.env,
  };
  return { server, github, llm, cache, home, env, fake };
}

const jgoRun = (w: World, ...args: string[]) => runProcess(jgo, { args, env: w.env, cwd: w.home });
const runIdOf = (result: RunResult) => /jgo: run (\d{8}-\d{6}-[0-9a-f]{4})/.exec(result.stderr)?.[1] ?? '';

/** The remote branch's commit subjects, oldest first. */
async function subjects(w: World, branch: string): Promise<string[]> {
  const log = await runGit(w.server, ['--git-dir', join(w.server.root, 'acme/widgets.git'), 'log', '--reverse', '--format=%s', branch]);
  return log.stdout.trim().split('\n');
}

function noSecrets(t: Test, w: World, results: RunResult[]): void {
  for (const r of results) {
    t.notMatch(r.stdout + r.stderr, GITHUB_TOKEN, 'no GitHub token in the output');
    t.notMatch(r.stdout + r.stderr, OPENAI_KEY, 'no API key in the output');
  }
  for (const id of readdirSync(join(w.cache, 'runs'))) {
    for (const file of readdirSync(join(w.cache, 'runs', id)).filter((f) => f.endsWith('.json'))) {
      const text = readFileSync(join(w.cache, 'runs', id, file), 'utf8');
      if (text.includes(GITHUB_TOKEN) || text.includes(OPENAI_KEY)) t.fail(`a secret in the journal's ${id}/${file}`);
    }
  }
}

t.test('a first run and two follow-ups leave one branch, one pull request and one thread', async (t) => {
  const w = await world(t, ['CONTRIBUTING.md', 'CODE_OF_CONDUCT.md', 'SECURITY.md']);
  const first = await jgoRun(w, 'run', '--pr', 'acme/widgets add a CONTRIBUTING.md');
  t.equal(first.code, 0, first.stderr);
  const [branch, prUrl] = first.stdout.trim().split('\n') as [string, string];
  t.match(branch, /^jgo\/\d{8}-\d{6}$/);
  t.match(prUrl, /\/acme\/widgets\/pull\/1$/);
  const firstId = runIdOf(first);

  // Someone pushes to the branch between the runs: the follow-up builds on it.
  await commitToBare(w.server, 'acme/widgets.git', { branch, files: { 'NOTES.md': 'by a person\n' }, message: 'notes from a person\n' });

  const second = await jgoRun(w, 'run', '--continue', firstId, 'also add a code of conduct');
  t.equal(second.code, 0, second.stderr);
  t.equal(second.stdout.trim().split('\n')[0], branch, 'the follow-up pushed the same branch');
  t.match(second.stdout, prUrl, 'and points at the same pull request');
  const secondId = runIdOf(second);
  t.not(secondId, firstId, 'a follow-up is a run of its own');
  // The gate saw the thread so far.
  const asked = JSON.stringify(w.llm.requests[1]?.body);
  t.match(asked, 'docs: add CONTRIBUTING.md', "the gate's question carries the earlier commits");
  t.match(asked, 'add a CONTRIBUTING.md', 'and the earlier request');

  const third = await jgoRun(w, 'run', '--continue', prUrl.replace('/pull/1', '/pull/1/files'), 'also add a security policy');
  t.equal(third.code, 0, third.stderr);
  t.equal(third.stdout.trim().split('\n')[0], branch);
  const thirdId = runIdOf(third);

  t.same(await subjects(w, branch), ['Initial commit', 'docs: add CONTRIBUTING.md', 'notes from a person', 'docs: add CODE_OF_CONDUCT.md', 'docs: add SECURITY.md'], "the three runs' commits in order, the person's kept");
  const heads = (await runGit(w.server, ['--git-dir', join(w.server.root, 'acme/widgets.git'), 'for-each-ref', '--format=%(refname)', 'refs/heads/'])).stdout.trim().split('\n');
  t.same(heads.sort(), [`refs/heads/${branch}`, 'refs/heads/main'].sort(), 'one branch besides main');
  t.equal(w.github.pulls.length, 1, 'one pull request');
  t.equal(w.github.comments.length, 2, 'a comment for each follow-up');
  t.match(w.github.comments[0]?.body, /docs: add CODE_OF_CONDUCT\.md/);
  t.match(w.github.comments[1]?.body, /docs: add SECURITY\.md/);
  t.notMatch(w.github.comments[1]?.body, /CODE_OF_CONDUCT/, "a comment lists its own follow-up's commits");

  const runs = JSON.parse((await jgoRun(w, 'runs', '--json')).stdout) as Array<{ run_id: string; thread: string; parent?: string }>;
  const byId = new Map(runs.map((r) => [r.run_id, r]));
  t.same([firstId, secondId, thirdId].map((id) => byId.get(id)?.thread), [firstId, firstId, firstId], 'one thread');
  t.same([firstId, secondId, thirdId].map((id) => byId.get(id)?.parent), [undefined, firstId, secondId], 'each follows the one before');
  const table = (await jgoRun(w, 'runs')).stdout;
  t.match(table, new RegExp(`${thirdId}.*${firstId}`), 'the table names the thread');

  const show = await jgoRun(w, 'show', secondId);
  t.equal(show.code, 0, show.stderr);
  for (const id of [firstId, secondId, thirdId]) t.match(show.stdout, id, `jgo show lists ${id} in the thread`);
  t.match(show.stdout, /docs: add SECURITY\.md/, "and each run's commits");
  const report = JSON.parse((await jgoRun(w, 'show', '--json', thirdId)).stdout) as { thread: { id: string; runs: Array<{ run_id: string }> } };
  t.equal(report.thread.id, firstId);
  t.same(report.thread.runs.map((r) => r.run_id), [firstId, secondId, thirdId]);
  // codex went on in the first run's thread both times, and was told where the work now is.
  const edits = w.fake.records().filter((r) => r.kind === 'exec').filter((_, i) => i % 2 === 0);
  t.same(edits.map((r) => r.resumed), [undefined, THREAD(1), THREAD(1)], 'each follow-up resumed the thread');
  t.match(edits[1]?.stdin, /continues our conversation/);
  t.match(edits[1]?.argv?.slice(0, 2), ['exec', 'resume']);
  const shipped = JSON.parse(readFileSync(join(w.cache, 'runs', secondId, '4-codex.json'), 'utf8')).envelope.codex;
  t.same([shipped.resumed, shipped.thread_id], [true, THREAD(1)], 'the envelope says codex resumed');
  const reused = [firstId, secondId, thirdId].map((id) => JSON.parse(readFileSync(join(w.cache, 'runs', id, '3-worktree.json'), 'utf8')).envelope.worktree.reused);
  t.same(reused, [false, true, true], "each follow-up took the run before's working copy from the pool");
  noSecrets(t, w, [first, second, third]);
});

t.test('two follow-ups of one thread started together run one after the other', async (t) => {
  const w = await world(t, ['CONTRIBUTING.md', 'A.md', 'B.md']);
  const first = await jgoRun(w, 'run', 'acme/widgets add a CONTRIBUTING.md');
  t.equal(first.code, 0, first.stderr);
  const branch = first.stdout.trim();
  const firstId = runIdOf(first);
  // codex lost its record of the first run's thread: the earlier of the two starts fresh.
  rmSync(join(w.cache, 'codex', 'sessions'), { recursive: true, force: true });
  const [a, b] = await Promise.all([
    jgoRun(w, 'run', '--continue', branch, 'also add one file'),
    jgoRun(w, 'run', '--continue', firstId, 'also add another file'),
  ]);
  t.equal(a.code, 0, a.stderr);
  t.equal(b.code, 0, b.stderr);
  t.match(a.stderr + b.stderr, /waiting for the run of this thread in progress/, 'the second said it waits');
  const record = (r: RunResult) => ({ id: runIdOf(r), ...(JSON.parse(readFileSync(join(w.cache, 'runs', runIdOf(r), 'run.json'), 'utf8')) as { started: string; ended: string; parent: string }) });
  const [early, late] = [record(a), record(b)].sort((x, y) => Date.parse(x.started) - Date.parse(y.started)) as [ReturnType<typeof record>, ReturnType<typeof record>];
  t.ok(Date.parse(late.started) >= Date.parse(early.ended), 'the later began after the earlier ended');
  t.equal(early.parent, firstId);
  t.equal(late.parent, early.id, 'the later follows up the earlier, not the first');
  t.same(await subjects(w, branch), ['Initial commit', 'docs: add CONTRIBUTING.md', 'docs: add A.md', 'docs: add B.md'], 'one after the other on the branch');
  t.equal(await revParse(w.server, 'acme/widgets.git', branch), JSON.parse(readFileSync(join(w.cache, 'runs', late.id, '5-ship.json'), 'utf8')).envelope.ship.remote_sha, 'the branch is where the later one left it');
  const edits = w.fake.records().filter((r) => r.kind === 'exec').filter((_, i) => i % 2 === 0);
  t.same(edits.map((r) => r.resumed), [undefined, undefined, THREAD(2)], 'fresh without a session; the later resumed the earlier');
  t.match(edits[1]?.stdin, /follows up earlier work on the branch jgo\//, 'a fresh follow-up is told what the thread did');
  t.match(edits[1]?.stdin, /add a CONTRIBUTING\.md[\s\S]*docs: add CONTRIBUTING\.md/, 'its requests and commits');
  t.match(a.stderr + b.stderr, /codex no longer has thread \S+: starting fresh/);
  noSecrets(t, w, [first, a, b]);
});

t.test('what cannot be continued: its code, its exit code and one line', async (t) => {
  const w = await world(t, ['CONTRIBUTING.md', 'TEST.md', 'LOGIN.md']);
  const unknown = await jgoRun(w, 'run', '--continue', '20261123-202500-abcd', 'also add a test');
  t.equal(unknown.code, 2);
  t.match(unknown.stderr, /^jgo: no run 20261123-202500-abcd in the journal\n  jgo runs lists the runs/, 'one line, and what to do instead');
  t.notMatch(unknown.stderr, /\n\s+at /, 'no stack trace');

  const first = await jgoRun(w, 'run', 'acme/widgets add a CONTRIBUTING.md');
  t.equal(first.code, 0, first.stderr);
  const branch = first.stdout.trim();
  await runGit(w.server, ['--git-dir', join(w.server.root, 'acme/widgets.git'), 'update-ref', '-d', `refs/heads/${branch}`]);
  const gone = await jgoRun(w, 'run', '--continue', runIdOf(first), 'also add a test');
  t.equal(gone.code, 1, gone.stderr);
  t.match(gone.stderr, /jgo-worktree: the branch jgo\/\S+ is no longer on the remote \(merged, or deleted\)\n.*Start a new run/);
  t.notMatch(gone.stderr, /\n\s+at /, 'no stack trace');

  // A branch jgo did not make: never by way of a pull request, only when named itself.
  await commitToBare(w.server, 'acme/widgets.git', { branch: 'feature/login', from: 'main', files: { 'login.txt': 'wip\n' }, message: 'feature work\n' });
  w.github.pulls.push({ number: 2, title: 'Login', body: null, head: 'feature/login', base: 'main', draft: false, state: 'open', owner: 'acme', repo: 'widgets' });
  const viaPr = await jgoRun(w, 'run', '--continue', `${w.github.webUrl}/acme/widgets/pull/2`, 'also add a test');
  t.equal(viaPr.code, 2, viaPr.stderr);
  t.match(viaPr.stderr, /^jgo: pull request #2 is on feature\/login, a branch jgo did not make\n  To add to it anyway, name the branch itself: jgo run --continue feature\/login/);
  const named = await jgoRun(w, 'run', '--continue', 'feature/login', 'acme/widgets also add a login test');
  t.equal(named.code, 0, named.stderr);
  t.equal(named.stdout.trim(), 'feature/login', 'named, it is continued');
  t.same(await subjects(w, 'feature/login'), ['Initial commit', 'feature work', 'docs: add TEST.md']);
  t.same(w.github.pulls.map((p) => p.head), ['feature/login'], 'no pull request was opened by the follow-up');
});

t.test('jgo resume finishes a follow-up like any run', async (t) => {
  const { githubErrors } = await import('../helpers/github-server.js');
  const w = await world(t, ['CONTRIBUTING.md', 'TEST.md']);
  const first = await jgoRun(w, 'run', '--pr', 'acme/widgets add a CONTRIBUTING.md');
  t.equal(first.code, 0, first.stderr);
  const [branch] = first.stdout.trim().split('\n') as [string];
  // GitHub fails once while the follow-up asks about its pull request: the branch is pushed, the run is not done.
  w.github.replyNext(githubErrors.serverError());
  const follow = await jgoRun(w, 'run', '--continue', branch, 'also add a test');
  t.equal(follow.code, 1, 'the follow-up fails at its pull request');
  t.equal(w.github.comments.length, 0);
  const id = runIdOf(follow);
  const resumed = await jgoRun(w, 'resume', id);
  t.equal(resumed.code, 0, resumed.stderr);
  t.equal(resumed.stdout.trim().split('\n')[0], branch, 'the same branch');
  t.equal(w.github.comments.length, 1, 'the comment is made once, by the resumed run');
  t.equal(w.github.pulls.length, 1, 'and no second pull request');
  t.same(await subjects(w, branch), ['Initial commit', 'docs: add CONTRIBUTING.md', 'docs: add TEST.md'], 'the commit is on the branch once');
  const record = JSON.parse(readFileSync(join(w.cache, 'runs', id, 'run.json'), 'utf8')) as { status: string; thread: string; parent: string };
  t.same([record.status, record.thread, record.parent], ['done', runIdOf(first), runIdOf(first)]);
});
