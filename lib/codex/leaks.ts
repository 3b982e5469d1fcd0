/**
 * What a codex run leaves on the cache, and how a caught secret is taken off it again: a secret
 * the agent wrote stays on the persistent cache otherwise, and every later run that touches the
 * same file (codex's sqlite state, its history) would fail on it too.
 *
 * - In CODEX_HOME, each file holding a secret is removed, with its sqlite companions (-wal, -shm,
 *   -journal): session files, logs and state databases are codex's own records, which it makes
 *   anew. The login stays: auth.json is never scanned nor removed, and config.toml, if the agent
 *   put a secret in it, is put back as it was before the run.
 * - A run's working copy ($JGO_CACHE_DIR/work/<run_id>/repo) is removed whole: git keeps what the
 *   agent staged or committed compressed, where no byte scan sees it, and the run is failed anyway.
 * - Anything else (the current directory of the ad-hoc chain) is not the cache's: it is named and
 *   left to its owner.
 */
import { lstatSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';

/** `$JGO_CACHE_DIR/work/<run_id>` when `workspace` is that run's working copy, else undefined. */
export function runDirOf(cache: string, workspace: string): string | undefined {
  const run = dirname(workspace);
  if (basename(workspace) !== 'repo' || dirname(run) !== join(cache, 'work') || basename(run).startsWith('.')) return undefined;
  return run;
}

/**
 * A fresh directory for a run's temp files (codex's last-message file, output schemas): under
 * `$JGO_CACHE_DIR/work/<run_id>/tmp` beside the working copy (outside its git tree, and removed
 * with the run's directory), or `$JGO_CACHE_DIR/tmp` for a run without one. Its creator removes it.
 */
export async function makeRunTemp(cache: string, workspace: string, prefix: string): Promise<string> {
  const run = runDirOf(cache, workspace);
  const root = run !== undefined ? join(run, 'tmp') : join(cache, 'tmp');
  await mkdir(root, { recursive: true, mode: 0o700 });
  return mkdtemp(join(root, prefix));
}

/** A file codex's login depends on, read before the run so it can be put back. */
export interface KeptFile {
  path: string;
  content: Buffer | undefined;
}

export async function keepFile(path: string): Promise<KeptFile> {
  return { path, content: await readFile(path).catch(() => undefined) };
}

export interface LeakCleanup {
  /** Files removed from CODEX_HOME (companions included). */
  removed: string[];
  /** Files put back as they were before the run. */
  restored: string[];
  /** The working copy, when it was removed. */
  workingCopy: string | undefined;
  /** Files holding a secret that jgo does not own (outside the cache): left where they are. */
  notOurs: string[];
}

const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'];

/** A database and its companions, from any one of them. */
function withCompanions(path: string): string[] {
  const suffix = SQLITE_COMPANIONS.find((s) => path.endsWith(s));
  const base = suffix ? path.slice(0, -suffix.length) : path;
  return [base, ...SQLITE_COMPANIONS.map((s) => base + s)];
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..';
}

/**
 * Takes the files that hold a secret off the cache. `workspace` is where codex worked;
 * `cache` tells whether that is a run's working copy (removed) or not jgo's (left).
 */
export async function removeLeaks(files: readonly string[], where: { home: string; workspace: string; cache: string; kept: readonly KeptFile[] }): Promise<LeakCleanup> {
  const result: LeakCleanup = { removed: [], restored: [], workingCopy: undefined, notOurs: [] };
  const run = runDirOf(where.cache, where.workspace);
  for (const file of files) {
    const kept = where.kept.find((k) => k.path === file);
    if (kept) {
      if (kept.content !== undefined) await writeFile(file, kept.content);
      else await rm(file, { force: true });
      result.restored.push(file);
    } else if (inside(where.home, file)) {
      for (const path of withCompanions(file)) {
        if (lstatSync(path, { throwIfNoEntry: false }) === undefined) continue;
        await rm(path, { force: true });
        result.removed.push(path);
      }
    } else if (run !== undefined && inside(where.workspace, file)) {
      result.workingCopy = where.workspace;
    } else result.notOurs.push(file);
  }
  // Never through a symlink: a link in the working copy's place is unlinked, not followed.
  if (result.workingCopy !== undefined && lstatSync(result.workingCopy, { throwIfNoEntry: false })?.isDirectory()) {
    // Retried: git may still be finishing a status in it (jgo-codex's second snapshot).
    await rm(result.workingCopy, { recursive: true, force: true, maxRetries: 5 });
  } else if (result.workingCopy !== undefined) await rm(result.workingCopy, { force: true });
  return result;
}

/** The sentence that says what became of the files, for the error's message. */
export function cleanupSummary(cleanup: LeakCleanup, left: readonly string[]): string {
  const parts: string[] = [];
  const n = cleanup.removed.length;
  if (n > 0) parts.push(`removed ${n} file${n === 1 ? '' : 's'} of codex's from CODEX_HOME`);
  if (cleanup.restored.length > 0) parts.push(`put back ${cleanup.restored.map((p) => basename(p)).join(', ')} as it was`);
  if (cleanup.workingCopy !== undefined) parts.push('removed the working copy');
  if (cleanup.notOurs.length > 0) parts.push(`left ${cleanup.notOurs.length} file${cleanup.notOurs.length === 1 ? '' : 's'} outside the cache to you`);
  if (left.length > 0) parts.push(`could not remove ${left.slice(0, 5).join(', ')}`);
  return parts.join('; ');
}
