/**
 * jgo-ship through the stage harness against the loopback git server, with the fake codex
 * answering the commit plan (or, in agent mode, committing and pushing itself).
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { runStage, type StageSpec } from '../../lib/stage.js';
import { syncStage } from '../../lib/stages/sync.js';
import { worktreeStage } from '../../lib/stages/worktree.js';
import { shipStage } from '../../lib/stages/ship.js';
import { startGitServer, createBareRepo, commitToBare, deleteBranch, revParse, type GitServer } from '../helpers/git-server.js';
import { fakeCodex, ev, type FakeScript } from '../helpers/fake-codex.js';
import { memoryIO } from '../helpers/streams.js';
import { tempDir } from '../helpers/run.js';
import { grepTree } from '../helpers/files.js';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

async function stage(t: Test, spec: StageSpec, input: object, env: Record<string, string>) {
  const io = memoryIO(JSON.stringify(input), { cwd: tempDir(t), env: { PATH: process.env.PATH, HOME: tempDir(t), ...env } });
  const code = await runStage(spec, io);
  return { code, out: JSON.parse(io.out()), err: io.err(), stdout: io.out() };
}

interface Setup {
  server: GitServer;
  env: Record<string, string>;
  envelope: Record<string, any>;
  dir: string;
  base: string;
}

/** A served repository, its mirror and a working copy, as jgo-worktree leaves them. */
async function setup(t: Test, options: { token?: string } = {}): Promise<Setup> {
  const server = await startGitServer(options.token ? { auth: { username: 'x-access-token', password: options.token } } : {});
  t.teardown(server.close);
  const base = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n', 'old.txt': 'old\n', 'gone.txt': 'gone\n' } });
  const cache = tempDir(t);
  const env: Record<string, string> = { JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache, CODEX_HOME: join(cache, 'codex'), ...(options.token ? { GITHUB_TOKEN: options.token } : {}) };
  const start = { jgo: 1, run_id: '20261123-202500-7f3a', request: 'acme/widgets add install steps to README and a make dev target', repo: { ref: 'acme/widgets', url: server.repoUrl('acme/widgets.git') } };
  const synced = await stage(t, syncStage(), start, env);
  const made = await stage(t, worktreeStage(), synced.out, env);
  t.equal(made.code, 0, made.err);
  return { server, env, envelope: made.out, dir: made.out.worktree.path, base };
}

/** What codex would have done: edit the README, add a Makefile. */
function edit(dir: string): string[] {
  writeFileSync(join(dir, 'README.md'), '# widgets\n\n## Install\n\nnpm ci\n');
  writeFileSync(join(dir, 'Makefile'), 'dev:\n\tnpm run dev\n');
  return ['Makefile', 'README.md'];
}

const planRun = (plan: unknown): FakeScript => ({
  login: 'ok',
  steps: [ev.threadStarted(), ev.turnStarted(), ev.message('m1', typeof plan === 'string' ? plan : JSON.stringify(plan)), ev.turnCompleted()],
});

/** The value of -s/--sandbox in codex's argv. */
const sandboxOf = (argv: string[] | undefined) => {
  const i = (argv ?? []).findIndex((a) => a === '-s' || a === '--sandbox');
  return i < 0 ? undefined : argv?.[i + 1];
};

const withCodex = (s: Setup, changed: string[]) => ({ ...s.envelope, codex: { exit_code: 0, changed_files: changed, last_message: 'done', duration_ms: 1 } });

