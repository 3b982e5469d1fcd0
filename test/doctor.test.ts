/**
 * jgo doctor in-process, against real parts: the loopback Chat Completions server (GET /v1/models),
 * the fake codex (and once the real codex binary), a git smart-HTTP server that wants a token,
 * and a fake GitHub API. Good setups pass; each broken one fails (or warns) on the right check.
 */
import t, { type Test } from 'tap';
import { createServer as createHttpServer } from 'node:http';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { doctorCommand, mask, renderDoctor, type DoctorOptions, type DoctorReport } from '../lib/doctor.js';
import { startLlmServer } from './helpers/llm-server.js';
import { fakeCodex, type FakeScript } from './helpers/fake-codex.js';
import { startGitServer, createBareRepo } from './helpers/git-server.js';
import { startGitHubServer } from './helpers/github-server.js';
import { memoryIO } from './helpers/streams.js';
import { baseEnv, closedPort, ROOT, tempDir } from './helpers/run.js';

/** The codex release jgo pins (package-lock.json), which the fake codex also claims to be. */
const CODEX_VERSION = (JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> })
  .packages['node_modules/@openai/codex']?.version ?? 'no @openai/codex in package-lock.json';
const versionLine = new RegExp(`^codex-cli ${CODEX_VERSION.replace(/\./g, '\\.')} `);
const KEY = 'sk-test-Doctor0123456789abcdefghijklmnop';
// Token-shaped values are assembled at run time: no real-looking token sits in the source.
const TOKEN = ['gh', 'p_', 'DoctorToken0123456789abcdefABCDEFG'].join('');
const WRONG_TOKEN = ['gh', 'p_', 'WrongToken_0123456789abcdefghij'].join('');

const llm = await startLlmServer([]);
const git = await startGitServer({ auth: { username: 'x-access-token', password: TOKEN } });
await createBareRepo(git, 'acme/widgets.git');
await createBareRepo(git, 'acme/readonly.git');
const github = await startGitHubServer({
  token: TOKEN,
  repos: {
    'acme/widgets': { permissions: { admin: false, push: true, pull: true } },
    'acme/readonly': { permissions: { admin: false, push: false, pull: true } },
  },
});
t.teardown(async () => {
  await Promise.all([llm.close(), git.close(), github.close()]);
});


interface Setup {
  dir: string;
  env: Record<string, string | undefined>;
}

/** Everything in order: endpoint, key, model, codex logged in, cache, token, git host, GitHub API. */
function goodSetup(t: Test, script: FakeScript = { login: 'ok' }): Setup {
  const dir = tempDir(t, 'jgo-doctor-');
  const home = join(dir, 'home');
  const cwd = join(dir, 'cwd');
  mkdirSync(home);
  mkdirSync(cwd);
  const fake = fakeCodex(dir, script);
  return {
    dir: cwd,
    env: {
      ...baseEnv(home),
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: KEY,
      MODEL: 'gpt-test-mini',
      JGO_CACHE_DIR: join(dir, 'cache'),
      GITHUB_TOKEN: TOKEN,
      JGO_GIT_BASE_URL: git.url,
      JGO_GITHUB_API_URL: github.url,
      ...fake.env,
    },
  };
}

interface Result {
  code: number;
  report: DoctorReport;
  text: string;
  stderr: string;
}

function envOf(setup: Setup): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(setup.env)) if (v !== undefined) env[k] = v;
  return env;
}

/** doctor --json over the setup; `text` is the same report as people see it. */
async function doctor(setup: Setup, options: DoctorOptions = {}): Promise<Result> {
  const io = memoryIO('', { env: envOf(setup), cwd: setup.dir });
  const code = await doctorCommand({ ...options, json: true }, { ...io, binDir: join(ROOT, 'dist', 'cmd') });
  const report = JSON.parse(io.out()) as DoctorReport;
  return { code, report, text: renderDoctor(report), stderr: io.err() };
}

function status(r: Result, name: string): string | undefined {
  return r.report.checks.find((c) => c.name === name)?.status;
}

function check(r: Result, name: string) {
  const found = r.report.checks.find((c) => c.name === name);
  if (!found) throw new Error(`no check ${name} in ${r.report.checks.map((c) => c.name).join(', ')}`);
  return found;
}

