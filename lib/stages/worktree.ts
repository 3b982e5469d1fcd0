/**
 * jgo-worktree: a working copy for this run at $JGO_CACHE_DIR/work/<run_id>/repo, made from the
 * mirror without the network, on a new branch jgo/<UTC YYYYMMDD-HHMMSS> (-2, -3, … when taken);
 * for a follow-up (`continue`), on the thread's branch as the mirror, just synced, has it.
 */
import { mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { newRunId, runStamp, utcStamp, type Envelope } from '../envelope.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { cacheDir, checkDerivedPath, mirrorPath, poolPath, removeAside, runDir, worktreePath } from '../cache.js';
import { checkedRepoUrl } from '../repo-ref.js';
import { exists } from '../fsutil.js';
import { authorityOf, configOf } from '../config.js';
import type { StageContext, StageSpec } from '../stage.js';
import { checkBranchName, makeWorkingCopy, type WorkingCopyRequest } from '../git/worktree.js';
import { NotReusable, reuseWorkingCopy, takePooled } from '../git/pool.js';
import { readLocalRefs } from '../git/refs.js';
import { gitContext } from './context.js';

export const WORKTREE_USAGE = '… | jgo-sync | jgo-worktree [--base <branch>]';

export interface WorktreeOptions {
  base?: string | undefined;
  now?: () => Date;
}

/** jgo/20261123-202500 from the run's own timestamp, else from the clock. */
export function branchStem(runId: string, now: Date): string {
  return `jgo/${runStamp(runId) ?? utcStamp(now)}`;
}

/**
 * Claims a branch name no other run holds and the mirror does not have: an atomic mkdir under
 * work/.branches per name, so two runs started in the same second still get distinct branches.
 * A claim whose run's working directory is gone belongs to nobody and is taken over.
 */
async function claimBranch(workDir: string, stem: string, runId: string, mirrorRefs: Map<string, string>): Promise<{ name: string; fresh: boolean }> {
  const claims = join(workDir, '.branches');
  await mkdir(claims, { recursive: true });
  for (let n = 1; n < 1000; n++) {
    const name = n === 1 ? stem : `${stem}-${n}`;
    if (mirrorRefs.has(`refs/heads/${name}`)) continue;
    const claim = join(claims, name.replace(/\//g, '%2F'));
    try {
      await mkdir(claim);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = (await readFile(join(claim, 'run_id'), 'utf8').catch(() => '')).trim();
      // This run's own claim, left by a jgo-worktree that was stopped: the run keeps its name.
      if (holder === runId) return { name, fresh: false };
      if (holder === '' || (await exists(join(workDir, holder)))) continue;
      await rm(claim, { recursive: true, force: true });
      n--; // try the same name again, now free
      continue;
    }
    // A claim without its run (a full disk) would hold the name until jgo gc: none is left.
    await writeFile(join(claim, 'run_id'), runId).catch(async (error: unknown) => {
      await rm(claim, { recursive: true, force: true });
      throw error;
    });
    return { name, fresh: true };
  }
  throw new JgoError('branch_names_exhausted', `no free branch name after ${stem}-999`, EXIT.failed);
}

export async function worktree(envelope: Envelope, context: StageContext, options: WorktreeOptions = {}): Promise<Envelope> {
  if (!envelope.repo) throw new UsageError('missing_field', 'the envelope has no "repo": run jgo-gate first');
  if (!envelope.mirror) throw new UsageError('missing_field', 'the envelope has no "mirror": run jgo-sync first');
  const base = options.base ?? envelope.mirror.default_branch;
  checkBranchName(base, 'base branch');
  const runId = envelope.run_id ?? newRunId();
  const cache = cacheDir(context);
  // Where the mirror is, and which repository, come from the cache and repo.url, not the envelope.
  const url = checkedRepoUrl(envelope.repo.url, authorityOf(context.settings));
  const mirrorDir = checkDerivedPath('mirror.path', envelope.mirror.path, mirrorPath(cache, url), cache);
  const run = runDir(cache, runId);
  const workDir = dirname(run);
  const dest = worktreePath(cache, runId);
  if (await exists(dest)) throw existsError(dest);
  const started = Date.now();
  const mirrorRefs = await readLocalRefs(mirrorDir);
  if (mirrorRefs.size === 0) {
    throw new UsageError('mirror_missing', `no mirror at ${mirrorDir}`, { hint: 'Run jgo-sync first.' });
  }
  await mkdir(run, { recursive: true });
  if (await removePartials(run)) context.log('a working copy left half-made by a stopped jgo-worktree was removed; making it again');
  // Made aside and renamed into place once whole: a working copy at `dest` is always a whole one.
  const partial = join(run, `${PARTIAL}${process.pid}`);
  let claim: { name: string; fresh: boolean } | undefined;
  try {
    const follow = envelope.continue ? followedBranch(envelope.continue.branch, base, envelope.mirror.default_branch, mirrorRefs) : undefined;
    claim = follow ? { name: follow, fresh: false } : await claimBranch(workDir, branchStem(runId, (options.now ?? (() => new Date()))()), runId, mirrorRefs);
    const branch = claim.name;
    const { baseSha, reused } = await workingCopy({ mirror: mirrorDir, url, dest: partial, base: follow ?? base, branch }, context, { cache, runId });
    await rename(partial, dest).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'EEXIST' || error.code === 'ENOTEMPTY') throw existsError(dest);
      throw error;
    });
    context.log(`${dest} on ${branch} ${follow ? 'continued' : `from ${base}`} at ${baseSha.slice(0, 12)}, ${reused ? 'a kept copy reused' : 'a new copy'}, in ${Date.now() - started} ms`);
    return { ...envelope, run_id: runId, worktree: { path: dest, branch, base_branch: base, base_sha: baseSha, reused } };
  } catch (error) {
    // Leave nothing half-made behind: the next attempt starts clean.
    await rm(partial, { recursive: true, force: true });
    if (claim?.fresh) await rm(join(workDir, '.branches', claim.name.replace(/\//g, '%2F')), { recursive: true, force: true });
    await rmdir(run).catch(() => {}); // only when nothing else is in it
    throw error;
  }
}

/**
 * The run's working copy at `req.dest`: a kept copy of the repository's pool when there is one
 * and it is proven clean (lib/git/pool.ts), else a new clone of the mirror. A kept copy that
 * cannot be proven clean is set aside and deleted after the answer, never reused.
 */
async function workingCopy(req: WorkingCopyRequest, context: StageContext, run: { cache: string; runId: string }): Promise<{ baseSha: string; reused: boolean }> {
  const ctx = gitContext(context);
  const size = configOf(context.settings).JGO_POOL_SIZE;
  const taken = size > 0 ? await takePooled(poolPath(run.cache, req.url), req.dest) : undefined;
  if (taken !== undefined) {
    try {
      return { ...(await reuseWorkingCopy(req, ctx)), reused: true };
    } catch (error) {
      if (!(error instanceof NotReusable) || context.signal.aborted) throw error;
      context.log(`the kept working copy of run ${taken} was not reused (${error.message}): making a new one`);
      await removeAside(run.cache, req.dest, run.runId, context);
    }
  }
  return { ...(await makeWorkingCopy(req, ctx)), reused: false };
}

/**
 * A follow-up's branch: the thread's, which the mirror must have (jgo-sync just read the
 * remote), and never the branch its pull request merges into.
 */
function followedBranch(branch: string, base: string, defaultBranch: string, mirrorRefs: Map<string, string>): string {
  checkBranchName(branch, 'continue.branch');
  if (branch === base || branch === defaultBranch) {
    throw new UsageError('bad_branch', `continue.branch ${JSON.stringify(branch)} is the repository's ${branch === defaultBranch ? 'default' : 'base'} branch: jgo never pushes to it`, {
      hint: 'Continue a branch a run pushed (jgo runs lists them), or start a new run.',
    });
  }
  if (!mirrorRefs.has(`refs/heads/${branch}`)) {
    throw new JgoError('branch_gone', `the branch ${branch} is no longer on the remote (merged, or deleted)`, EXIT.failed, {
      hint: 'Start a new run (jgo run "…") for more changes: its commits go on a new branch.',
    });
  }
  return branch;
}

/** The name of a working copy being made, before its process id. */
const PARTIAL = '.repo-partial-';

/**
 * Removes what a jgo-worktree that was stopped (SIGKILL, a lost pod) left half-made in the run's
 * directory, and says whether there was any. A run has one writer (jgo run and jgo resume hold
 * its lock), so a partial copy found here is nobody's.
 */
async function removePartials(runDir: string): Promise<boolean> {
  const partials = (await readdir(runDir).catch(() => [] as string[])).filter((e) => e.startsWith(PARTIAL));
  for (const entry of partials) await rm(join(runDir, entry), { recursive: true, force: true });
  return partials.length > 0;
}

function existsError(dest: string): JgoError {
  return new JgoError('worktree_exists', `the working copy ${dest} already exists`, EXIT.failed, {
    hint: 'Each run has its own working copy: start a new run, or remove the old one (jgo gc).',
  });
}

export function worktreeStage(options: WorktreeOptions = {}): StageSpec {
  return {
    name: 'worktree',
    usage: WORKTREE_USAGE,
    run: (envelope, context) => worktree(envelope, context, options),
  };
}