t.test('a two-group plan gives two commits on the server, in order; the working copy goes', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), planRun({
    commits: [
      { subject: 'docs(readme): add install steps', body: '', paths: ['README.md'] },
      { subject: 'build: add a make dev target', body: 'One command to start.', paths: ['Makefile'] },
    ],
  }));
  s.server.resetStats();
  const shipped = await stage(t, shipStage(), withCodex(s, changed), { ...s.env, ...fake.env });
  t.equal(shipped.code, 0, shipped.err);
  const asked = s.server.stats.map((r) => `${r.method} ${r.service}${r.command ? ` ${r.command}` : ''}`).sort();
  t.same(
    asked,
    ['GET git-receive-pack', 'GET git-upload-pack', 'GET git-upload-pack', 'POST git-receive-pack', 'POST git-upload-pack fetch', 'POST git-upload-pack ls-refs'],
    "git push (its advertisement, a negotiation round, the pack), then the proof: the branch's ref alone, over protocol v2",
  );
  const push = s.server.stats.find((r) => r.method === 'POST' && r.service === 'git-receive-pack');
  const proof = s.server.stats.find((r) => r.command === 'ls-refs');
  t.ok(push && proof && proof.started >= push.ended, "the proof is asked once the push is answered");
  const ship = shipped.out.ship;
  t.equal(ship.branch, 'jgo/20261123-202500');
  t.equal(ship.plan, 'codex');
  t.equal(ship.pushed, true);
  t.same(ship.commits.map((c: { subject: string }) => c.subject), ['docs(readme): add install steps', 'build: add a make dev target']);
  t.equal(await revParse(s.server, 'acme/widgets.git', ship.branch), ship.remote_sha);
  t.equal(ship.remote_sha, ship.commits[1].sha);
  t.match(shipped.err, /pushed jgo\/20261123-202500 \(2 commits\)/, 'the branch name is told on stderr');
  t.notOk(existsSync(s.dir), 'the working copy is removed after a verified push');
  t.same(readdirSync(dirname(dirname(s.dir))).filter((e) => e.startsWith('.')), ['.branches'], 'set aside at once, and deleted before the stage is done');
  t.equal(ship.mirrored, true, 'the mirror was given the branch');
  t.equal(git(s.envelope.mirror.path, 'rev-parse', `refs/heads/${ship.branch}`), ship.remote_sha);
  const again = await stage(t, syncStage(), { jgo: 1, repo: s.envelope.repo }, s.env);
  t.equal(again.out.mirror.fetched, false, 'so the next sync has nothing of ours to fetch back');
  // As the other mirror checks: objects nothing points at are allowed there (the empty blob of
  // `git add -N`, a failed push's objects), missing or broken ones are not.
  t.equal(git(s.envelope.mirror.path, 'fsck', '--no-progress', '--no-dangling'), '', 'and the mirror is sound');

  const exec = fake.exec();
  t.ok(exec?.argv?.includes('--output-schema'), 'the plan is asked for with an output schema');
  t.equal(sandboxOf(exec?.argv), 'read-only', 'planning is read-only');
  t.match(exec?.stdin, /- Makefile \(added\)\n- README\.md \(modified\)/, 'the prompt lists the changed paths');
  // The login check started while git read the status is the one the plan waited for.
  const kinds = fake.records().map((r) => r.kind);
  t.same(kinds, ['login', 'exec'], 'one login check, then the plan');
});

t.test('what an agent left staged is not committed with another group: each commit holds its own paths', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  // Staged as an agent free to write .git might: the README (with content since changed again), and old.txt's removal.
  writeFileSync(join(s.dir, 'README.md'), 'staged text\n');
  git(s.dir, 'add', 'README.md');
  git(s.dir, 'rm', '--quiet', 'old.txt');
  writeFileSync(join(s.dir, 'README.md'), '# widgets\n\n## Install\n\nnpm ci\n');
  const fake = fakeCodex(tempDir(t), planRun({
    commits: [
      { subject: 'build: add a make dev target', body: '', paths: ['Makefile'] },
      { subject: 'docs(readme): add install steps', body: '', paths: ['README.md', 'old.txt'] },
    ],
  }));
  const shipped = await stage(t, shipStage(), withCodex(s, [...changed, 'old.txt']), { ...s.env, ...fake.env, JGO_POOL_SIZE: '0' });
  t.equal(shipped.code, 0, shipped.err);
  const [first, second] = shipped.out.ship.commits.map((c: { sha: string }) => c.sha);
  const files = (sha: string) => execFileSync('git', ['--git-dir', join(s.server.root, 'acme/widgets.git'), 'show', '--name-status', '--format=', sha], { encoding: 'utf8' }).trim().split('\n').sort();
  t.same(files(first), ['A\tMakefile'], 'the first commit is the Makefile alone, not the staged README or removal');
  t.same(files(second), ['D\told.txt', 'M\tREADME.md'], 'the second holds the rest');
  const readme = execFileSync('git', ['--git-dir', join(s.server.root, 'acme/widgets.git'), 'show', `${second}:README.md`], { encoding: 'utf8' });
  t.equal(readme, '# widgets\n\n## Install\n\nnpm ci\n', "the README as the working tree has it, not as it was staged");
});

