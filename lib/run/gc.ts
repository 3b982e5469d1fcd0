/**
 * `jgo gc`: removes the working copies (kept ones too) and journals of finished runs older than a
 * number of days.
 * Its cost follows what it removes, not how many runs there are: a run id starts with the UTC
 * time the run began, so a run begun after the cut-off is passed over by its name, without its
 * journal being opened. Trees are removed by the system's `rm -rf` (many files are the common
 * case: a working copy), and what was freed is the file system's free space before and after,
 * an estimate, rather than a walk of every file to size it first.
 */
import { readdir, readFile, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import { runStamp } from '../envelope.js';
import { exists, removeTrees } from '../fsutil.js';
import { setAside } from '../cache.js';
import { Journal, listRunIds, runDir } from './journal.js';

export interface GcResult {
  /** The runs whose working copy or journal was removed, oldest first. */
  removed: string[];
  /** About how many bytes that freed: the file system's free space, before and after. */
  bytes: number;
}

/** When a run id says its run began (UTC), in ms; undefined for a name that is no run id. */
export function stampMs(id: string): number | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})-(\d{2})(\d{2})(\d{2})$/.exec(runStamp(id) ?? '');
  return m ? Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]), Number(m[4]), Number(m[5]), Number(m[6])) : undefined;
}

/** Whether the run `id` is finished, and ended (or, without a journal, was last touched) before `cutoff`. */
async function expired(cache: string, id: string, cutoff: number): Promise<boolean> {
  const begun = stampMs(id);
  // Begun after the cut-off: it cannot have ended before it. Its journal is not opened.
  if (begun !== undefined && begun > cutoff) return false;
  const journal = await Journal.open(cache, id);
  if (journal?.inProgress()) return false;
  const when = journal ? Date.parse(journal.record.ended ?? journal.record.started) : ((await stat(join(cache, 'work', id)).catch(() => undefined))?.mtimeMs ?? Date.now());
  return when <= cutoff;
}

/** Free bytes on the file system holding `path`, or undefined where statfs says nothing. */
async function free(path: string): Promise<number | undefined> {
  const s = await statfs(path).catch(() => undefined);
  return s ? s.bavail * s.bsize : undefined;
}

/** Branch-name claims whose run is gone, left since before the cut-off. */
async function staleClaims(workDir: string, cutoff: number): Promise<string[]> {
  const claims = join(workDir, '.branches');
  const stale: string[] = [];
  for (const claim of await readdir(claims).catch(() => [] as string[])) {
    const info = await stat(join(claims, claim)).catch(() => undefined);
    const holder = (await readFile(join(claims, claim, 'run_id'), 'utf8').catch(() => '')).trim();
    const alive = holder !== '' && (await exists(join(workDir, holder)));
    if (!alive && info && info.mtimeMs <= cutoff) stale.push(join(claims, claim));
  }
  return stale;
}

/** Every copy in the pools, `pool/<repository>/<run id>`. */
async function keptCopies(cache: string): Promise<Array<{ runId: string; path: string }>> {
  const pools = join(cache, 'pool');
  const copies: Array<{ runId: string; path: string }> = [];
  for (const repo of await readdir(pools).catch(() => [] as string[])) {
    for (const runId of await readdir(join(pools, repo)).catch(() => [] as string[])) copies.push({ runId, path: join(pools, repo, runId) });
  }
  return copies;
}

export async function collectGarbage(cache: string, days: number, now = Date.now()): Promise<GcResult> {
  // --days 0: every finished run, whenever it ended.
  const cutoff = days === 0 ? Number.POSITIVE_INFINITY : now - days * 24 * 3600 * 1000;
  const workDir = join(cache, 'work');
  const entries = await readdir(workDir).catch(() => [] as string[]);
  const ids = [...new Set([...(await listRunIds(cache)), ...entries.filter((e) => !e.startsWith('.'))])].sort();
  const removed = new Set<string>();
  const paths: string[] = [];
  for (const id of ids) {
    if (!(await expired(cache, id, cutoff))) continue;
    removed.add(id);
    paths.push(join(workDir, id), runDir(cache, id));
  }
  // Working copies jgo-ship set aside to remove after its answer, left by a ship stopped first.
  for (const entry of entries) {
    const runId = setAside(entry)?.runId;
    if (runId === undefined) continue;
    removed.add(runId);
    paths.push(join(workDir, entry));
  }
  // Working copies kept for reuse, by the time their run began: a pool unused that long is not needed.
  for (const copy of await keptCopies(cache)) {
    const begun = stampMs(copy.runId);
    if (begun === undefined || begun > cutoff) continue;
    removed.add(copy.runId);
    paths.push(copy.path);
  }
  const claims = await staleClaims(workDir, cutoff);
  if (paths.length === 0) {
    await removeTrees(claims);
    return { removed: [], bytes: 0 };
  }
  const before = await free(cache);
  await removeTrees([...paths, ...claims]);
  const after = await free(cache);
  // Other writers on the file system move the figure too: it is an estimate, never below 0.
  const bytes = before !== undefined && after !== undefined ? Math.max(0, after - before) : 0;
  return { removed: [...removed].sort(), bytes };
}