t.test('a good setup: every check ok, exit 0, secrets masked, fast', async (t) => {
  const s = goodSetup(t);
  const r = await doctor(s, { repo: 'acme/widgets' });
  const notOk = r.report.checks.filter((c) => c.status !== 'ok' && c.name !== 'cache');
  t.same(notOk, [], 'nothing but ok (the cache may warn about a small disk)');
  t.equal(r.code, 0);
  t.equal(r.report.ok, true);
  t.not(status(r, 'cache'), 'fail');
  for (const name of ['env file', 'OPENAI_BASE_URL', 'OPENAI_API_KEY', 'MODEL', 'GITHUB_TOKEN', 'codex settings', 'git settings', 'cache', 'llm', 'model', 'codex', 'codex flags', 'codex login', 'codex sandbox', 'git', 'git host', 'repo read', 'repo push']) {
    t.ok(r.report.checks.some((c) => c.name === name), `checks ${name}`);
  }
  t.match(check(r, 'OPENAI_API_KEY').detail, `${mask(KEY)} (environment)`);
  t.equal(mask(KEY), 'sk-…mnop');
  t.match(check(r, 'GITHUB_TOKEN').detail, 'ghp…DEFG');
  t.match(check(r, 'llm').detail, /answers and takes the key \(2 models/);
  t.match(check(r, 'model').detail, 'gpt-test-mini is listed');
  t.match(check(r, 'codex').detail, versionLine);
  t.match(check(r, 'codex login').detail, /API key configured \(CODEX_HOME=/);
  t.match(check(r, 'repo read').detail, /acme\/widgets: 1 branch, default main \(with GITHUB_TOKEN\)/);
  t.match(check(r, 'repo push').detail, 'acme/widgets: GITHUB_TOKEN may push');
  t.equal(check(r, 'git settings').detail, `JGO_GIT_BASE_URL=${git.url} (environment), JGO_GITHUB_API_URL=${github.url} (environment)`);

  for (const output of [r.text, JSON.stringify(r.report), r.stderr]) {
    t.notMatch(output, KEY, 'the key is never printed whole');
    t.notMatch(output, TOKEN, 'nor the token');
  }
  t.match(r.text, /^ok {4}env file {9}/m, 'aligned columns');
  t.match(r.text, /^ok {4}OPENAI_API_KEY {3}sk-…mnop \(environment\)$/m);
  t.match(r.text, /all checks passed|no failures/);
  // A second or two on an idle machine; the bound leaves room for a loaded CI runner.
  t.comment(`doctor took ${r.report.duration_ms} ms`);
  t.ok(r.report.duration_ms < 10_000, `took ${r.report.duration_ms} ms`);

  // The command as people run it: the same checks as text on stdout, nothing on stderr.
  const io = memoryIO('', { env: envOf(s), cwd: s.dir });
  t.equal(await doctorCommand({ repo: 'acme/widgets' }, { ...io, binDir: '' }), 0);
  t.match(io.out(), /^ok {4}env file {9}none at /m);
  t.match(io.out(), /^ok {4}repo push {8}acme\/widgets: GITHUB_TOKEN may push$/m);
  t.equal(io.err(), '');
  t.notMatch(io.out(), KEY);

  const models = llm.requests.filter((q) => q.path === '/v1/models');
  t.ok(models.length >= 1, 'asked GET /v1/models');
  t.equal(models.at(-1)?.headers.authorization, `Bearer ${KEY}`);
  t.equal(llm.requests.filter((q) => q.path !== '/v1/models').length, 0, 'no tokens spent');
});

t.test('settings from fallbacks and the env file; a missing key fails', async (t) => {
  const s = goodSetup(t);
  writeFileSync(join(s.dir, '.env'), `OPENWEBUI_BASE_URL=${llm.url}\nLITELLM_MODEL=gpt-test\n`);
  s.env.OPENAI_BASE_URL = undefined;
  s.env.OPENAI_API_KEY = undefined;
  s.env.MODEL = undefined;
  const r = await doctor(s);
  t.equal(r.code, 1);
  t.equal(r.report.ok, false);
  t.match(check(r, 'env file'), { status: 'ok', detail: join(s.dir, '.env') });
  t.match(check(r, 'OPENAI_BASE_URL'), { status: 'ok', detail: `${llm.url} (from OPENWEBUI_BASE_URL, env file)` });
  t.match(check(r, 'MODEL'), { status: 'ok', detail: 'gpt-test (from LITELLM_MODEL, env file)' });
  t.match(check(r, 'OPENAI_API_KEY'), { status: 'fail', detail: 'not set', fix: /OPENAI_API_KEY \(or OPENWEBUI_API_KEY, or LITELLM_API_KEY\)/ });
  t.equal(status(r, 'llm'), undefined, 'the endpoint is not tried without a key');
  t.equal(status(r, 'codex'), 'ok', 'the rest is still checked');
  t.match(r.text, /^fail {2}OPENAI_API_KEY +not set\n +fix: Set OPENAI_API_KEY/m);
  t.match(r.text, /1 failed/);
});

t.test('an unreachable endpoint fails; a rejected key fails; an unlisted model warns', async (t) => {
  const down = goodSetup(t);
  down.env.OPENAI_BASE_URL = `http://127.0.0.1:${await closedPort()}/v1`;
  const r1 = await doctor(down);
  t.equal(r1.code, 1);
  t.match(check(r1, 'llm'), { status: 'fail', detail: /cannot reach http:\/\/127\.0\.0\.1:\d+\/v1 \(ECONNREFUSED\)/, fix: /OPENAI_BASE_URL/ });

  const rejecting = createHttpServer((_req, res) => {
    res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { message: 'Incorrect API key provided', type: 'invalid_request_error', code: 'invalid_api_key' } }));
  });
  await new Promise<void>((resolve) => rejecting.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => rejecting.close(() => resolve())));
  const bad = goodSetup(t);
  bad.env.OPENAI_BASE_URL = `http://127.0.0.1:${(rejecting.address() as { port: number }).port}/v1`;
  const r2 = await doctor(bad);
  t.equal(r2.code, 1);
  t.match(check(r2, 'llm'), { status: 'fail', detail: /rejected the key from OPENAI_API_KEY \(HTTP 401\)/ });
  t.notMatch(r2.text, KEY);

  // An endpoint that takes the connection and never answers: the check gives up in time.
  const silent = createHttpServer(() => {});
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    silent.closeAllConnections();
    return new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  const hanging = goodSetup(t);
  hanging.env.OPENAI_BASE_URL = `http://127.0.0.1:${(silent.address() as { port: number }).port}/v1`;
  const started = Date.now();
  const r4 = await doctor(hanging, { timeoutMs: 1000 });
  t.match(check(r4, 'llm'), { status: 'fail', detail: /did not answer in 1 s/ });
  t.ok(Date.now() - started < 4000, 'doctor does not wait for it');

  const unlisted = goodSetup(t);
  unlisted.env.MODEL = 'gpt-nope';
  const r3 = await doctor(unlisted);
  t.equal(r3.code, 0, 'a model that is not listed may still work');
  t.match(check(r3, 'model'), { status: 'warn', detail: /gpt-nope is not among the 2 models .* \(gpt-test-mini, gpt-test\)/ });
  t.match(r3.text, /^warn {2}model/m);
});