t.test('a plan that forgets a file gives an extra commit; --keep keeps the working copy', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: add install steps', body: '', paths: ['README.md'] }] }));
  const shipped = await stage(t, shipStage({ keep: true }), withCodex(s, changed), { ...s.env, ...fake.env });
  t.equal(shipped.code, 0, shipped.err);
  t.same(shipped.out.ship.commits.map((c: { subject: string }) => c.subject), ['docs: add install steps', 'chore: include remaining changes']);
  t.equal(git(s.dir, 'show', '--name-only', '--format=', 'HEAD'), 'Makefile');
  t.ok(existsSync(s.dir), '--keep');
});

t.test('a garbage plan gives one fallback commit named after the request', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), planRun('I would split this into two commits, probably.'));
  const shipped = await stage(t, shipStage(), withCodex(s, changed), { ...s.env, ...fake.env });
  t.equal(shipped.code, 0, shipped.err);
  t.equal(shipped.out.ship.plan, 'fallback');
  t.same(shipped.out.ship.commits.map((c: { subject: string }) => c.subject), ['chore: add install steps to README and a make dev target']);
  t.match(shipped.err, /no usable commit plan \(the plan is not JSON\)/);
});

t.test('deletions and renames are committed as such', async (t) => {
  const s = await setup(t);
  rmSync(join(s.dir, 'gone.txt'));
  renameSync(join(s.dir, 'old.txt'), join(s.dir, 'new.txt'));
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'refactor: rename old.txt and drop gone.txt', body: '', paths: ['gone.txt', 'new.txt', 'old.txt'] }] }));
  const shipped = await stage(t, shipStage({ keep: true }), withCodex(s, ['gone.txt', 'new.txt', 'old.txt']), { ...s.env, ...fake.env });
  t.equal(shipped.code, 0, shipped.err);
  t.equal(git(s.dir, 'show', '--name-status', '--format=', 'HEAD').split('\n').sort().join(','), 'D\tgone.txt,R100\told.txt\tnew.txt');
  t.equal(git(s.dir, 'status', '--porcelain'), '');
});

t.test('a secret in the diff stops the push, names file and line, not the secret', async (t) => {
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const s = await setup(t, { token });
  writeFileSync(join(s.dir, 'README.md'), `# widgets\n\nexport GITHUB_TOKEN=${token}\n`);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: x', body: '', paths: ['README.md'] }] }));
  s.server.resetStats();
  const shipped = await stage(t, shipStage(), withCodex(s, ['README.md']), { ...s.env, ...fake.env });
  t.equal(shipped.code, 1);
  t.equal(shipped.out.error.code, 'secret_in_diff');
  t.match(shipped.out.error.message, /README\.md:3 \(the value of a secret setting in use\)/);
  t.notMatch(shipped.stdout + shipped.err, token);
  t.equal(s.server.receivePackCount(), 0, 'nothing was pushed');
  t.ok(existsSync(s.dir), 'the working copy stays');
  t.equal(fake.exec(), undefined, 'codex was not even asked for a plan');
});

