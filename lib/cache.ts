/**
 * The cache directory and every path under it. A stage derives each path it reads, writes, runs
 * the agent in or deletes from the cache, `repo.url` and `run_id`; a path in an envelope is only
 * ever compared with the derived one (docs/security.md).
 */
import { lstatSync, realpathSync } from 'node:fs';
import { readdir, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { resolveCacheDir, type Settings } from './config.js';
import { UsageError } from './errors.js';
import { removeTrees } from './fsutil.js';
import { pidAlive } from './proc.js';

const resolved = new WeakMap<Settings, string>();

/**
 * A run directory under work/ that jgo-ship has set aside, to delete once its envelope is out:
 * `.removing-<run_id>-<pid>`. One that is left (its ship was stopped first) is jgo gc's.
 */
export function setAsideName(runId: string): string {
  return `.removing-${runId}-${process.pid}`;
}

/** The run id and process of a set-aside directory's name; undefined for any other entry of work/. */
export function setAside(entry: string): { runId: string; pid: number } | undefined {
  const m = /^\.removing-(.+)-(\d+)$/.exec(entry);
  return m?.[1] !== undefined ? { runId: m[1], pid: Number(m[2]) } : undefined;
}

/** The cache directory of these settings, found once; a fallback is said once through `log`. */
export function cacheDir(context: { settings: Settings; log: (line: string) => void }): string {
  let path = resolved.get(context.settings);
  if (path === undefined) {
    const result = resolveCacheDir(context.settings);
    if (result.fellBack) context.log(result.fellBack);
    path = result.path;
    resolved.set(context.settings, path);
  }
  return path;
}

/** `acme-widgets-1a2b3c4d.git`: readable, and distinct per (normalized) URL. */
export function mirrorName(url: string): string {
  const parts = new URL(url).pathname.replace(/\.git$/, '').split('/').filter(Boolean);
  const slug = parts.slice(-2).join('-').toLowerCase().replace(/[^a-z0-9._-]+/g, '-').replace(/^[.-]+/, '') || 'repo';
  // node:crypto is loaded when first needed: a stage that never names a mirror does without it.
  const hash = process.getBuiltinModule('node:crypto').createHash('sha256').update(url).digest('hex').slice(0, 8);
  return `${slug}-${hash}.git`;
}

export function mirrorPath(cache: string, url: string): string {
  return join(cache, 'repos', mirrorName(url));
}

/**
 * `$JGO_CACHE_DIR/pool/<mirror name>`: the finished working copies of one repository, kept for
 * its next runs, each named by the run that gave it.
 */
export function poolPath(cache: string, url: string): string {
  return join(cache, 'pool', mirrorName(url).replace(/\.git$/, ''));
}

/** `$JGO_CACHE_DIR/work/<run_id>`: everything of one run, and all that its cleanup may remove. */
export function runDir(cache: string, runId: string): string {
  return join(cache, 'work', runId);
}

/** `$JGO_CACHE_DIR/work/<run_id>/repo`: the run's working copy. */
export function worktreePath(cache: string, runId: string): string {
  return join(runDir(cache, runId), 'repo');
}

function realOrUndefined(path: string): string | undefined {
  try {
    return realpathSync(path);
  } catch {
    return undefined;
  }
}

/**
 * Refuses (exit 2, `bad_path`) an envelope path that is not the one derived for it, compared
 * after resolving symlinks. The derived path must itself resolve to where the cache says: a
 * symlink planted anywhere under the cache cannot lead a stage outside it.
 */
export function checkDerivedPath(field: string, given: string, derived: string, cache: string): string {
  const expected = join(realOrUndefined(cache) ?? cache, derived.slice(cache.length));
  const real = realOrUndefined(derived);
  if (given === derived && real === undefined) return derived; // not made yet: nothing to follow
  if (real !== expected || realOrUndefined(given) !== expected) {
    throw new UsageError('bad_path', `${field} ${JSON.stringify(given.slice(0, 200))} is not ${derived}`, {
      hint: `Paths come from JGO_CACHE_DIR, repo.url and run_id, never from the envelope: leave ${field} as the stage before wrote it.`,
    });
  }
  return derived;
}

/**
 * Removes `path`, a tree under `$JGO_CACHE_DIR/work`: set aside at once as
 * `work/.removing-<run_id>-<pid>` and deleted once the envelope is out, so the answer does not
 * wait for the unlinks (and the stage's process still does them before it exits). One left by a
 * process that was killed is finished by the next run's ship (finishRemovals) or jgo gc.
 */
export async function removeAside(cache: string, path: string, runId: string, context: { afterAnswer?: ((task: () => Promise<unknown>) => void) | undefined }): Promise<void> {
  if (context.afterAnswer) {
    const aside = join(cache, 'work', setAsideName(runId));
    try {
      await rename(path, aside);
      context.afterAnswer(() => removeTrees([aside]));
      return;
    } catch {
      // removed below
    }
  }
  await removeTrees([path]);
}

/**
 * Removes `$JGO_CACHE_DIR/work/<run_id>` and nothing else: never a parent, never through a
 * symlink (a symlink in its place is unlinked, not followed; `rm -rf` does not follow symlinks
 * inside the tree).
 */
export async function removeRunDir(cache: string, runId: string, context: { afterAnswer?: ((task: () => Promise<unknown>) => void) | undefined }): Promise<void> {
  const dir = runDir(cache, runId);
  const stat = lstatSync(dir, { throwIfNoEntry: false });
  if (stat === undefined) return;
  if (!stat.isDirectory()) await rm(dir, { force: true });
  else await removeAside(cache, dir, runId, context);
}

/** Removes what removeAside set aside in processes that are gone (killed before they finished). */
export async function finishRemovals(cache: string): Promise<void> {
  const work = join(cache, 'work');
  const left = (await readdir(work).catch(() => [] as string[])).filter((entry) => {
    const pid = setAside(entry)?.pid;
    return pid !== undefined && pid !== process.pid && !pidAlive(pid);
  });
  await removeTrees(left.map((entry) => join(work, entry)));
}
