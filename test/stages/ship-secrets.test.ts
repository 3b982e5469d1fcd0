/**
 * jgo-ship pushes no secret in any encoding: an added line or a message of a commit the agent made
 * is refused, and codex's plan is scrubbed of secrets in use (and refused for a token's shape).
 */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage, type StageSpec } from '../../lib/stage.js';
import { syncStage } from '../../lib/stages/sync.js';
import { worktreeStage } from '../../lib/stages/worktree.js';
import { shipStage } from '../../lib/stages/ship.js';
import { startGitServer, createBareRepo, revParse } from '../helpers/git-server.js';
import { fakeCodex, ev, type FakeScript } from '../helpers/fake-codex.js';
import { memoryIO } from '../helpers/streams.js';
import { tempDir } from '../helpers/run.js';

// Assembled at run time: no token-shaped string sits in the source.
const TOKEN = ['gh', 'p_', 'Mn2'.repeat(12)].join('');
const hex = Buffer.from(TOKEN).toString('hex');
const b64url = Buffer.from(`T=${TOKEN}`).toString('base64url');

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

async function stage(t: Test, spec: StageSpec, input: object, env: Record<string, string>) {
  const io = memoryIO(JSON.stringify(input), { cwd: tempDir(t), env: { PATH: process.env.PATH, HOME: tempDir(t), ...env } });
  const code = await runStage(spec, io);
  for (const form of [TOKEN, hex, b64url, Buffer.from(TOKEN).toString('hex').toUpperCase().replace(/(..)/g, '%$1')]) t.notOk((io.out() + io.err()).includes(form), 'the token is in no output, in no form');
  return { code, out: JSON.parse(io.out()), err: io.err() };
}

async function setup(t: Test) {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const cache = tempDir(t);
  const env: Record<string, string> = { JGO_GIT_BASE_URL: server.url, JGO_CACHE_DIR: cache, CODEX_HOME: join(cache, 'codex'), GITHUB_TOKEN: TOKEN };
  const start = { jgo: 1, run_id: '20261123-202500-7f3a', request: 'acme/widgets add notes', repo: { ref: 'acme/widgets', url: server.repoUrl('acme/widgets.git') } };
  const synced = await stage(t, syncStage(), start, env);
  const made = await stage(t, worktreeStage(), synced.out, env);
  t.equal(made.code, 0, made.err);
  const dir: string = made.out.worktree.path;
  writeFileSync(join(dir, 'NOTES.md'), 'notes\n');
  const envelope = { ...made.out, codex: { exit_code: 0, changed_files: ['NOTES.md'], last_message: 'done', duration_ms: 1 } };
  const pushed = async () => revParse(server, 'acme/widgets.git', made.out.worktree.branch).catch(() => undefined);
  return { env, envelope, dir, pushed };
}

const planRun = (plan: unknown): FakeScript => ({ login: 'ok', steps: [ev.threadStarted(), ev.message('m', JSON.stringify(plan)), ev.turnCompleted()] });

t.test('an added line with the token hex-encoded: secret_in_diff, nothing pushed', async (t) => {
  const s = await setup(t);
  writeFileSync(join(s.dir, 'NOTES.md'), `notes\nkey: ${hex}\n`);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [] }));
  const r = await stage(t, shipStage(), s.envelope, { ...s.env, ...fake.env });
  t.equal(r.code, 1, r.err);
  t.match(r.out.error, { code: 'secret_in_diff', message: 'the change adds a secret: NOTES.md:2 (the value of a secret setting in use)' });
  t.equal(await s.pushed(), undefined);
});

t.test("a message of codex's plan: the token in it is redacted (in any form), a token-shaped string refused", async (t) => {
  // What codex answers is scrubbed of every form of a secret in use before ship reads it.
  const s = await setup(t);
  const fake = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: add notes', body: `ref ${b64url}`, paths: ['NOTES.md'] }] }));
  const r = await stage(t, shipStage(), s.envelope, { ...s.env, ...fake.env, JGO_SHIP_PR: 'false' });
  t.equal(r.code, 0, r.err);
  const message = git(r.out.mirror.path, 'log', '-1', '--format=%B', r.out.ship.remote_sha);
  t.match(message, /^docs: add notes\n\nref \S*\[redacted\]/, 'the pushed message, read back from the mirror');
  t.notOk(message.includes(b64url.slice(4, -4)), 'holds no base64 of the token');

  // A credential that is not one of jgo's settings, by its shape: refused before any commit.
  const s2 = await setup(t);
  const aws = ['AK', 'IA', 'QWERTYUIOPASDFGH'].join('');
  const fake2 = fakeCodex(tempDir(t), planRun({ commits: [{ subject: 'docs: add notes', body: `key ${aws}`, paths: ['NOTES.md'] }] }));
  const r2 = await stage(t, shipStage(), s2.envelope, { ...s2.env, ...fake2.env });
  t.equal(r2.code, 1, r2.err);
  t.match(r2.out.error, { code: 'secret_in_diff', message: "codex's commit plan puts a secret in a message: commit 1 of the plan:3 (something shaped like a AWS access key id)" });
  t.equal(git(s2.dir, 'rev-list', '--count', 'HEAD'), '1', 'no commit made');
  t.equal(await s2.pushed(), undefined);
});

t.test('agent mode: a commit with the token in its message is refused before the push, on disk or in git', async (t) => {
  // `git commit` leaves the message in .git/COMMIT_EDITMSG: the disk scan after the agent sees it.
  const s = await setup(t);
  const commit = { run: ['git', '-c', 'user.name=a', '-c', 'user.email=a@example.invalid', 'commit', '-q', '-m', 'docs: notes', '-m', 'see {{pct:GITHUB_TOKEN}}'] };
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), { run: ['git', 'add', 'NOTES.md'] }, commit, ev.turnCompleted()] });
  const r = await stage(t, shipStage(), s.envelope, { ...s.env, ...fake.env, JGO_SHIP_MODE: 'agent' });
  t.equal(r.code, 1, r.err);
  t.match(r.out.error, { code: 'secret_on_disk', message: /\.git\/COMMIT_EDITMSG; jgo removed the working copy$/ });
  t.equal(await s.pushed(), undefined);

  // `git commit-tree` writes the message only into the (compressed) object: ship reads it from git.
  const s2 = await setup(t);
  const plumbing = 'git add NOTES.md && c=$(git -c user.name=a -c user.email=a@example.invalid commit-tree $(git write-tree) -p HEAD -m "docs: notes" -m "see {{pct:GITHUB_TOKEN}}") && git update-ref HEAD "$c"';
  const fake2 = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), { run: ['sh', '-c', plumbing] }, ev.turnCompleted()] });
  const r2 = await stage(t, shipStage(), s2.envelope, { ...s2.env, ...fake2.env, JGO_SHIP_MODE: 'agent' });
  t.equal(r2.code, 1, r2.err);
  t.match(r2.out.error, { code: 'secret_in_diff', message: /^the change adds a secret: the message of [0-9a-f]{12}:3 \(the value of a secret setting in use\)$/ });
  t.equal(git(s2.dir, 'rev-list', '--count', 'HEAD'), '2', 'the agent did commit');
  t.equal(await s2.pushed(), undefined);
});
