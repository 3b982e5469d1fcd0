/**
 * scripts/docker-entrypoint.sh, run as a real process with `sh` (dash here, as in Ubuntu), a fake
 * `jgo` first on PATH that prints its pid, argv and environment, and the cache in a
 * temporary directory. Needs dist/scripts/docker-env.js (npm test builds first).
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { ROOT, baseEnv, tempDir } from '../helpers/run.js';

const ENTRYPOINT = join(ROOT, 'scripts', 'docker-entrypoint.sh');
const LAYOUT = ['repos', 'work', 'runs', 'codex', 'go-build', 'go-mod'];

interface FakeReport {
  argv: string[];
  pid: number;
  cwd: string;
  env: Record<string, string>;
}

interface EntrypointResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  pid: number | undefined;
  stdout: string;
  stderr: string;
}

interface Sandbox {
  dir: string;
  cache: string;
  env: Record<string, string>;
}

/** A working directory, a cache path (with a space) and a PATH whose first `jgo` is the fake. */
function sandbox(t: Test): Sandbox {
  const dir = tempDir(t, 'jgo-entrypoint-');
  const bin = join(dir, 'bin');
  mkdirSync(bin);
  const fake = join(bin, 'jgo');
  // sh, not node: fast, and it prints exactly what it got. NUL-separated: pid, cwd, argc, the
  // arguments, then the environment (env -0).
  writeFileSync(
    fake,
    `#!/bin/sh
printf '%s\\0' "$$" "$PWD" "$#" "$@"
env -0
exit "\${FAKE_JGO_EXIT:-0}"
`,
  );
  chmodSync(fake, 0o755);
  const work = join(dir, 'work dir');
  mkdirSync(work);
  const home = join(dir, 'home');
  mkdirSync(home);
  const cache = join(dir, 'jgo cache');
  return { dir: work, cache, env: { ...baseEnv(home), PATH: `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`, JGO_CACHE_DIR: cache } };
}

function entrypoint(args: string[], env: Record<string, string>, cwd: string): Promise<EntrypointResult> {
  return new Promise((resolve, reject) => {
    // env -u: tap adds NODE_OPTIONS (its process tracker) to every child; not to this one, whose
    // node runs are the product's own. env, then sh, then the command: one process, exec after exec.
    const child = spawn('env', ['-u', 'NODE_OPTIONS', 'sh', ENTRYPOINT, ...args], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, pid: child.pid, stdout, stderr });
    });
  });
}

function report(t: Test, result: EntrypointResult): FakeReport {
  t.equal(result.code, 0, 'exit 0');
  const fields = result.stdout.split('\0');
  const argc = Number(fields[2]);
  if (fields.length < 4 || !Number.isInteger(argc)) {
    t.fail(`the fake jgo did not run: stdout ${JSON.stringify(result.stdout)}, stderr ${JSON.stringify(result.stderr)}`);
    return { argv: [], pid: 0, cwd: '', env: {} };
  }
  const env: Record<string, string> = {};
  for (const entry of fields.slice(3 + argc)) {
    const eq = entry.indexOf('=');
    if (eq > 0) env[entry.slice(0, eq)] = entry.slice(eq + 1);
  }
  return { pid: Number(fields[0]), cwd: fields[1] ?? '', argv: fields.slice(3, 3 + argc), env };
}

// A .env with everything dotenv handles that a shell parser tends to get wrong.
const NASTY_ENV = [
  '# a comment line',
  'PLAIN=plain value',
  'export EXPORTED=exported value',
  `SINGLE='single $HOME "double" # not a comment'`,
  `DOUBLE="double 'single' # not a comment"`,
  'TRAILING=value # a trailing comment',
  'EQUALS=a=b==c',
  'MULTILINE="line one',
  'line two',
  '  line three"',
  'DOLLAR=$(touch pwned) `touch pwned2` ${HOME} $HOME',
  `QUOTES_INSIDE="it's \\"quoted\\""`,
  'BACKSLASH=back\\slash\\n',
  '  SPACED  =   spaced out   ',
  'UNICODE=héllo ✓',
  'EMPTY=',
  `SEMI=a; echo injected; 'b'`,
  '',
].join('\n');

t.test('the env file is loaded as dotenv parses it, and nothing in it runs', async (t) => {
  const s = sandbox(t);
  writeFileSync(join(s.dir, '.env'), NASTY_ENV);
  const r = await entrypoint(['run', 'x'], s.env, s.dir);
  const seen = report(t, r);
  t.equal(r.stderr, '', 'nothing on stderr');
  const expected = parseDotenv(NASTY_ENV);
  t.ok(Object.keys(expected).length >= 14, 'dotenv parsed the fixture');
  for (const [name, value] of Object.entries(expected)) {
    if (value === '') t.notOk(name in seen.env && seen.env[name] !== '', `${name} empty or unset`);
    else t.equal(seen.env[name], value, `${name} exactly as dotenv reads it`);
  }
  t.equal(seen.env.MULTILINE, 'line one\nline two\n  line three');
  t.equal(seen.env.DOLLAR, '$(touch pwned) `touch pwned2` ${HOME} $HOME', 'no expansion, no command substitution');
  t.equal(seen.env.SINGLE, 'single $HOME "double" # not a comment');
  t.equal(seen.env.TRAILING, 'value');
  t.equal(seen.env.SPACED, 'spaced out');
  t.notOk(existsSync(join(s.dir, 'pwned')) || existsSync(join(s.dir, 'pwned2')), 'no command in a value ran');
});

