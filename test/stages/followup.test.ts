/**
 * A follow-up's envelope (`continue`, written by hand as a script would) through the built
 * jgo-sync, jgo-worktree and jgo-ship as processes, against the loopback git server (where a
 * person pushes to the branch while the run works) and the loopback GitHub API.
 */
import t, { type Test } from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, runProcess, tempDir, type RunResult } from '../helpers/run.js';
import { startGitServer, createBareRepo, commitToBare, deleteBranch, forcePush, revParse, runGit, type GitServer } from '../helpers/git-server.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';
import { fakeCodex, ev } from '../helpers/fake-codex.js';

const TOKEN = 'gh-test-token-followup-0123456789';
const BRANCH = 'jgo/20261123-202500';

interface World {
  server: GitServer;
  github: GitHubServer;
  env: Record<string, string>;
  first: string;
}

async function world(t: Test): Promise<World> {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  // What the first run pushed.
  const first = await commitToBare(server, 'acme/widgets.git', { branch: BRANCH, from: 'main', files: { 'CONTRIBUTING.md': 'Be kind.\n' }, message: 'docs: add CONTRIBUTING.md\n' });
  const github = await startGitHubServer({
    token: TOKEN,
    repos: { 'acme/widgets': {} },
    pulls: [{ title: 'docs: add CONTRIBUTING.md', body: '', head: BRANCH, base: 'main', draft: false, state: 'open', owner: 'acme', repo: 'widgets' }],
  });
  t.teardown(github.close);
  const cache = tempDir(t);
  const plan = { commits: [{ subject: 'test: add a smoke test', body: '', paths: ['TEST.md'] }] };
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ev.message('p', JSON.stringify(plan)), ev.turnCompleted()] });
  const env = { ...baseEnv(tempDir(t)), JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache, GITHUB_TOKEN: TOKEN, JGO_GITHUB_API_URL: github.url, ...fake.env };
  return { server, github, env, first };
}

function followUp(w: World, over: Record<string, unknown> = {}): Record<string, unknown> {
  const repo = { ref: 'acme/widgets', url: w.server.repoUrl('acme/widgets.git') };
  return {
    jgo: 1,
    run_id: '20261123-203000-0b1c',
    request: 'also add a smoke test',
    repo,
    continue: { thread: '20261123-202500-7f3a', parent: '20261123-202500-7f3a', branch: BRANCH, repo, pr: { url: `${w.github.webUrl}/acme/widgets/pull/1`, number: 1 }, ...over },
  };
}

async function stage(w: World, name: string, input: unknown): Promise<RunResult & { out: Record<string, any> }> {
  const result = await runProcess(bin(name), { input: JSON.stringify(input), env: w.env });
  const lines = result.stdout.trim().split('\n');
  return { ...result, out: lines.length === 1 && lines[0] !== '' ? JSON.parse(lines[0]!) : {} };
}

/** sync and worktree, then what codex would have done: a new file, reported as changed. */
async function upToCodex(t: Test, w: World, input: unknown): Promise<Record<string, any>> {
  const synced = await stage(w, 'jgo-sync', input);
  t.equal(synced.code, 0, synced.stderr);
  const made = await stage(w, 'jgo-worktree', synced.out);
  t.equal(made.code, 0, made.stderr);
  writeFileSync(join(made.out.worktree.path, 'TEST.md'), 'smoke\n');
  return { ...made.out, codex: { exit_code: 0, changed_files: ['TEST.md'], last_message: 'done', duration_ms: 1 } };
}

const subjects = async (w: World) =>
  (await runGit(w.server, ['--git-dir', join(w.server.root, 'acme/widgets.git'), 'log', '--reverse', '--format=%s', BRANCH])).stdout.trim().split('\n');

