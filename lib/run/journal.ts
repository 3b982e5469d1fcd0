/**
 * The run journal: $JGO_CACHE_DIR/runs/<run_id>/ holds `run.json` (the request, when it started
 * and ended, its status) and one file per stage, numbered in pipeline order, with that stage's
 * output envelope and its start and end times. Every write is atomic (a temporary file renamed
 * into place), so a reader (`jgo runs`, `jgo resume`, another pod) never sees half a file.
 */
import { mkdir, readdir, readFile, rename, rm, writeFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as z from '../zod.js';
import { Continue, Envelope, RunId, STAGES } from '../envelope.js';
import { EXIT, JgoError } from '../errors.js';
import { tryLock, type Lock } from '../git/lock.js';
import { pidAlive } from '../proc.js';

export type StageKey = (typeof STAGES)[number];

/** `interrupted`: stopped by a signal (a server shutting down, a Ctrl-C), to be resumed. */
export const RunStatus = z.enum(['running', 'done', 'failed', 'dry_run', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatus>;

export const RunRecord = z.object({
  run_id: z.string(),
  request: z.string(),
  started: z.string(),
  ended: z.optional(z.string()),
  status: RunStatus,
  exit_code: z.optional(z.number().check(z.int())),
  host: z.string(),
  pid: z.number().check(z.int()),
  dry_run: z.optional(z.boolean()),
  /** The thread (conversation) the run belongs to: its first run's id; absent in older records. */
  thread: z.optional(RunId),
  /** The run a follow-up continues. */
  parent: z.optional(RunId),
  /** A follow-up's `continue`, as the gate was given it: `jgo resume` gives it again. */
  continue: z.optional(Continue),
});
export type RunRecord = z.infer<typeof RunRecord>;

/** The thread of a run: its own id for a first run (and for records older than threads). */
export function threadOf(record: RunRecord): string {
  return record.thread ?? record.run_id;
}

export const StageRecord = z.object({
  stage: z.enum(STAGES),
  command: z.array(z.string()),
  started: z.string(),
  ended: z.string(),
  duration_ms: z.number(),
  exit_code: z.number().check(z.int()),
  envelope: Envelope,
});
export type StageRecord = z.infer<typeof StageRecord>;

export function runsDir(cache: string): string {
  return join(cache, 'runs');
}

export function runDir(cache: string, runId: string): string {
  return join(runsDir(cache), runId);
}

export function stageFile(stage: StageKey): string {
  return `${STAGES.indexOf(stage) + 1}-${stage}.json`;
}

async function writeAtomic(path: string, value: unknown): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    await rename(tmp, path);
  } catch (error) {
    // A full disk leaves the file as it was, and no half-written temporary beside it.
    await rm(tmp, { force: true }).catch(() => {});
    throw error;
  }
}

/** The lock of a run: whoever holds it is the one process that runs the run's stages. */
function lockDir(dir: string): string {
  return join(dir, 'lock');
}

export class Journal {
  readonly dir: string;
  record: RunRecord;
  private lock: Lock | undefined;

  private constructor(dir: string, record: RunRecord) {
    this.dir = dir;
    this.record = record;
  }

  /**
   * A new run's journal, its lock held (release it with unlock()). Nothing is left of it when it
   * cannot be written (a full disk).
   */
  static async create(cache: string, runId: string, request: string, dryRun: boolean, follow?: Continue): Promise<Journal> {
    const dir = runDir(cache, runId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    try {
      const journal = await Journal.begin(dir, runId, request, dryRun, follow);
      return journal;
    } catch (error) {
      await rm(dir, { recursive: true, force: true }).catch(() => {});
      throw error;
    }
  }

  private static async begin(dir: string, runId: string, request: string, dryRun: boolean, follow: Continue | undefined): Promise<Journal> {
    const lock = await tryLock(lockDir(dir));
    if (!('release' in lock)) throw new JgoError('run_in_progress', `run ${runId} is already running (${lock.holder})`, EXIT.failed);
    const journal = new Journal(dir, {
      run_id: runId,
      request,
      started: new Date().toISOString(),
      status: 'running',
      host: hostname(),
      pid: process.pid,
      ...(dryRun ? { dry_run: true } : {}),
      thread: follow?.thread ?? runId,
      ...(follow?.parent !== undefined ? { parent: follow.parent } : {}),
      ...(follow !== undefined ? { continue: follow } : {}),
    });
    journal.lock = lock;
    await journal.save();
    return journal;
  }

  /**
   * Makes this process the run's one writer, or throws `run_in_progress` (exit 1) naming the one
   * that is; nothing is written either way. The record is read again once the lock is held: the
   * other process may have finished the run meanwhile.
   */
  async claim(): Promise<void> {
    const lock = await tryLock(lockDir(this.dir));
    const busy = (holder: string) => new JgoError('run_in_progress', `run ${this.record.run_id} is in progress in another process (${holder})`, EXIT.failed, {
      hint: 'Wait for it to end; jgo show tells how far it is.',
    });
    if (!('release' in lock)) throw busy(lock.holder);
    const text = await readFile(join(this.dir, 'run.json'), 'utf8').catch(() => undefined);
    const parsed = text === undefined ? undefined : RunRecord.safeParse(parseJson(text));
    if (parsed?.success) this.record = parsed.data;
    this.lock = lock;
    // A run started by a jgo that took no lock: its record says whether it still runs.
    if (this.inProgress()) {
      await this.unlock();
      throw busy(`pid ${this.record.pid} on ${this.record.host}`);
    }
  }

  /** Lets another process take the run. */
  async unlock(): Promise<void> {
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
  }

  static async open(cache: string, runId: string): Promise<Journal | undefined> {
    const dir = runDir(cache, runId);
    const text = await readFile(join(dir, 'run.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = RunRecord.safeParse(parseJson(text));
    return parsed.success ? new Journal(dir, parsed.data) : undefined;
  }

  async save(): Promise<void> {
    await writeAtomic(join(this.dir, 'run.json'), this.record);
  }

  async saveStage(record: StageRecord): Promise<void> {
    await writeAtomic(join(this.dir, stageFile(record.stage)), record);
  }

  async stages(): Promise<StageRecord[]> {
    const records: StageRecord[] = [];
    for (const stage of STAGES) {
      const text = await readFile(join(this.dir, stageFile(stage)), 'utf8').catch(() => undefined);
      if (text === undefined) continue;
      const parsed = StageRecord.safeParse(parseJson(text));
      if (parsed.success) records.push(parsed.data);
    }
    return records;
  }

  /** Running, and its process is alive (on this host; elsewhere, trust the record). */
  inProgress(): boolean {
    if (this.record.status !== 'running') return false;
    if (this.record.host !== hostname()) return true;
    return pidAlive(this.record.pid);
  }
}

/** A journal file's JSON, or undefined when it is not JSON (cut short by hand, say). */
function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** Run ids in the journal, newest first (ids start with their UTC time). */
export async function listRunIds(cache: string): Promise<string[]> {
  const entries = await readdir(runsDir(cache), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort()
    .reverse();
}

export async function mtimeMs(path: string): Promise<number | undefined> {
  return stat(path).then(
    (s) => s.mtimeMs,
    () => undefined,
  );
}