t.test('git: the version is checked; a git older than 2.39, or none, fails', async (t) => {
  const good = await doctor(goodSetup(t));
  t.match(check(good, 'git'), { status: 'ok', detail: /^git \d+\.\d+(\.\d+)? \(jgo needs 2\.39 or newer\)$/ });

  const old = goodSetup(t);
  const bin = join(old.dir, 'old-git');
  mkdirSync(bin);
  writeFileSync(join(bin, 'git'), '#!/bin/sh\necho "git version 2.30.1"\n', { mode: 0o755 });
  old.env.PATH = `${bin}:${old.env.PATH ?? ''}`;
  const r = await doctor(old);
  t.equal(r.code, 1);
  t.match(check(r, 'git'), { status: 'fail', detail: 'git 2.30.1 is too old: jgo needs 2.39 or newer', fix: /^Install git 2\.39 or newer/ });

  const none = goodSetup(t);
  const empty = join(none.dir, 'empty');
  mkdirSync(empty);
  none.env.PATH = empty;
  t.match(check(await doctor(none), 'git'), { status: 'fail', detail: /^no git binary on PATH/ });
});

t.test('codex missing, not logged in, lacking a flag, or with no sandbox here', async (t) => {
  const missing = goodSetup(t);
  missing.env.CODEX_BIN = join(missing.dir, 'no-such-codex');
  const r1 = await doctor(missing);
  t.equal(r1.code, 1);
  t.match(check(r1, 'codex'), { status: 'fail', detail: /no such executable/, fix: /npm install -g @openai\/codex/ });
  t.equal(status(r1, 'codex flags'), undefined);

  const onPath = goodSetup(t);
  onPath.env.CODEX_BIN = 'codex-that-is-not-installed';
  t.match(check(await doctor(onPath), 'codex'), { status: 'fail', detail: /no such executable on PATH/ });

  const loggedOut = goodSetup(t, { login: 'none' });
  const r2 = await doctor(loggedOut);
  t.equal(r2.code, 1);
  const login = check(r2, 'codex login');
  t.equal(login.status, 'fail');
  t.match(login.detail, /codex cannot authenticate \(CODEX_HOME=.*\/cache\/codex\): Not logged in/);
  t.match(login.fix, /CODEX_HOME=\S+\/cache\/codex \S+fake-codex\.mjs login/);
  t.match(r2.text, /^ {4,}fix: Log codex in once, with the same CODEX_HOME:\n {4,}CODEX_HOME=/m, 'the fix is indented under its check');

  const withKey = goodSetup(t, { login: 'none' });
  withKey.env.CODEX_API_KEY = 'sk-codex-0123456789abcdefghijklmnop';
  const r3 = await doctor(withKey);
  t.match(check(r3, 'codex login'), { status: 'ok', detail: /CODEX_API_KEY sk-…mnop/ });
  t.notMatch(r3.text, 'sk-codex-0123456789abcdefghijklmnop');

  const compatible = goodSetup(t, { login: 'none' });
  compatible.env.JGO_CODEX_PROVIDER = 'openai-compatible';
  compatible.env.CODEX_MODEL = 'gpt-codex-unlisted';
  const r4 = await doctor(compatible);
  t.match(check(r4, 'codex login'), { status: 'ok', detail: /openai-compatible.*OPENAI_API_KEY/ });
  t.match(check(r4, 'codex model'), { status: 'warn', detail: /gpt-codex-unlisted is not among/ });
  t.equal(r4.code, 0);

  const old = goodSetup(t, { login: 'ok', helpWithout: ['--output-schema', '-o'] });
  const r5 = await doctor(old);
  t.equal(r5.code, 1);
  t.match(check(r5, 'codex flags'), { status: 'fail', detail: 'codex exec lacks -o/--output-last-message, --output-schema' });

  const noSandbox = goodSetup(t, { login: 'ok', sandbox: 'broken' });
  const r6 = await doctor(noSandbox);
  t.equal(r6.code, 0, 'a sandbox that does not work here is a warning');
  t.match(check(r6, 'codex sandbox'), { status: 'warn', detail: /does not work here: .*bwrap/, fix: /JGO_CODEX_SANDBOX=danger-full-access/ });
  noSandbox.env.JGO_CODEX_SANDBOX = 'danger-full-access';
  t.match(check(await doctor(noSandbox), 'codex sandbox'), { status: 'ok', detail: /danger-full-access does not need it/ });

  const invalid = goodSetup(t);
  invalid.env.JGO_CODEX_SANDBOX = 'yolo';
  const r7 = await doctor(invalid);
  t.equal(r7.code, 1);
  t.match(check(r7, 'codex settings'), { status: 'fail', detail: /JGO_CODEX_SANDBOX="yolo" is not one of/ });
  t.equal(status(r7, 'codex'), 'ok', 'the binary is still checked');
});