t.test('the process environment wins over the env file; an empty value counts as unset', async (t) => {
  const s = sandbox(t);
  writeFileSync(join(s.dir, '.env'), 'MODEL=from-file\nOPENAI_BASE_URL=http://file/v1\nPATH=/from/file\nEMPTY_IN_ENV=from-file\nJGO_ENV_FILE=/elsewhere\n');
  const seen = report(t, await entrypoint(['run', 'x'], { ...s.env, MODEL: 'from-env', EMPTY_IN_ENV: '' }, s.dir));
  t.equal(seen.env.MODEL, 'from-env');
  t.equal(seen.env.OPENAI_BASE_URL, 'http://file/v1', 'a variable only in the file is loaded');
  t.equal(seen.env.PATH, s.env.PATH, 'PATH is the process environment');
  t.equal(seen.env.EMPTY_IN_ENV, 'from-file', 'as in lib/config.ts, empty is unset');
  t.equal(seen.env.JGO_ENV_FILE, undefined, 'the file does not name another env file');
});

t.test('JGO_ENV_FILE names the file, relative to the working directory', async (t) => {
  const s = sandbox(t);
  mkdirSync(join(s.dir, 'conf'));
  writeFileSync(join(s.dir, 'conf', 'jgo env'), 'MODEL=named\n');
  writeFileSync(join(s.dir, '.env'), 'MODEL=default\n');
  const seen = report(t, await entrypoint(['doctor'], { ...s.env, JGO_ENV_FILE: 'conf/jgo env' }, s.dir));
  t.equal(seen.env.MODEL, 'named');
  const byDefault = report(t, await entrypoint(['doctor'], s.env, s.dir));
  t.equal(byDefault.env.MODEL, 'default', 'without JGO_ENV_FILE, ./.env');
});

t.test('a missing env file is fine', async (t) => {
  const s = sandbox(t);
  const r = await entrypoint(['runs'], { ...s.env, JGO_ENV_FILE: join(s.dir, 'nope.env') }, s.dir);
  const seen = report(t, r);
  t.same(seen.argv, ['runs']);
  t.equal(r.stderr, '');
});

t.test('an env file that cannot be read stops with exit 2, before anything runs', async (t) => {
  const s = sandbox(t);
  mkdirSync(join(s.dir, 'a directory'));
  const r = await entrypoint(['run', 'x'], { ...s.env, JGO_ENV_FILE: 'a directory' }, s.dir);
  t.equal(r.code, 2);
  t.equal(r.stdout, '', 'jgo did not run');
  t.match(r.stderr, /cannot read the env file .*a directory/);
});

t.test('no value from the env file is ever printed', async (t) => {
  const s = sandbox(t);
  const secret = 'sk-entrypoint-secret-0123456789';
  writeFileSync(join(s.dir, '.env'), `OPENAI_API_KEY=${secret}\nBAD-NAME=${secret}-2\nGITHUB_TOKEN="${secret}-3"\n`);
  const r = await entrypoint(['true'], s.env, s.dir);
  t.equal(r.code, 0);
  t.equal(r.stdout, '');
  t.notMatch(r.stderr, secret);
  t.match(r.stderr, /"BAD-NAME" is not a name the shell can export; skipped/, 'a name the shell cannot hold is named, not its value');
});

t.test('the cache layout is created under JGO_CACHE_DIR', async (t) => {
  const s = sandbox(t);
  const elsewhere = join(s.dir, 'elsewhere');
  const env = { ...s.env, CODEX_HOME: join(elsewhere, 'codex'), GOCACHE: join(elsewhere, 'gocache'), GOMODCACHE: join(elsewhere, 'gomod') };
  const r = await entrypoint(['gc'], env, s.dir);
  report(t, r);
  t.equal(r.stderr, '');
  for (const name of LAYOUT) t.ok(statSync(join(s.cache, name)).isDirectory(), `${name}/`);
  t.equal(statSync(join(s.cache, 'codex')).mode & 0o777, 0o700, 'codex/ is private');
  t.equal(statSync(env.CODEX_HOME).mode & 0o777, 0o700, 'so is CODEX_HOME elsewhere');
  t.ok(statSync(env.GOCACHE).isDirectory() && statSync(env.GOMODCACHE).isDirectory(), 'GOCACHE and GOMODCACHE elsewhere');
  // A second start leaves what is there alone.
  writeFileSync(join(s.cache, 'repos', 'keep'), 'x');
  chmodSync(join(s.cache, 'codex'), 0o750);
  report(t, await entrypoint(['gc'], env, s.dir));
  t.equal(readFileSync(join(s.cache, 'repos', 'keep'), 'utf8'), 'x');
  t.equal(statSync(join(s.cache, 'codex')).mode & 0o777, 0o750, 'an existing codex/ keeps its mode');
});

