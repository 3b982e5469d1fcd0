/** The fake codex is strict where the real 0.169 is, so a test that passes against it proves jgo's argv. */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { FAKE_CODEX } from './fake-codex.js';
import { tempDir } from './run.js';

t.test('refuses what codex 0.169 refuses, and hangs on a stdin left open', async (t) => {
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