t.test('a rejected push leaves the commits; running ship again after the cause is gone succeeds', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  await commitToBare(s.server, 'acme/widgets.git', { branch: 'jgo/20261123-202500', files: { 'theirs.txt': 'x\n' }, from: 'main' });
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: install steps and dev target', body: '', paths: changed }] }));
  const env = { ...s.env, ...fake.env };
  const first = await stage(t, shipStage(), withCodex(s, changed), env);
  t.equal(first.code, 1);
  t.equal(first.out.error.code, 'push_rejected');
  t.ok(existsSync(s.dir), 'the working copy and its commit stay');
  const committed = git(s.dir, 'rev-parse', 'HEAD');
  t.not(committed, s.envelope.worktree.base_sha);

  await deleteBranch(s.server, 'acme/widgets.git', 'jgo/20261123-202500');
  const second = await stage(t, shipStage(), withCodex(s, changed), env);
  t.equal(second.code, 0, second.err);
  t.equal(second.out.ship.remote_sha, committed, 'the same commit, not a new one');
  t.equal(second.out.ship.commits.length, 1);
  t.equal(fake.records().filter((r) => r.kind === 'exec').length, 1, 'codex planned once, not again');
  t.equal(fake.records().filter((r) => r.kind === 'login').length, 1, "and codex's login was checked once: a retried push starts no check");
});

t.test('a server that needs a token: pushed, and the token is in no file and no output', async (t) => {
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const s = await setup(t, { token });
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: install', body: '', paths: changed }] }));
  const shipped = await stage(t, shipStage({ keep: true }), withCodex(s, changed), { ...s.env, ...fake.env });
  t.equal(shipped.code, 0, shipped.err);
  t.notMatch(shipped.stdout + shipped.err, token);
  t.same(await grepTree(s.env.JGO_CACHE_DIR!, token), []);
  t.notMatch(git(s.dir, 'config', '--list'), token);
  t.notMatch(git(s.dir, 'remote', 'get-url', 'origin'), token);
});

t.test('nothing changed and nothing committed: exit 4', async (t) => {
  const s = await setup(t);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [] }));
  const shipped = await stage(t, shipStage(), withCodex(s, []), { ...s.env, ...fake.env });
  t.equal(shipped.code, 4);
  t.equal(shipped.out.error.code, 'no_changes');
});

const commitAll = (message: string) => [
  { run: ['git', '-c', 'user.name=codex', '-c', 'user.email=codex@example.invalid', 'add', '-A'] },
  { run: ['git', '-c', 'user.name=codex', '-c', 'user.email=codex@example.invalid', 'commit', '-q', '-m', message] },
];

t.test('agent mode: codex commits and pushes; jgo verifies', async (t) => {
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const s = await setup(t, { token });
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), {
    login: 'ok',
    steps: [ev.threadStarted(), ev.turnStarted(), ...commitAll('docs: install steps'), { run: ['git', 'push', '-q', 'origin', 'jgo/20261123-202500'] }, ev.message('m', 'pushed'), ev.turnCompleted()],
  });
  const shipped = await stage(t, shipStage(), withCodex(s, changed), { ...s.env, ...fake.env, JGO_SHIP_MODE: 'agent' });
  t.equal(shipped.code, 0, shipped.err);
  t.equal(shipped.out.ship.plan, 'agent');
  t.equal(shipped.out.ship.finished_by_jgo, false, 'codex pushed it itself');
  t.same(shipped.out.ship.commits.map((c: { subject: string }) => c.subject), ['docs: install steps']);
  const exec = fake.exec();
  t.equal(sandboxOf(exec?.argv), 'danger-full-access');
  t.notOk(exec?.argv?.some((a) => a.includes(token)), 'the token is not an argument');
  t.same(await grepTree(s.env.JGO_CACHE_DIR!, token), [], 'nor in any file (.git/config included)');
});

t.test('agent mode: codex commits but does not push; jgo finishes the push', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ...commitAll('docs: install steps'), ev.message('m', 'done'), ev.turnCompleted()] });
  const shipped = await stage(t, shipStage(), withCodex(s, changed), { ...s.env, ...fake.env, JGO_SHIP_MODE: 'agent' });
  t.equal(shipped.code, 0, shipped.err);
  t.equal(shipped.out.ship.finished_by_jgo, true);
  t.equal(await revParse(s.server, 'acme/widgets.git', 'jgo/20261123-202500'), shipped.out.ship.remote_sha);
});