t.test('JGO_CACHE_DIR from the env file places the cache', async (t) => {
  const s = sandbox(t);
  const fromFile = join(s.dir, 'cache from file');
  writeFileSync(join(s.dir, '.env'), `JGO_CACHE_DIR="${fromFile}"\n`);
  const env: Record<string, string> = { ...s.env };
  delete env.JGO_CACHE_DIR;
  const seen = report(t, await entrypoint(['gc'], env, s.dir));
  t.equal(seen.env.JGO_CACHE_DIR, fromFile);
  for (const name of LAYOUT) t.ok(existsSync(join(fromFile, name)), `${name}/`);
});

t.test('a cache that cannot be made is reported, and the command still runs', async (t) => {
  const s = sandbox(t);
  const r = await entrypoint(['bash', '-c', 'exit 0'], { ...s.env, JGO_CACHE_DIR: '/dev/null/jgo-cache' }, s.dir);
  t.equal(r.code, 0);
  t.match(r.stderr, /the cache \/dev\/null\/jgo-cache cannot be created or written/);
  t.match(r.stderr, /fsGroup/);
});

t.test('a HOME that cannot be written is replaced by one in the cache (docker run --user)', async (t) => {
  const s = sandbox(t);
  const seen = report(t, await entrypoint(['run', 'x'], { ...s.env, HOME: join(s.dir, 'no such home') }, s.dir));
  t.equal(seen.env.HOME, join(s.cache, 'home'));
  t.ok(statSync(join(s.cache, 'home')).isDirectory());
  const kept = report(t, await entrypoint(['run', 'x'], s.env, s.dir));
  t.equal(kept.env.HOME, s.env.HOME, 'a usable HOME is kept');
});

t.test('jgo commands and options go to jgo, with the arguments exactly as given', async (t) => {
  const s = sandbox(t);
  const tricky = ['owner/repo fix "the" bug', '', '*', '$HOME', "it's", '-x', 'a\nb'];
  const cases: string[][] = [
    ['run', ...tricky],
    ['resume', '20261123-202500-7f3a'],
    ['runs'],
    ['show', 'last'],
    ['gc', '--dry-run'],
    ['doctor'],
    ['--help'],
    ['--version'],
    ['-h'],
  ];
  const results = await Promise.all(cases.map((args) => entrypoint(args, s.env, s.dir)));
  results.forEach((r, i) => {
    const seen = report(t, r);
    t.same(seen.argv, cases[i], `jgo ${cases[i]?.[0] ?? ''}`);
    t.equal(seen.pid, r.pid, 'exec: jgo replaced the entrypoint, so its exit code and signals are its own');
    t.equal(seen.cwd, s.dir);
  });
});

t.test('no arguments: jgo --help', async (t) => {
  const s = sandbox(t);
  const seen = report(t, await entrypoint([], s.env, s.dir));
  t.same(seen.argv, ['--help']);
});

t.test('anything else runs as it is', async (t) => {
  const s = sandbox(t);
  const printed = await entrypoint(['printf', '%s|', 'a b', '', '"q"'], s.env, s.dir);
  t.equal(printed.code, 0);
  t.equal(printed.stdout, 'a b||"q"|');
  const asJgo = report(t, await entrypoint(['jgo', 'run', 'owner/repo x'], s.env, s.dir));
  t.same(asJgo.argv, ['run', 'owner/repo x'], '`jgo …` is a command like any other');
  const missing = await entrypoint(['no-such-command-jgo'], s.env, s.dir);
  t.equal(missing.code, 127);
});

t.test('the exit code and the signal of the command are kept', async (t) => {
  const s = sandbox(t);
  t.equal((await entrypoint(['run', 'x'], { ...s.env, FAKE_JGO_EXIT: '3' }, s.dir)).code, 3, "jgo's exit 3");
  t.equal((await entrypoint(['run', 'x'], { ...s.env, FAKE_JGO_EXIT: '4' }, s.dir)).code, 4, "jgo's exit 4");
  t.equal((await entrypoint(['sh', '-c', 'exit 7'], s.env, s.dir)).code, 7);
  const killed = await entrypoint(['sh', '-c', 'kill -TERM $$'], s.env, s.dir);
  t.equal(killed.signal, 'SIGTERM', 'the command was exec-ed: the signal ended the process the test started');
});

const shellcheck = spawnSync('shellcheck', ['--version'], { encoding: 'utf8' }).error === undefined;
t.test(
  'shellcheck finds nothing in the entrypoint',
  { skip: shellcheck ? false : 'shellcheck is not installed (apt-get install shellcheck)' },
  async (t) => {
    const r = spawnSync('shellcheck', ['-s', 'sh', ENTRYPOINT], { encoding: 'utf8' });
    t.equal(r.status, 0, r.stdout);
  },
);