t.test('a follow-up adds its commit on top of the branch, pushes without force and comments on the pull request', async (t) => {
  const w = await world(t);
  const edited = await upToCodex(t, w, followUp(w));
  t.same(
    [edited.worktree.branch, edited.worktree.base_sha, edited.worktree.base_branch],
    [BRANCH, w.first, 'main'],
    "the working copy is on the thread's branch at the remote's tip; the pull request's base stays main",
  );
  const shipped = await stage(w, 'jgo-ship', edited);
  t.equal(shipped.code, 0, shipped.stderr);
  t.same(await subjects(w), ['Initial commit', 'docs: add CONTRIBUTING.md', 'test: add a smoke test'], 'on top');
  const tip = await revParse(w.server, 'acme/widgets.git', BRANCH);
  t.equal(shipped.out.ship.remote_sha, tip);
  t.equal((await runGit(w.server, ['--git-dir', join(w.server.root, 'acme/widgets.git'), 'rev-parse', `${tip}^`])).stdout.trim(), w.first, "the first run's commit is the parent: nothing was rewritten");
  t.same(shipped.out.ship.pr, { url: `${w.github.webUrl}/acme/widgets/pull/1`, number: 1 });
  t.equal(w.github.pulls.length, 1, 'no new pull request');
  t.equal(w.github.comments.length, 1);
  const comment = w.github.comments[0]!.body;
  t.match(comment, new RegExp(`\`${tip.slice(0, 7)}\` test: add a smoke test`), 'the comment lists the commit');
  t.match(comment, /```text\nalso add a smoke test\n```/, 'and the request, fenced');
  t.notMatch(shipped.stdout + shipped.stderr, TOKEN);
  t.notOk(w.github.requests.some((r) => !r.authorized), 'every API request carried the token');
});

t.test('someone pushed to the branch while codex worked: the commit is replayed onto theirs', async (t) => {
  const w = await world(t);
  const edited = await upToCodex(t, w, followUp(w));
  const theirs = await commitToBare(w.server, 'acme/widgets.git', { branch: BRANCH, files: { 'NOTES.md': 'by a person\n' }, message: 'notes from a person\n' });
  const shipped = await stage(w, 'jgo-ship', edited);
  t.equal(shipped.code, 0, shipped.stderr);
  t.match(shipped.stderr, /had moved on the remote: the commit was replayed onto/);
  t.same(await subjects(w), ['Initial commit', 'docs: add CONTRIBUTING.md', 'notes from a person', 'test: add a smoke test'], "theirs kept, ours on top");
  const tip = await revParse(w.server, 'acme/widgets.git', BRANCH);
  t.same(shipped.out.ship.commits.map((c: { sha: string }) => c.sha), [tip], "ship.commits are the replayed commit's");
  t.equal((await runGit(w.server, ['--git-dir', join(w.server.root, 'acme/widgets.git'), 'rev-parse', `${tip}^`])).stdout.trim(), theirs);
  t.match(w.github.comments[0]?.body, tip.slice(0, 7), 'the comment names the commit as pushed');
});

t.test('someone pushed a conflicting change: push_rejected, nothing forced, theirs untouched', async (t) => {
  const w = await world(t);
  const edited = await upToCodex(t, w, followUp(w));
  const theirs = await commitToBare(w.server, 'acme/widgets.git', { branch: BRANCH, files: { 'TEST.md': 'their smoke test\n' }, message: 'test: their smoke test\n' });
  const shipped = await stage(w, 'jgo-ship', edited);
  t.equal(shipped.code, 1, shipped.stderr);
  t.equal(shipped.out.error?.code, 'push_rejected');
  t.match(shipped.stderr, /conflict with what was pushed there/);
  t.match(shipped.stderr, /Run the follow-up again/);
  t.equal(await revParse(w.server, 'acme/widgets.git', BRANCH), theirs, 'the remote branch is as they left it');
  t.equal(w.github.comments.length, 0);
});

t.test('the branch was deleted while codex worked: branch_gone, and it is not made anew', async (t) => {
  const w = await world(t);
  const edited = await upToCodex(t, w, followUp(w));
  await deleteBranch(w.server, 'acme/widgets.git', BRANCH);
  const shipped = await stage(w, 'jgo-ship', edited);
  t.equal(shipped.code, 1, shipped.stderr);
  t.equal(shipped.out.error?.code, 'branch_gone');
  t.match(shipped.stderr, /no longer on the remote \(merged, or deleted\): nothing was pushed/);
  await t.rejects(revParse(w.server, 'acme/widgets.git', BRANCH), /has no ref/, 'the remote has no such branch still');
});

t.test('someone rewrote the branch while codex worked: only the run\'s own commit is replayed onto theirs', async (t) => {
  const w = await world(t);
  const edited = await upToCodex(t, w, followUp(w));
  await forcePush(w.server, 'acme/widgets.git', BRANCH, { 'README.md': '# widgets, rewritten\n' }, { message: 'rewrite the branch\n' });
  const shipped = await stage(w, 'jgo-ship', edited);
  t.equal(shipped.code, 0, shipped.stderr);
  t.same(await subjects(w), ['rewrite the branch', 'test: add a smoke test'], "the first run's commit, which they dropped, is not brought back");
  t.equal(shipped.out.ship.commits.length, 1);
});

