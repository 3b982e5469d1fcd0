/** The fake codex is strict where the real 0.171 is, so a test that passes against it proves jgo's argv. */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { FAKE_CODEX, PINNED_CODEX_VERSION as PINNED } from './fake-codex.js';
import { tempDir } from './run.js';

t.test('refuses what codex 0.171 refuses, and hangs on a stdin left open', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'codex-home');
  mkdirSync(home);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, CODEX_HOME: home };
  const fake = (args: string[], input = 'prompt', extra: Record<string, string> = {}) =>
    spawnSync(FAKE_CODEX, args, { cwd: dir, env: { ...env, ...extra }, input, encoding: 'utf8', timeout: 5000 });
  const base = ['exec', '--json', '--skip-git-repo-check'];

  t.equal(fake(base).status, 0, 'the minimal valid call runs');
  t.match(fake([...base, '--bogus']).stderr, /unexpected argument '--bogus'/);
  t.match(fake([...base, '--disable', 'shell_snapshots']).stderr, /Unknown feature flag: shell_snapshots/);
  t.match(fake([...base, '-c', 'approval_policy=never']).stderr, /not TOML/, 'string values need TOML quotes');
  t.match(fake([...base, '-c', 'model_providers.jgo.wire_api="chat"']).stderr, /not a valid value/);
  t.match(fake([...base, '-c', 'sandbox_workspace_write.network=true']).stderr, /not a configuration key/);
  t.match(fake([...base, '-s', 'yolo']).stderr, /invalid value 'yolo'/);
  t.match(fake(['exec', '--json']).stderr, /Not inside a trusted directory/);
  t.match(fake(base, '', { CODEX_HOME: join(dir, 'missing') }).stderr, /CODEX_HOME points to .* does not exist/);
  t.match(fake(base, '').stderr, /No prompt provided via stdin/);
  const keyless = fake([...base, '-c', 'model_provider="jgo"', '-c', 'model_providers.jgo.base_url="http://127.0.0.1:9/v1"', '-c', 'model_providers.jgo.env_key="JGO_CODEX_API_KEY"']);
  t.equal(keyless.status, 1);
  t.match(keyless.stdout, /Missing environment variable: `JGO_CODEX_API_KEY`/);
  t.match(fake(['login', 'status']).stderr, /Not logged in/);
  t.match(fake([...base, '--json']).stderr, /'--json' cannot be used multiple times/);
  t.match(fake([...base, '--ephemeral=true']).stderr, /unexpected value 'true' for '--ephemeral'/);

  // 0.171's remote app server flags: accepted, checked as the real one checks them (the words are
  // the real one's), then the connection fails: there is no app server.
  const remote = (args: string[], extra: Record<string, string> = {}) => fake([...base, ...args], 'prompt', extra);
  t.match(remote(['--remote']).stderr, /a value is required for '--remote'/);
  t.match(remote(['--remote', 'http://127.0.0.1:9']).stderr, /invalid remote address `http:\/\/127\.0\.0\.1:9`; expected `ws:\/\/host:port`/);
  t.match(remote(['--remote', 'ws://127.0.0.1']).stderr, /invalid remote address/, 'a port is required');
  t.match(remote(['--remote', 'ws://127.0.0.1:9', '--remote', 'ws://127.0.0.1:8']).stderr, /'--remote' cannot be used multiple times/);
  t.match(remote(['--remote-auth-token-env', 'TOK']).stderr, /`--remote-auth-token-env` requires `--remote`/);
  t.match(remote(['--remote', 'ws://10.0.0.1:9', '--remote-auth-token-env', 'TOK'], { TOK: 'x' }).stderr, /requires a `wss:\/\/` or loopback `ws:\/\/` remote/);
  t.match(remote(['--remote', 'ws://127.0.0.1:9', '--remote-auth-token-env', 'TOK']).stderr, /environment variable `TOK` is not set/);
  t.match(remote(['--remote', 'ws://127.0.0.1:9', '--remote-auth-token-env', 'TOK'], { TOK: '' }).stderr, /environment variable `TOK` is empty/);
  const connect = remote(['--remote', 'WSS://example.com:443', '--remote-auth-token-env', 'TOK'], { TOK: 'x' });
  t.match(connect, { status: 1, stderr: /failed to connect to remote app server at `wss:\/\/example\.com:443\/`/ });
  t.match(remote(['--remote', 'unix://']).stderr, /failed to connect to remote app server/);

  // exec resume: resume's own flags (no --sandbox), a session that must exist, then its thread goes on.
  const thread = '0199a6b1-0000-7000-8000-0000000000aa';
  const resume = ['exec', 'resume', '--json', '--skip-git-repo-check'];
  t.match(fake([...resume, '-s', 'read-only', thread, '-']).stderr, /unexpected argument '-s' found/);
  t.match(fake([...resume, '--cd', dir, thread, '-']).stderr, /unexpected argument '--cd' found/);
  t.match(fake([...resume, thread, '-']), { status: 1, stderr: /no rollout found for thread id 0199a6b1-0000-7000-8000-0000000000aa/ });
  const day = join(home, 'sessions', '2026', '12', '07');
  mkdirSync(day, { recursive: true });
  writeFileSync(join(day, `rollout-2026-12-07T10-00-00-${thread}.jsonl`), '');
  t.equal(fake([...resume, '-c', 'sandbox_mode="read-only"', thread, '-']).status, 0, 'a recorded thread resumes');
  t.match(fake([...resume, thread, '-', 'more']).stderr, /unexpected argument 'more'/);

  // codex sandbox: 0.171's --transparent-tcp is a switch that needs a managed network proxy.
  t.equal(fake(['sandbox', '--', 'true']).status, 0);
  t.match(fake(['sandbox', '--transparent-tcp', '--', 'true']), { status: 1, stderr: /--transparent-tcp requires a managed network proxy/ });
  t.match(fake(['sandbox', '--transparent-tcp=true', '--', 'true']), { status: 2, stderr: /unexpected value 'true' for '--transparent-tcp'/ });
  t.match(fake(['sandbox', '--transparent-tcp', '--transparent-tcp', '--', 'true']).stderr, /cannot be used multiple times/);
  t.match(fake(['sandbox', '--transparent-tcp']), { status: 1, stderr: /sandbox command must not be empty/ });
  t.match(fake(['sandbox', '--bogus', '--', 'true']).stderr, /unexpected argument '--bogus'/);

  // stdin left open: the fake waits, as codex does; closing it lets the run go on.
  const child = spawn(FAKE_CODEX, base, { cwd: dir, env, stdio: ['pipe', 'ignore', 'ignore'] });
  t.teardown(() => child.kill('SIGKILL'));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  child.stdin.write('a prompt, and no end');
  const early = await Promise.race([exited, sleep(700, 'waiting' as const)]);
  t.equal(early, 'waiting', 'still reading stdin while it is open');
  child.stdin.end();
  t.equal(await exited, 0, 'runs once stdin is closed');
});