t.test('an unwritable cache fails', async (t) => {
  const s = goodSetup(t);
  const file = join(s.dir, 'a-file');
  writeFileSync(file, 'not a directory\n');
  s.env.JGO_CACHE_DIR = join(file, 'cache');
  const r = await doctor(s);
  t.equal(r.code, 1);
  t.match(check(r, 'cache'), { status: 'fail', detail: /JGO_CACHE_DIR .*a-file\/cache cannot be created or written/, fix: /JGO_CACHE_DIR/ });
  t.match(check(r, 'codex login'), { status: 'fail', detail: /CODEX_HOME .* cannot be created/ }, 'codex has nowhere to keep its login');
  t.equal(status(r, 'codex sandbox'), 'ok', 'the sandbox is still probed');
});

t.test('--repo: read and push permission', async (t) => {
  const denied = await doctor(goodSetup(t), { repo: 'acme/readonly' });
  t.equal(denied.code, 1);
  t.equal(status(denied, 'repo read'), 'ok');
  t.match(check(denied, 'repo push'), { status: 'fail', detail: /acme\/readonly: GITHUB_TOKEN may not push/, fix: /write access/ });
  t.ok(github.requests.some((q) => q.path === '/repos/acme/readonly' && q.authorized && q.headers['x-github-api-version'] === '2022-11-28'));

  const noToken = goodSetup(t);
  noToken.env.GITHUB_TOKEN = undefined;
  const r = await doctor(noToken, { repo: `${git.url}/acme/widgets.git` });
  t.equal(r.code, 1);
  t.equal(status(r, 'GITHUB_TOKEN'), 'warn');
  t.match(check(r, 'repo read'), { status: 'fail', detail: /acme\/widgets/ });
  t.match(check(r, 'repo push'), { status: 'fail', detail: /no GITHUB_TOKEN/, fix: /Set GITHUB_TOKEN/ });
  noToken.env.JGO_SHIP_PR = 'true';
  t.match(check(await doctor(noToken), 'GITHUB_TOKEN'), { status: 'fail', detail: /JGO_SHIP_PR=true/ }, 'pull requests need the token');
  noToken.env.JGO_SHIP_PR = 'perhaps';
  t.match(check(await doctor(noToken), 'run settings'), { status: 'fail', detail: /JGO_SHIP_PR="perhaps" is not true or false/ });

  const wrong = goodSetup(t);
  wrong.env.GITHUB_TOKEN = WRONG_TOKEN;
  const r2 = await doctor(wrong, { repo: 'acme/widgets' });
  t.match(check(r2, 'repo read'), { status: 'fail' });
  t.match(check(r2, 'repo push'), { status: 'fail', detail: /HTTP 401\): Bad credentials/ });
  t.notMatch(r2.text, WRONG_TOKEN);

  const missing = await doctor(goodSetup(t), { repo: 'acme/missing' });
  t.equal(status(missing, 'repo read'), 'fail');
  t.match(check(missing, 'repo push'), { status: 'fail', detail: /no repository acme\/missing/ });

  const hostDown = goodSetup(t);
  hostDown.env.JGO_GIT_BASE_URL = `http://127.0.0.1:${await closedPort()}`;
  const r3 = await doctor(hostDown, { repo: 'acme/widgets' });
  t.match(check(r3, 'git host'), { status: 'fail', detail: /cannot reach .*ECONNREFUSED/ });
  t.match(check(r3, 'repo read'), { status: 'fail', detail: /cannot reach/ });

  const bad = goodSetup(t);
  const io = memoryIO('', { env: envOf(bad), cwd: bad.dir });
  t.equal(await doctorCommand({ repo: '../etc/passwd' }, { ...io, binDir: '' }), 2, 'a bad --repo is a usage error');
  t.match(io.err(), /refused/);
});

