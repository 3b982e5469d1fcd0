/**
 * The repository mirror: a bare repository per remote URL under $JGO_CACHE_DIR/repos, holding
 * the remote's branches and tags, kept current under a per-mirror lock. A sync is a straight
 * sequence: read the remote's refs and look at the mirror (at once), fetch or build only when
 * they differ or the mirror is not whole, check the default branch's commit, say what happened.
 */
import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { JgoError, EXIT } from '../errors.js';
import { formatBytes } from '../format.js';
import { trace } from '../trace.js';
import { mirrorName, mirrorPath } from '../cache.js';
import type { GitContext } from './context.js';
import { remoteState, type RemoteState } from './remote.js';
import { readLocalRefs, sameRefs, type RefMap, type RefStats } from './refs.js';
import { withLock } from './lock.js';
import { build, fetchInto, setHead } from './mirror-fetch.js';
import { exists, hasCommit, looksUsable, mirrorLockPath, packBytes, packLooseObjects, packLooseRefs, removeAbandoned, removeStaleGitLocks } from './mirror-store.js';

export interface MirrorResult {
  path: string;
  defaultBranch: string;
  headSha: string;
  /** A mirror existed but could not be opened or verified, and was built anew. */
  rebuilt: boolean;
  /** Whether anything was fetched (false on the warm no-change path). */
  fetched: boolean;
}

// Where a mirror lives is the cache's to say (lib/cache.ts): every stage derives it the same way.
export { mirrorName, mirrorPath } from '../cache.js';

/** What the mirror on disk was found to be before the sync did anything. */
interface LocalSide {
  existed: boolean;
  /** Its refs; undefined when it is missing or not whole. */
  refs: RefMap | undefined;
  /** Bytes of packs, to tell how much a fetch brought. */
  before: number;
  /** Loose ref files among its refs. */
  loose: number;
}

/** Where the mirror stands after the fetch or build. */
interface Outcome {
  refs: RefMap;
  loose: number;
  rebuilt: boolean;
  fetched: boolean;
}

/** Fetch failures that a new build would meet again: they end the sync instead. */
const FINAL = ['auth_failed', 'repo_not_found', 'network_error', 'interrupted'];

export async function syncMirror(url: string, cacheDir: string, ctx: GitContext): Promise<MirrorResult> {
  const path = mirrorPath(cacheDir, url);
  const reposDir = join(cacheDir, 'repos');
  // A stat, not a mkdir: on the warm path the directory is there.
  if (!existsSync(reposDir)) await mkdir(reposDir, { recursive: true });
  const started = Date.now();
  const onWait = (holder: string) => ctx.log(`waiting for another sync of this repository (${holder})`);
  return withLock(mirrorLockPath(path), { signal: ctx.signal, onWait }, async () => {
    trace('mirror locked');
    const { remote, local } = await lookAtBothSides(url, path, reposDir, ctx);
    const defaultBranch = defaultBranchOf(url, remote);
    const outcome = await bringCurrent(path, url, defaultBranch, remote, local, ctx);
    await setHead(path, defaultBranch);
    await packLooseRefs(path, outcome.loose, ctx);
    const headSha = await checkedHead(path, url, defaultBranch, outcome, ctx);
    const bytes = outcome.fetched ? (await packBytes(path)) - (outcome.rebuilt ? 0 : local.before) : 0;
    const what = !local.existed ? 'cloned' : outcome.rebuilt ? 'rebuilt' : outcome.fetched ? 'fetched' : 'up to date,';
    const brought = outcome.fetched ? `, ${formatBytes(Math.max(bytes, 0))} of packs` : '';
    ctx.log(`${what} ${remote.refs.size} refs${brought}, ${defaultBranch} at ${headSha.slice(0, 12)}, in ${Date.now() - started} ms`);
    return { path, defaultBranch, headSha, rebuilt: outcome.rebuilt, fetched: outcome.fetched };
  });
}

/**
 * The remote's refs and the mirror's state, read at once: on the warm path the remote's answer
 * is most of a sync, and the local checks are a dozen small file reads. Both are settled before
 * anything goes on (the lock must not be released under a pending read of the mirror).
 */