t.test('agent mode: codex claims success but committed nothing: not_shipped', async (t) => {
  const s = await setup(t);
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ev.message('m', 'All committed and pushed!'), ev.turnCompleted()] });
  const shipped = await stage(t, shipStage(), withCodex(s, changed), { ...s.env, ...fake.env, JGO_SHIP_MODE: 'agent' });
  t.equal(shipped.code, 1);
  t.equal(shipped.out.error.code, 'not_shipped');
  t.ok(existsSync(s.dir), 'the working copy stays for a look');
});

t.test('JGO_SHIP_PR: a pull request for the pushed branch; a refusal keeps the branch, and a retry opens it', async (t) => {
  const { startGitHubServer, githubErrors } = await import('../helpers/github-server.js');
  const token = `tok-${randomBytes(16).toString('hex')}`;
  const s = await setup(t, { token });
  const github = await startGitHubServer({ token, repos: { 'acme/widgets': { permissions: { admin: false, push: true, pull: true } } } });
  t.teardown(github.close);
  const changed = edit(s.dir);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: add install steps and a dev target', body: '', paths: changed }] }));
  const env = { ...s.env, ...fake.env, JGO_SHIP_PR: 'true', JGO_GITHUB_API_URL: github.url };
  const input = { ...withCodex(s, changed), gate: { executable: true, reason: 'ok', repo_ref: 'acme/widgets', optimized_prompt: 'Add install steps.', model: 'm', usage: { input_tokens: 10, output_tokens: 5, total_tokens: 15 } } };

  github.replyNext(githubErrors.badCredentials());
  const refused = await stage(t, shipStage(), input, env);
  t.equal(refused.code, 1);
  t.equal(refused.out.error.code, 'pr_auth_failed');
  t.equal(refused.out.ship.pushed, true, 'the envelope says the push happened');
  t.ok(await revParse(s.server, 'acme/widgets.git', 'jgo/20261123-202500'), 'the pushed branch stays');
  t.ok(existsSync(s.dir), 'the working copy stays for the retry');
  t.notMatch(refused.stdout + refused.err, token);

  const opened = await stage(t, shipStage({ keep: true }), input, env);
  t.equal(opened.code, 0, opened.err);
  t.equal(opened.out.ship.pr.number, 1);
  t.match(opened.out.ship.pr.url, /\/acme\/widgets\/pull\/1$/);
  const created = github.requests.find((r) => r.method === 'POST');
  t.ok(created?.authorized, 'sent with the token');
  t.match(created?.body, { title: 'docs: add install steps and a dev target', head: 'jgo/20261123-202500', base: 'main', draft: false });
  t.match((created?.body as { body: string }).body, /Add install steps\./, "the body has the gate's prompt");
  t.equal(github.pulls.length, 1);

  s.server.resetStats();
  const again = await stage(t, shipStage(), input, env);
  t.equal(again.code, 0, again.err);
  t.equal(again.out.ship.pr.number, 1, 'the open pull request is reused');
  t.equal(github.pulls.length, 1, 'never a duplicate');
  t.equal(s.server.receivePackCount(), 0, 'and nothing pushed twice');
});

t.test('the push negotiates what the remote has, whether or not its base branch moved while codex worked', async (t) => {
  for (const moved of [false, true]) {
    const s = await setup(t);
    const changed = edit(s.dir);
    if (moved) await commitToBare(s.server, 'acme/widgets.git', { branch: 'main', files: { 'OTHER.md': 'someone else\n' }, message: 'meanwhile' });
    const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: install steps', body: '', paths: changed }] }));
    const before = s.server.stats.length;
    const shipped = await stage(t, shipStage(), withCodex(s, changed), { ...s.env, ...fake.env });
    t.equal(shipped.code, 0, shipped.err);
    const commands = s.server.stats.slice(before).map((r) => r.command).filter(Boolean);
    t.equal(commands.filter((c) => c === 'fetch').length, 1, moved ? 'moved: one negotiation round' : 'unchanged: one negotiation round');
    t.equal(await revParse(s.server, 'acme/widgets.git', shipped.out.ship.branch), shipped.out.ship.remote_sha);
  }
});