t.test('the real codex binary: version, flags, login status, sandbox (no model call)', async (t) => {
  const s = goodSetup(t);
  s.env.CODEX_BIN = join(ROOT, 'node_modules', '.bin', 'codex');
  s.env.CODEX_FAKE_SCRIPT = undefined;
  s.env.CODEX_FAKE_RECORD = undefined;
  const r = await doctor(s);
  t.match(check(r, 'codex'), { status: 'ok', detail: versionLine }, 'the version package-lock.json pins');
  t.match(check(r, 'codex flags'), { status: 'ok' }, 'codex exec --help lists every flag jgo passes');
  t.match(check(r, 'codex login'), { status: 'fail', detail: /Not logged in/ }, 'a fresh CODEX_HOME has no login');
  t.not(status(r, 'codex sandbox'), 'fail');
  t.comment(`codex sandbox: ${check(r, 'codex sandbox').detail}`);
  t.equal(r.code, 1);
  t.comment(`doctor took ${r.report.duration_ms} ms`);
  t.ok(r.report.duration_ms < 10_000, `took ${r.report.duration_ms} ms`);
});

t.test('the token hosts: bad host lists fail git settings; the token goes only where a run sends it', async (t) => {
  const bad = goodSetup(t);
  bad.env.JGO_GIT_TOKEN_HOSTS = 'ghe.example.com/api';
  bad.env.JGO_GIT_ALLOWED_HOSTS = 'ok.example.com';
  const r = await doctor(bad);
  t.match(check(r, 'git settings'), { status: 'fail', detail: /JGO_GIT_TOKEN_HOSTS: "ghe\.example\.com\/api" is not host or host:port/ });

  const listed = goodSetup(t);
  listed.env.JGO_GIT_TOKEN_HOSTS = '127.0.0.1:1';
  const ok = await doctor(listed);
  t.match(check(ok, 'git settings'), { status: 'ok', detail: /JGO_GIT_TOKEN_HOSTS=127\.0\.0\.1:1 \(environment\)/ });
  const where = check(ok, 'GITHUB_TOKEN').detail;
  t.match(where, /sent only to /, 'the token check says where it goes');
  t.ok(where.includes(git.url) && where.includes('http://127.0.0.1:1'), 'the base host and the listed one');

  // A second git server on another port: readable without the token once allowed, never sent it.
  const other = await startGitServer();
  t.teardown(other.close);
  await createBareRepo(other, 'acme/widgets.git');
  const elsewhere = goodSetup(t);
  const refused = await doctor(elsewhere, { repo: other.repoUrl('acme/widgets.git') });
  t.match(check(refused, 'repo read'), { status: 'fail', detail: /is not an allowed git host/ }, 'a host a run would refuse is not asked');
  t.equal(other.stats.length, 0);
  elsewhere.env.JGO_GIT_ALLOWED_HOSTS = new URL(other.url).host;
  const allowed = await doctor(elsewhere, { repo: other.repoUrl('acme/widgets.git') });
  t.match(check(allowed, 'repo read'), { status: 'ok', detail: /without a token: 127\.0\.0\.1:\d+ does not get GITHUB_TOKEN/ });
  t.match(check(allowed, 'repo push'), { status: 'warn', detail: /without GITHUB_TOKEN/, fix: /JGO_GIT_TOKEN_HOSTS/ });
  t.ok(other.stats.length > 0, 'asked');
  t.notOk(other.stats.some((r) => r.auth), 'and never sent the token');
});