async function lookAtBothSides(url: string, path: string, reposDir: string, ctx: GitContext): Promise<{ remote: RemoteState; local: LocalSide }> {
  const asked = performance.now();
  const [answer, looked] = await Promise.allSettled([
    remoteState(url, ctx).finally(() => trace("remote's refs read", asked)),
    lookAtMirror(url, path, reposDir, ctx),
  ]);
  if (answer.status === 'rejected') throw answer.reason;
  if (looked.status === 'rejected') throw looked.reason;
  return { remote: answer.value, local: looked.value };
}

async function lookAtMirror(url: string, path: string, reposDir: string, ctx: GitContext): Promise<LocalSide> {
  await removeAbandoned(reposDir, mirrorName(url));
  const existed = await exists(path);
  if (!existed || !(await looksUsable(path))) return { existed, refs: undefined, before: 0, loose: 0 };
  await removeStaleGitLocks(path);
  const stats: RefStats = { loose: 0 };
  // Loose objects are packed here too: a fetch brings packs, never loose objects.
  const [refs, before] = await Promise.all([readLocalRefs(path, stats), packLooseObjects(path, ctx).then(() => packBytes(path))]);
  return { existed, refs, before, loose: stats.loose };
}

/** The branch the remote's HEAD names, else main, else its first branch. */
function defaultBranchOf(url: string, remote: RemoteState): string {
  if (remote.refs.size === 0) {
    throw new JgoError('repo_empty', `${url} has no branches yet`, EXIT.failed, { hint: 'Push a first commit to the repository.' });
  }
  const branch = remote.defaultBranch ?? (remote.refs.has('refs/heads/main') ? 'main' : [...remote.refs.keys()].find((r) => r.startsWith('refs/heads/'))?.slice(11));
  if (branch === undefined) throw new JgoError('repo_empty', `${url} has no branches`, EXIT.failed);
  return branch;
}

/** Nothing when the refs match; a fetch when they differ; a build when there is no whole mirror or the fetch failed. */
async function bringCurrent(path: string, url: string, defaultBranch: string, remote: RemoteState, local: LocalSide, ctx: GitContext): Promise<Outcome> {
  if (local.refs === undefined) {
    if (local.existed) ctx.log(`the cached mirror ${path} is incomplete or damaged: building it anew`);
    await build(path, url, defaultBranch, ctx);
    return { ...(await refsNow(path)), rebuilt: local.existed, fetched: true };
  }
  trace('mirror checked');
  if (sameRefs(local.refs, remote.refs)) return { refs: local.refs, loose: local.loose, rebuilt: false, fetched: false };
  try {
    await fetchInto(path, url, ctx);
    return { ...(await refsNow(path)), rebuilt: false, fetched: true };
  } catch (error) {
    if (error instanceof JgoError && FINAL.includes(error.code)) throw error;
    ctx.log(`fetching into the cached mirror failed (${(error as Error).message}): building it anew`);
    await build(path, url, defaultBranch, ctx);
    return { ...(await refsNow(path)), rebuilt: true, fetched: true };
  }
}

async function refsNow(path: string): Promise<{ refs: RefMap; loose: number }> {
  const stats: RefStats = { loose: 0 };
  const refs = await readLocalRefs(path, stats);
  return { refs, loose: stats.loose };
}

/**
 * The default branch's commit, readable in the mirror after a fetch. A mirror that lacks it is
 * built once more; a fresh build that lacks it is broken.
 */
async function checkedHead(path: string, url: string, defaultBranch: string, outcome: Outcome, ctx: GitContext): Promise<string> {
  const headSha = outcome.refs.get(`refs/heads/${defaultBranch}`);
  if (headSha !== undefined && (!outcome.fetched || (await hasCommit(path, headSha, ctx)))) return headSha;
  if (outcome.rebuilt) throw new JgoError('mirror_broken', `the mirror ${path} does not hold ${defaultBranch} after a fresh build`, EXIT.failed);
  ctx.log(`the cached mirror does not hold ${defaultBranch}: building it anew`);
  await build(path, url, defaultBranch, ctx);
  await setHead(path, defaultBranch);
  outcome.rebuilt = true;
  outcome.fetched = true;
  const rebuilt = (await readLocalRefs(path)).get(`refs/heads/${defaultBranch}`);
  if (rebuilt === undefined) throw new JgoError('mirror_broken', `the mirror ${path} does not hold ${defaultBranch}`, EXIT.failed);
  return rebuilt;
}
