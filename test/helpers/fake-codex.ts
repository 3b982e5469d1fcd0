/**
 * Driving test/helpers/fake-codex.mjs: its path, a script written to a file, what it recorded,
 * and builders for the events the real codex 0.171 prints (shapes as the real codex printed them).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

export const FAKE_CODEX = resolve(import.meta.dirname, 'fake-codex.mjs');

/** The codex release package-lock.json pins: the one the real-codex tests drive and the fake stands in for. */
export const PINNED_CODEX_VERSION: string =
  (JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> })
    .packages['node_modules/@openai/codex']?.version ?? 'none in package-lock.json';

/** The model the fake (like the real 0.171 with a custom provider) uses when jgo names none. */
export const FAKE_DEFAULT_MODEL = 'gpt-6.2-sol';

export type FakeStep =
  | { event: Record<string, unknown> }
  | { write: string; content?: string }
  | { sleep: number }
  | { stderr: string }
  | { hang: true; ignoreTerm?: boolean }
  | { exit: number }
  | { run: string[] };

export interface FakeScript {
  login?: 'ok' | 'none';
  /** `codex sandbox`: runs the command (ok, the default), or fails as where namespaces are denied. */
  sandbox?: 'ok' | 'broken';
  /** Flags left out of `codex exec --help`, as an older codex would. */
  helpWithout?: string[];
  steps?: FakeStep[];
  exit?: number;
  /** One script per exec invocation, in order (the edit run, then ship's planning run). */
  runs?: FakeScript[];
}

export interface FakeRecord {
  kind?: 'exec' | 'login' | 'sandbox';
  argv?: string[];
  env?: Record<string, string>;
  cwd?: string;
  stdin?: string;
  pid: number;
  pgid?: number;
  grandchild?: number;
  /** The thread an `exec resume` resumed. */
  resumed?: string;
}

export interface Fake {
  /** CODEX_BIN, CODEX_FAKE_SCRIPT and CODEX_FAKE_RECORD for the environment of jgo-codex. */
  env: Record<string, string>;
  records: () => FakeRecord[];
  exec: () => FakeRecord | undefined;
}

/** Writes the script into `dir` and returns the settings that make jgo run the fake. */
export function fakeCodex(dir: string, script: FakeScript): Fake {
  const scriptFile = join(dir, 'fake-script.json');
  const recordFile = join(dir, 'fake-record.jsonl');
  writeFileSync(scriptFile, JSON.stringify(script));
  const records = () =>
    existsSync(recordFile)
      ? readFileSync(recordFile, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as FakeRecord)
      : [];
  return {
    env: { CODEX_BIN: FAKE_CODEX, CODEX_FAKE_SCRIPT: scriptFile, CODEX_FAKE_RECORD: recordFile },
    records,
    exec: () => records().find((r) => r.kind === 'exec'),
  };
}

/** Is this process gone (or a zombie nobody has reaped yet)? */
export function gone(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return true;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z');
  } catch {
    return true;
  }
}

export const THREAD_ID = '01a20a82-b8d4-7441-bc3d-5e4fdd50ae6b';

export const ev = {
  threadStarted: (id = THREAD_ID) => ({ event: { type: 'thread.started', thread_id: id } }),
  turnStarted: () => ({ event: { type: 'turn.started' } }),
  command: (id: string, cmd: string, exit: number, output = '') => [
    { event: { type: 'item.started', item: { id, type: 'command_execution', command: `/bin/bash -lc '${cmd}'`, aggregated_output: '', exit_code: null, status: 'in_progress' } } },
    {
      event: {
        type: 'item.completed',
        item: { id, type: 'command_execution', command: `/bin/bash -lc '${cmd}'`, aggregated_output: output, exit_code: exit, status: exit === 0 ? 'completed' : 'failed' },
      },
    },
  ],
  fileChange: (id: string, changes: Array<{ path: string; kind: 'add' | 'update' | 'delete' }>) => ({
    event: { type: 'item.completed', item: { id, type: 'file_change', changes, status: 'completed' } },
  }),
  message: (id: string, text: string) => ({ event: { type: 'item.completed', item: { id, type: 'agent_message', text } } }),
  reasoning: (id: string, text: string) => ({ event: { type: 'item.completed', item: { id, type: 'reasoning', text } } }),
  notice: (message: string) => ({ event: { type: 'error', message } }),
  turnCompleted: (input = 300, output = 60) => ({
    event: { type: 'turn.completed', usage: { input_tokens: input, cached_input_tokens: 0, cache_write_input_tokens: 0, output_tokens: output, reasoning_output_tokens: 0 } },
  }),
  turnFailed: (message: string) => ({ event: { type: 'turn.failed', error: { message } } }),
};