t.test("jgo serve's settings: a bad value, and an open address without keys, fail; keys are counted, not shown", async (t) => {
  const plain = await doctor(goodSetup(t));
  t.match(check(plain, 'serve settings'), { status: 'ok', detail: /^127\.0\.0\.1:8080, no keys \(loopback only\), 2 runs at once, 50 may wait$/ });
  const open = goodSetup(t);
  open.env.JGO_SERVE_HOST = '0.0.0.0';
  t.match(check(await doctor(open), 'serve settings'), { status: 'fail', detail: /0\.0\.0\.0:8080 without JGO_SERVE_API_KEYS/, fix: /Set JGO_SERVE_API_KEYS/ });
  const key = 'serve-doctor-key-0123456789abcdef';
  open.env.JGO_SERVE_API_KEYS = key;
  const keyed = await doctor(open);
  t.match(check(keyed, 'serve settings'), { status: 'ok', detail: /1 API key\(s\)/ });
  t.notMatch(JSON.stringify(keyed.report) + keyed.text, key, 'the key is never shown');
  open.env.JGO_SERVE_API_KEYS = 'short';
  open.env.JGO_SERVE_PORT = '99999';
  const bad = check(await doctor(open), 'serve settings');
  t.match(bad, { status: 'fail', detail: /JGO_SERVE_PORT="99999" is not a whole number from 0 to 65535.*JGO_SERVE_API_KEYS holds a key shorter than 16/ });
});
