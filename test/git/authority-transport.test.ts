/**
 * Where GITHUB_TOKEN goes, with real parts: loopback git servers (git http-backend) that record
 * every request's headers, native git with the environment jgo builds, isomorphic-git, and the
 * stages. The base host (JGO_GIT_BASE_URL) gets the token; a second, "foreign" server on another
 * port of the same loopback address must never see an Authorization header, whatever a request,
 * an envelope, a redirect, a working copy's config or an agent does.
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Settings, authorityFrom } from '../../lib/config.js';
import { tokenAllowed, tokenOrigins } from '../../lib/authority.js';
import { agentGitEnv, credentialsFor, gitCredentials } from '../../lib/git/auth.js';
import { gitEnv, runGit as jgoGit } from '../../lib/git/native.js';
import { remoteState } from '../../lib/git/remote.js';
import { runStage, type StageSpec } from '../../lib/stage.js';
import { syncStage } from '../../lib/stages/sync.js';
import { worktreeStage } from '../../lib/stages/worktree.js';
import { shipStage } from '../../lib/stages/ship.js';
import { startGitServer, createBareRepo, revParse, type GitServer } from '../helpers/git-server.js';
import { fakeCodex, ev } from '../helpers/fake-codex.js';
import { memoryIO } from '../helpers/streams.js';
import { tempDir } from '../helpers/run.js';

const settingsOf = (env: Record<string, string>) => new Settings({ env, cwd: '/' }, {}, '/nonexistent/.env', undefined);
const hostOf = (server: GitServer) => new URL(server.url).host;
const newToken = () => `tok-${randomBytes(16).toString('hex')}`;

/** Every request the server saw, and whether any carried an Authorization header. */
const sawAuth = (server: GitServer) => server.stats.some((r) => r.auth || r.headers.authorization !== undefined);

t.test('tokenAllowed: the token hosts only, over https or http to loopback, and the port is part of the host', async (t) => {
  const authority = authorityFrom(settingsOf({ JGO_GIT_BASE_URL: 'https://github.com', JGO_GIT_TOKEN_HOSTS: '127.0.0.1:8080,ghe.example.com', JGO_GIT_ALLOWED_HOSTS: '127.0.0.1:9090,git.example.org' }));
  const cases: Array<[string, boolean, string]> = [
    ['https://github.com/acme/widgets.git', true, 'the base host'],
    ['https://GitHub.com:443/acme/widgets.git', true, 'the same host, spelled otherwise'],
    ['http://github.com/acme/widgets.git', false, 'plain http to another machine'],
    ['https://github.com:8443/acme/widgets.git', false, 'another port of the base host'],
    ['https://github.com.evil.example/acme/widgets.git', false, 'a name that starts like it'],
    ['https://user:pw@github.com/acme/widgets.git', false, 'a URL with credentials of its own'],
    ['https://ghe.example.com/acme/widgets.git', true, 'a JGO_GIT_TOKEN_HOSTS host'],
    ['http://ghe.example.com/acme/widgets.git', false, 'a token host over plain http'],
    ['http://127.0.0.1:8080/acme/widgets.git', true, 'http to loopback, the listed port'],
    ['http://127.0.0.1:9090/acme/widgets.git', false, '127.0.0.1:9090 is allowed, not a token host'],
    ['http://127.0.0.1/acme/widgets.git', false, '127.0.0.1 without a port is port 80, not 8080'],
    ['https://git.example.org/acme/widgets.git', false, 'an allowed host gets no token'],
    ['not a url', false, 'not a URL'],
  ];
  for (const [url, expected, why] of cases) t.equal(tokenAllowed(authority, url), expected, `${url}: ${why}`);
  t.same(tokenOrigins(authority).sort(), ['http://127.0.0.1:8080', 'https://127.0.0.1:8080', 'https://ghe.example.com', 'https://github.com'].sort(), "the helper's origins, in git's protocol://host form");

  const settings = settingsOf({ GITHUB_TOKEN: 'tok-unit', JGO_GIT_TOKEN_HOSTS: '127.0.0.1:8080' });
  t.equal(gitCredentials(settings, 'https://github.com/acme/widgets.git')?.token, 'tok-unit');
  t.equal(gitCredentials(settings, 'http://127.0.0.1:9090/acme/widgets.git'), undefined, 'no credentials for a URL the token may not go to');
  t.equal(credentialsFor(gitCredentials(settings), 'http://127.0.0.1:8081/x.git'), undefined);
  t.throws(() => gitCredentials(settingsOf({ GITHUB_TOKEN: 'x', JGO_GIT_TOKEN_HOSTS: 'evil.example/path' })), { code: 'invalid_setting', message: /JGO_GIT_TOKEN_HOSTS/ });
});

