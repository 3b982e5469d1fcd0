/**
 * Which codex ran and with which model: `codex --version` asked of the fake (and of programs that
 * answer badly), and the model read from session records laid out as codex 0.171 writes them,
 * including the ones an agent could have planted. The real codex: test/codex-real.e2e.test.ts.
 */
import t from 'tap';
import { chmodSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { codexVersion, sessionModel } from '../../lib/codex/session.js';
import { FAKE_CODEX, PINNED_CODEX_VERSION } from '../helpers/fake-codex.js';
import { tempDir } from '../helpers/run.js';

const THREAD = '01a24e22-c780-7a53-831f-ba80b684b9a8';
const line = (type: string, at: string, payload: Record<string, unknown>) => `${JSON.stringify({ timestamp: at, type, payload })}\n`;

function record(home: string, day: string, thread: string, lines: string[]): string {
  const dir = join(home, 'sessions', ...day.split('-'));
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `rollout-${day}T10-00-00-${thread}.jsonl`);
  writeFileSync(file, lines.join(''));
  return file;
}

t.test('codex --version: the release, or nothing when the answer is not one', async (t) => {
  const dir = tempDir(t);
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: dir, CODEX_HOME: dir };
  t.equal(await codexVersion(FAKE_CODEX, env), PINNED_CODEX_VERSION);
  const script = (name: string, body: string) => {
    const path = join(dir, name);
    writeFileSync(path, `#!/bin/sh\n${body}\n`);
    chmodSync(path, 0o755);
    return path;
  };
  t.equal(await codexVersion(script('failing', 'echo "codex-cli 9.9.9"; exit 3'), env), undefined, 'a non-zero exit');
  t.equal(await codexVersion(script('chatty', 'echo "hello there"'), env), undefined, 'no version in it');
  t.equal(await codexVersion(script('warned', 'echo "WARNING: proceeding" >&2; echo "codex-cli 0.172.0-alpha.1"'), env), '0.172.0-alpha.1', 'stderr is not read');
  t.equal(await codexVersion(script('env', 'test -z "$SECRET_TOKEN" && echo "codex-cli 1.2.3"'), { ...env, SECRET_TOKEN: 'x' } as typeof env), '1.2.3', 'asked without the run environment');
});

t.test("the model of this run's last turn, from the thread's session record", async (t) => {
  const home = tempDir(t);
  const since = Date.parse('2026-12-07T10:00:00Z');
  t.equal(await sessionModel(home, THREAD, since), undefined, 'no sessions directory');
  t.equal(await sessionModel(home, undefined, since), undefined, 'no thread');
  record(home, '2026-12-01', THREAD, [
    line('session_meta', '2026-12-01T09:00:00.000Z', { id: THREAD, cli_version: '0.171.0' }),
    line('turn_context', '2026-12-01T09:00:01.000Z', { model: 'gpt-5.5' }),
    // A resumed thread appends to its record: the turns before this run are not this run's.
    line('turn_context', '2026-12-07T10:00:02.000Z', { model: 'gpt-6.2-sol' }),
    line('event_msg', '2026-12-07T10:00:03.000Z', { type: 'token_count', model: 'not a turn' }),
  ]);
  record(home, '2026-12-07', 'another-thread', [line('turn_context', '2026-12-07T10:00:05.000Z', { model: 'other' })]);
  t.equal(await sessionModel(home, THREAD, since), 'gpt-6.2-sol', 'found in an older day, the turn after since');
  t.equal(await sessionModel(home, THREAD, Date.parse('2026-12-08T00:00:00Z')), undefined, 'no turn of this run');
  t.equal(await sessionModel(home, '../../etc', since), undefined, 'a thread id that is not one');
});

t.test('a record planted by the agent: no links, no odd names, no broken lines', async (t) => {
  const home = tempDir(t);
  const since = 0;
  const elsewhere = join(tempDir(t), 'elsewhere.jsonl');
  writeFileSync(elsewhere, line('turn_context', '2026-12-07T10:00:00.000Z', { model: 'from-a-link' }));
  mkdirSync(join(home, 'sessions', '2026', '12', '07'), { recursive: true });
  symlinkSync(elsewhere, join(home, 'sessions', '2026', '12', '07', `rollout-2026-12-07T10-00-00-${THREAD}.jsonl`));
  t.equal(await sessionModel(home, THREAD, since), undefined, 'a link is not followed');

  const other = '01a24e22-0000-7000-8000-000000000000';
  record(home, '2026-12-06', other, [
    line('turn_context', '2026-12-07T10:00:00.000Z', { model: 'good-1' }),
    line('turn_context', '2026-12-07T10:00:01.000Z', { model: 'two words' }),
    line('turn_context', '2026-12-07T10:00:02.000Z', { model: 'line\nbreak' }),
    line('turn_context', '2026-12-07T10:00:03.000Z', { model: 'x'.repeat(201) }),
    line('turn_context', '2026-12-07T10:00:04.000Z', { model: 42 }),
    '{"type":"turn_context", not json\n',
  ]);
  t.equal(await sessionModel(home, other, since), 'good-1', 'only a name that looks like a model counts');
});

t.test('hasSession: a thread UUID whose record is under CODEX_HOME; never a thread name', async (t) => {
  const { hasSession } = await import('../../lib/codex/session.js');
  const { mkdtempSync, mkdirSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const home = mkdtempSync(join(tmpdir(), 'jgo-session-'));
  t.teardown(() => rmSync(home, { recursive: true, force: true }));
  const id = '0199a6b1-0000-7000-8000-0000000000cc';
  t.equal(await hasSession(home, id), false, 'no record yet');
  const day = join(home, 'sessions', '2026', '12', '07');
  mkdirSync(day, { recursive: true });
  writeFileSync(join(day, `rollout-2026-12-07T10-00-00-${id}.jsonl`), '');
  writeFileSync(join(day, 'rollout-2026-12-07T10-00-00-thread-2.jsonl'), '');
  t.equal(await hasSession(home, id), true);
  t.equal(await hasSession(home, 'thread-2'), false, 'resume would read a name as a name and start anew: never passed');
  t.equal(await hasSession(home, id.toUpperCase()), false);
  t.equal(await hasSession(home, '0199a6b1-0000-7000-8000-0000000000cd'), false, 'another thread');
});
