/**
 * Which codex ran, and with which model, for the envelope and `jgo show`: codex's default model
 * changes between releases, so neither is assumed.
 *
 * - The version is what `codex --version` says. It is asked of the same CODEX_BIN that runs, so
 *   it holds for every kind of install (the npm package, a standalone binary, a wrapper script),
 *   where a package.json beside the binary would hold only for npm's. It runs once per process
 *   and binary, alongside the login check and the run, so it costs no time of its own.
 * - The model is in codex's session record, not in its `--json` events (0.171's thread.started
 *   carries only the thread id): `$CODEX_HOME/sessions/YYYY/MM/DD/rollout-<time>-<thread>.jsonl`
 *   gets a `turn_context` line naming the model at every turn, and a resumed thread appends to
 *   its file. The agent can write CODEX_HOME, so the file is read as untrusted: never through a
 *   link, only as much as a record can hold, and a name that does not look like one is dropped.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { spawnGroup } from './process.js';

const VERSION_TIMEOUT_MS = 15_000;
/** More than any session record holds; a larger file is not read (it is not codex's). */
const MAX_RECORD_BYTES = 256 * 1024 * 1024;
const MODEL_NAME = /^[^\s\p{Cc}]{1,200}$/u;

const versions = new Map<string, Promise<string | undefined>>();

/** `codex --version`: `codex-cli 0.171.0` -> `0.171.0`; undefined when it does not answer so. */
export function codexVersion(bin: string, env: { PATH?: string; HOME?: string; CODEX_HOME: string }): Promise<string | undefined> {
  let asked = versions.get(bin);
  if (asked === undefined) {
    asked = askVersion(bin, env);
    versions.set(bin, asked);
  }
  return asked;
}

async function askVersion(bin: string, env: { PATH?: string; HOME?: string; CODEX_HOME: string }): Promise<string | undefined> {
  // It needs none of the run's settings or secrets: PATH (for an npm wrapper's node), HOME, CODEX_HOME.
  const clean: Record<string, string> = { CODEX_HOME: env.CODEX_HOME };
  if (env.PATH !== undefined) clean.PATH = env.PATH;
  if (env.HOME !== undefined) clean.HOME = env.HOME;
  const group = spawnGroup(bin, ['--version'], { cwd: env.CODEX_HOME, env: clean });
  let out = '';
  group.child.stdout?.setEncoding('utf8').on('data', (d: string) => (out += d.slice(0, 4096)));
  group.child.stderr?.resume();
  group.child.stdin?.on('error', () => {});
  group.child.stdin?.end();
  const timer = new AbortController();
  try {
    const outcome = await Promise.race([group.done, sleep(VERSION_TIMEOUT_MS, undefined, { signal: timer.signal })]).catch(() => undefined);
    if (outcome === undefined || outcome.code !== 0) return undefined;
    return /^codex(?:-cli)? v?(\d+\.\d+\.\d+[\w.+-]*)\s*$/m.exec(out)?.[1];
  } finally {
    timer.abort();
    if (group.alive()) await group.stop();
    group.release();
  }
}

/** The record of a thread: the newest day first, where a run's own thread almost always is. */
async function sessionFile(home: string, threadId: string): Promise<string | undefined> {
  const suffix = `-${threadId}.jsonl`;
  const names = async (dir: string) => (await readdir(dir).catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).sort().reverse();
  const root = join(home, 'sessions');
  for (const year of await names(root)) {
    for (const month of await names(join(root, year))) {
      for (const day of await names(join(root, year, month))) {
        const dir = join(root, year, month, day);
        const found = (await readdir(dir).catch(() => [] as string[])).find((n) => n.startsWith('rollout-') && n.endsWith(suffix));
        if (found !== undefined) return join(dir, found);
      }
    }
  }
  return undefined;
}

/** A codex thread id. `exec resume` takes anything else as a thread's *name*, and an unknown name starts a new thread. */
const THREAD_UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Whether CODEX_HOME still holds codex's record of `threadId`, so that `codex exec resume` finds
 * it: only for a thread UUID, never a name.
 */
export async function hasSession(home: string, threadId: string): Promise<boolean> {
  if (!THREAD_UUID.test(threadId)) return false;
  return (await sessionFile(home, threadId)) !== undefined;
}

/**
 * The model of the last turn codex recorded for `threadId` at or after `since` (epoch ms): this
 * run's, also when the thread is an older one resumed. Undefined when there is no such record.
 */
export async function sessionModel(home: string, threadId: string | undefined, since: number): Promise<string | undefined> {
  if (threadId === undefined || !/^[\w-]{1,100}$/.test(threadId)) return undefined;
  const file = await sessionFile(home, threadId);
  if (file === undefined) return undefined;
  const stat = await lstat(file).catch(() => undefined);
  if (!stat?.isFile() || stat.size > MAX_RECORD_BYTES) return undefined;
  let model: string | undefined;
  // A link or a pipe put in the file's place after the lstat is neither followed nor waited on.
  const handle = await open(file, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK).catch(() => undefined);
  if (handle === undefined) return undefined;
  try {
    const input = handle.createReadStream({ encoding: 'utf8', end: MAX_RECORD_BYTES });
    for await (const line of createInterface({ input, crlfDelay: Infinity })) {
      if (!line.includes('"turn_context"')) continue;
      const entry = turnContext(line);
      if (entry !== undefined && entry.at >= since) model = entry.model;
    }
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => undefined);
  }
  return model;
}

function turnContext(line: string): { at: number; model: string } | undefined {
  try {
    const entry = JSON.parse(line) as { type?: unknown; timestamp?: unknown; payload?: { model?: unknown } };
    const model = entry.payload?.model;
    const at = typeof entry.timestamp === 'string' ? Date.parse(entry.timestamp) : NaN;
    if (entry.type !== 'turn_context' || typeof model !== 'string' || !MODEL_NAME.test(model) || Number.isNaN(at)) return undefined;
    return { at, model };
  } catch {
    return undefined;
  }
}