/** `git credential fill` for one protocol and host, with the environment jgo gives native git. */
function fill(env: NodeJS.ProcessEnv, protocol: string, host: string) {
  const done = spawnSync('git', ['credential', 'fill'], { env, input: `protocol=${protocol}\nhost=${host}\n\n`, encoding: 'utf8' });
  return { code: done.status, stdout: done.stdout };
}

t.test("the credential helper answers only for the token's origins", async (t) => {
  const token = newToken();
  const credentials = { token, from: 'GITHUB_TOKEN' as const, origins: ['http://127.0.0.1:8080', 'https://github.com'] };
  const env = gitEnv({ credentials });
  t.match(fill(env, 'http', '127.0.0.1:8080'), { code: 0, stdout: new RegExp(`password=${token}`) }, 'a listed origin');
  t.match(fill(env, 'https', 'github.com'), { code: 0, stdout: new RegExp(`password=${token}`) });
  for (const [protocol, host] of [['http', '127.0.0.1:9090'], ['http', '127.0.0.1'], ['https', '127.0.0.1:8080'], ['http', 'github.com'], ['https', 'github.com:8443'], ['https', 'evil.example'], ['http', '127.0.0.1:8080 https://github.com']] as const) {
    const answer = fill(env, protocol, host);
    t.not(answer.code, 0, `${protocol}://${host}: git gets no credentials (and may not prompt)`);
    t.notMatch(answer.stdout, token, `${protocol}://${host}: the token is not printed`);
  }
  const agent = { PATH: process.env.PATH, HOME: tempDir(t), GIT_CONFIG_NOSYSTEM: '1', ...agentGitEnv(credentials) };
  t.match(fill(agent, 'http', '127.0.0.1:8080'), { code: 0, stdout: new RegExp(`password=${token}`) }, "the agent's git: the same helper");
  t.not(fill(agent, 'http', '127.0.0.1:9090').code, 0, "and the same refusal for another host");
  t.same(agentGitEnv(undefined).JGO_GIT_TOKEN, undefined, 'without credentials, no token in the agent environment');
});

interface Hosts {
  token: string;
  /** The base host: needs the token. */
  base: GitServer;
  /** Another port on 127.0.0.1, not a token host, that answers 401 to anything. */
  locked: GitServer;
  /** Another port on 127.0.0.1, listed in JGO_GIT_ALLOWED_HOSTS, that needs no token. */
  open: GitServer;
  env: Record<string, string>;
}

async function hosts(t: Test): Promise<Hosts> {
  const token = newToken();
  const base = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  const locked = await startGitServer({ auth: { username: 'x-access-token', password: newToken() } });
  const open = await startGitServer();
  t.teardown(() => Promise.all([base.close(), locked.close(), open.close()]));
  for (const server of [base, locked, open]) await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const cache = tempDir(t);
  const env = { JGO_GIT_BASE_URL: base.url, JGO_GIT_ALLOWED_HOSTS: `${hostOf(locked)},${hostOf(open)}`, GITHUB_TOKEN: token, JGO_CACHE_DIR: cache, CODEX_HOME: join(cache, 'codex') };
  return { token, base, locked, open, env };
}