t.test('claims the pinned version, and keeps a session record naming the model, as 0.171 does', async (t) => {
  const dir = tempDir(t);
  const home = join(dir, 'codex-home');
  mkdirSync(home);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, CODEX_HOME: home };
  t.equal(spawnSync(FAKE_CODEX, ['--version'], { env, encoding: 'utf8' }).stdout.trim(), `codex-cli ${PINNED}`, 'the version package-lock.json pins');

  const thread = '01a24e22-c780-7a53-831f-ba80b684b9a8';
  const script = join(dir, 'script.json');
  writeFileSync(script, JSON.stringify({ steps: [{ event: { type: 'thread.started', thread_id: thread } }, { event: { type: 'turn.started' } }] }));
  const exec = (args: string[]) =>
    spawnSync(FAKE_CODEX, ['exec', '--json', '--skip-git-repo-check', ...args], { cwd: dir, env: { ...env, CODEX_FAKE_SCRIPT: script }, input: 'p', encoding: 'utf8' });
  t.equal(exec(['--ephemeral']).status, 0);
  const sessions = join(home, 'sessions');
  const logs = () => (existsSync(sessions) ? readdirSync(sessions, { recursive: true }).map(String).filter((f) => f.endsWith('.jsonl')) : []);
  t.same(logs(), [], '--ephemeral keeps no session');
  t.equal(exec(['-m', 'gpt-5.5']).status, 0);
  const [file] = logs();
  t.match(file, new RegExp(`^\\d{4}/\\d{2}/\\d{2}/rollout-[\\dT-]+-${thread}\\.jsonl$`));
  const lines = readFileSync(join(sessions, file ?? ''), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as unknown);
  t.match(lines, [{ type: 'session_meta', payload: { id: thread, cli_version: PINNED } }, { type: 'turn_context', payload: { model: 'gpt-5.5' } }]);
});
