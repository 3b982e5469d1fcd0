/**
 * The run journal: $JGO_CACHE_DIR/runs/<run_id>/ holds `run.json` (the request, when it started
 * and ended, its status) and one file per stage, numbered in pipeline order, with that stage's
 * output envelope and its start and end times. Every write is atomic (a temporary file renamed
 * into place), so a reader (`jgo runs`, `jgo resume`, another pod) never sees half a file.
 */
import { mkdir, readdir, readFile, rename, writeFile, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import * as z from '../zod.js';
import { Envelope, STAGES } from '../envelope.js';

export type StageKey = (typeof STAGES)[number];

export const RunStatus = z.enum(['running', 'done', 'failed', 'dry_run']);
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
});
export type RunRecord = z.infer<typeof RunRecord>;

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
  await writeFile(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  await rename(tmp, path);
}

export class Journal {
  readonly dir: string;
  record: RunRecord;

  private constructor(dir: string, record: RunRecord) {
    this.dir = dir;
    this.record = record;
  }

  static async create(cache: string, runId: string, request: string, dryRun: boolean): Promise<Journal> {
    const dir = runDir(cache, runId);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const journal = new Journal(dir, {
      run_id: runId,
      request,
      started: new Date().toISOString(),
      status: 'running',
      host: hostname(),
      pid: process.pid,
      ...(dryRun ? { dry_run: true } : {}),
    });
    await journal.save();
    return journal;
  }

  static async open(cache: string, runId: string): Promise<Journal | undefined> {
    const dir = runDir(cache, runId);
    const text = await readFile(join(dir, 'run.json'), 'utf8').catch(() => undefined);
    if (text === undefined) return undefined;
    const parsed = RunRecord.safeParse(JSON.parse(text));
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
      const parsed = StageRecord.safeParse(JSON.parse(text));
      if (parsed.success) records.push(parsed.data);
    }
    return records;
  }

  /** Running, and its process is alive (on this host; elsewhere, trust the record). */
  inProgress(): boolean {
    if (this.record.status !== 'running') return false;
    if (this.record.host !== hostname()) return true;
    try {
      process.kill(this.record.pid, 0);
      return true;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code === 'EPERM';
    }
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