t.test('native git and isomorphic-git: the base host gets the token, another port of 127.0.0.1 never does', async (t) => {
  const h = await hosts(t);
  const credentials = gitCredentials(settingsOf(h.env));
  const processEnv = { PATH: process.env.PATH, HOME: tempDir(t) };

  const toBase = await jgoGit(['ls-remote', h.base.repoUrl('acme/widgets.git')], { credentials, env: processEnv });
  t.equal(toBase.code, 0, toBase.stderr);
  t.ok(sawAuth(h.base), 'the base host was sent the token');
  t.ok((await remoteState(h.base.repoUrl('acme/widgets.git'), { credentials })).refs.has('refs/heads/main'), 'isomorphic-git too');

  // Even handed the whole credentials (as an agent's git is), git asks the helper for the host it talks to.
  const toLocked = await jgoGit(['ls-remote', h.locked.repoUrl('acme/widgets.git')], { credentials, env: processEnv });
  t.not(toLocked.code, 0, 'the locked host refuses');
  await t.rejects(remoteState(h.locked.repoUrl('acme/widgets.git'), { credentials }), { code: 'auth_failed' });
  t.ok(h.locked.stats.length >= 2, 'it was asked');
  t.notOk(sawAuth(h.locked), 'and never saw an Authorization header');
});

t.test("a working copy's config cannot send the token elsewhere: insteadOf and its own helpers", async (t) => {
  const h = await hosts(t);
  const credentials = gitCredentials(settingsOf(h.env));
  const dir = tempDir(t);
  const marker = join(dir, 'helper-ran');
  const env = { PATH: process.env.PATH, HOME: tempDir(t) };
  t.equal((await jgoGit(['init', '-q', dir], { env })).code, 0);
  // What an agent could leave in .git/config: the base host rewritten to the foreign one, and a
  // helper of its own that would see whatever git asks.
  await jgoGit(['config', `url.${h.locked.url}/.insteadOf`, `${h.base.url}/`], { cwd: dir, env });
  await jgoGit(['config', `credential.${h.locked.url}.helper`, `!f() { touch '${marker}'; }; f`], { cwd: dir, env });
  await jgoGit(['config', '--add', 'credential.helper', `!f() { touch '${marker}'; }; f`], { cwd: dir, env });
  const result = await jgoGit(['ls-remote', h.base.repoUrl('acme/widgets.git')], { cwd: dir, credentials, env });
  t.not(result.code, 0, 'the rewritten URL reached the locked host, which refused');
  t.ok(h.locked.stats.length > 0, 'the locked host was asked');
  t.notOk(sawAuth(h.locked), 'without the token');
  t.notOk(existsSync(marker), "and the working copy's own helpers never ran");
});

t.test('a redirect from the base host to another port carries no token, for either git', async (t) => {
  const h = await hosts(t);
  const moved = await startGitServer({ redirectTo: h.locked.url });
  t.teardown(moved.close);
  const env = { ...h.env, JGO_GIT_BASE_URL: moved.url };
  const credentials = gitCredentials(settingsOf(env));
  const url = moved.repoUrl('acme/widgets.git');
  await t.rejects(remoteState(url, { credentials }), { code: 'auth_failed' });
  t.ok(sawAuth(moved), 'isomorphic-git sent the token to the base host it was asked for');
  const native = await jgoGit(['ls-remote', url], { credentials, env: { PATH: process.env.PATH, HOME: tempDir(t) } });
  t.not(native.code, 0);
  t.ok(h.locked.stats.length >= 2, 'both followed the redirect');
  t.notOk(sawAuth(h.locked), 'and the host it led to never saw an Authorization header');
});

async function stage(t: Test, spec: StageSpec, input: object, env: Record<string, string>) {
  const io = memoryIO(JSON.stringify(input), { cwd: tempDir(t), env: { PATH: process.env.PATH, HOME: tempDir(t), ...env } });
  const code = await runStage(spec, io);
  return { code, out: JSON.parse(io.out()), err: io.err() };
}