t.test('the pull request was merged meanwhile: pr_closed, after the push', async (t) => {
  const w = await world(t);
  const edited = await upToCodex(t, w, followUp(w));
  Object.assign(w.github.pulls[0]!, { state: 'closed', merged: true });
  const shipped = await stage(w, 'jgo-ship', edited);
  t.equal(shipped.code, 1);
  t.equal(shipped.out.error?.code, 'pr_closed');
  t.match(shipped.stderr, /pull request #1 is merged/);
  t.match(shipped.stderr, /the branch jgo\/20261123-202500 is pushed/);
  t.equal(shipped.out.ship?.pushed, true, 'the envelope says what was pushed');
  t.equal(w.github.comments.length, 0);
});

t.test('jgo-worktree: a branch that is gone, and the default branch, are refused', async (t) => {
  const w = await world(t);
  const gone = followUp(w);
  await deleteBranch(w.server, 'acme/widgets.git', BRANCH);
  const synced = await stage(w, 'jgo-sync', gone);
  const made = await stage(w, 'jgo-worktree', synced.out);
  t.equal(made.code, 1);
  t.equal(made.out.error?.code, 'branch_gone');
  t.match(made.stderr, /no longer on the remote \(merged, or deleted\)\n.*Start a new run/);

  const main = await stage(w, 'jgo-worktree', { ...synced.out, continue: { ...(synced.out.continue as object), branch: 'main' } });
  t.equal(main.code, 2);
  t.equal(main.out.error?.code, 'bad_branch');
  t.match(main.stderr, /default branch: jgo never pushes to it/);
});

t.test("a hand-written follow-up envelope through the whole pipe: echo '{…continue…}' | jgo-gate | … | jgo-ship", async (t) => {
  const { startLlmServer, gateAnswer } = await import('../helpers/llm-server.js');
  const { spawn } = await import('node:child_process');
  const w = await world(t);
  const llm = await startLlmServer([gateAnswer({ executable: true, repo_ref: '', optimized_prompt: 'Add TEST.md with a smoke test.' })]);
  t.teardown(llm.close);
  const plan = { commits: [{ subject: 'test: add a smoke test', body: '', paths: ['TEST.md'] }] };
  const fake = fakeCodex(tempDir(t), {
    login: 'ok',
    runs: [
      { steps: [ev.threadStarted(), ev.turnStarted(), { write: 'TEST.md', content: 'smoke\n' }, ev.message('m', 'done'), ev.turnCompleted()] },
      { steps: [ev.threadStarted(), ev.turnStarted(), ev.message('p', JSON.stringify(plan)), ev.turnCompleted()] },
    ],
  });
  const { run_id: _id, repo: _repo, ...input } = followUp(w);
  const pipe = ['jgo-gate', 'jgo-sync', 'jgo-worktree', 'jgo-codex', 'jgo-ship'].map((s) => `"${process.execPath}" "${bin(s)}"`).join(' | ');
  // Not spawnSync: the loopback servers answer from this process's event loop.
  const child = spawn('bash', ['-o', 'pipefail', '-c', pipe], {
    env: { ...w.env, ...fake.env, OPENAI_BASE_URL: llm.url, OPENAI_API_KEY: 'test-key-pipe-abcdef123456', MODEL: 'gpt-test-mini' },
  });
  const done = { stdout: '', stderr: '', status: null as number | null };
  child.stdout.setEncoding('utf8').on('data', (d: string) => (done.stdout += d));
  child.stderr.setEncoding('utf8').on('data', (d: string) => (done.stderr += d));
  child.stdin.end(JSON.stringify(input));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  done.status = await new Promise<number | null>((resolve) => child.on('close', resolve));
  clearTimeout(timer);
  t.equal(done.status, 0, done.stderr);
  const out = JSON.parse(done.stdout);
  t.equal(out.ship.branch, BRANCH, 'the branch the envelope named');
  t.same(out.continue.branch, BRANCH, 'every stage passed continue on');
  t.equal(out.codex.resumed, false, 'no codex thread named: fresh');
  t.match(fake.exec()?.stdin, /follows up earlier work on the branch jgo\/20261123-202500/);
  t.same(await subjects(w), ['Initial commit', 'docs: add CONTRIBUTING.md', 'test: add a smoke test']);
  t.equal(w.github.comments.length, 1, 'the pull request got its comment');
  t.match(JSON.stringify(llm.requests[0]?.body), /follow-up in a conversation whose work is on the branch jgo\/20261123-202500/);
  t.notMatch(done.stdout + done.stderr, TOKEN);
});