/** sync and worktree for the repository at `server`, as a run would. */
async function workingCopy(t: Test, server: GitServer, env: Record<string, string>) {
  const start = { jgo: 1, run_id: '20261123-202500-7f3a', request: 'acme/widgets add install steps', repo: { ref: 'acme/widgets', url: server.repoUrl('acme/widgets.git') } };
  const synced = await stage(t, syncStage(), start, env);
  t.equal(synced.code, 0, synced.err);
  const made = await stage(t, worktreeStage(), synced.out, env);
  t.equal(made.code, 0, made.err);
  writeFileSync(join(made.out.worktree.path, 'README.md'), '# widgets\n\n## Install\n\nnpm ci\n');
  return { ...made.out, codex: { exit_code: 0, changed_files: ['README.md'], last_message: 'done', duration_ms: 1 } };
}

t.test('sync and ship against a repository on an allowed host that is not a token host: done without the token', async (t) => {
  const h = await hosts(t);
  const envelope = await workingCopy(t, h.open, h.env);
  const fake = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ev.message('m1', JSON.stringify({ commits: [{ subject: 'docs: install', body: '', paths: ['README.md'] }] })), ev.turnCompleted()] });
  const shipped = await stage(t, shipStage(), envelope, { ...h.env, ...fake.env });
  t.equal(shipped.code, 0, shipped.err);
  t.equal(await revParse(h.open, 'acme/widgets.git', shipped.out.ship.branch), shipped.out.ship.remote_sha, 'pushed and proved');
  t.ok(h.open.stats.some((r) => r.service === 'git-receive-pack'), 'the push went there');
  t.notOk(sawAuth(h.open), 'and no request to that host carried an Authorization header');
  t.notOk(sawAuth(h.locked));
});

t.test("agent mode: the agent's own push to another host gets no token; jgo's push to the base host does", async (t) => {
  const h = await hosts(t);
  const envelope = await workingCopy(t, h.base, h.env);
  const who = ['-c', 'user.name=codex', '-c', 'user.email=codex@example.invalid'];
  const fake = fakeCodex(tempDir(t), {
    login: 'ok',
    steps: [
      ev.threadStarted(),
      ev.turnStarted(),
      { run: ['git', ...who, 'add', '-A'] },
      { run: ['git', ...who, 'commit', '-q', '-m', 'docs: install'] },
      // Elsewhere: the locked host (a 401 to anything) and a host not even allowed.
      { run: ['git', 'push', h.locked.repoUrl('x.git'), 'HEAD:refs/heads/stolen'] },
      { run: ['git', 'ls-remote', h.locked.repoUrl('acme/widgets.git')] },
      ev.message('m', 'done'),
      ev.turnCompleted(),
    ],
  });
  const shipped = await stage(t, shipStage(), envelope, { ...h.env, ...fake.env, JGO_SHIP_MODE: 'agent' });
  t.equal(shipped.code, 0, shipped.err);
  t.equal(shipped.out.ship.finished_by_jgo, true, 'jgo pushed the branch itself');
  t.ok(h.base.stats.some((r) => r.service === 'git-receive-pack' && r.auth && r.status === 200), 'with the token, to the base host');
  t.ok(h.locked.stats.length >= 2, "the agent's git asked the locked host");
  t.notOk(sawAuth(h.locked), 'which never saw an Authorization header');

  // A repository on a host that gets no token: the agent's environment has no token at all.
  const elsewhere = { ...h.env, JGO_CACHE_DIR: tempDir(t) };
  const other = await workingCopy(t, h.open, elsewhere);
  const quiet = fakeCodex(tempDir(t), { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ev.message('m', 'nothing'), ev.turnCompleted()] });
  await stage(t, shipStage(), other, { ...elsewhere, ...quiet.env, JGO_SHIP_MODE: 'agent' });
  t.ok(quiet.exec(), 'the agent ran');
  t.equal(quiet.exec()?.env?.JGO_GIT_TOKEN, undefined, 'no JGO_GIT_TOKEN for an agent working on the open host');
});
