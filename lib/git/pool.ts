/**
 * The working-copy pool: a finished run's working copy is kept under
 * `$JGO_CACHE_DIR/pool/<mirror name>/<run id that gave it>` instead of being deleted, and the next
 * run of that repository takes it. Checking a big tree out anew costs seconds (more right after
 * a mass delete); bringing a kept copy to the new branch writes only the files that differ.
 *
 * A kept copy is the previous run's. Its files are the agent's to write; its `.git` is not (ship
 * keeps only copies whose agent ran with `.git` read-only), but `.git` holds what the run's git
 * left. It is reused only once it is proven to hold nothing of that run:
 *   - before any git runs in it, `.git` keeps only its object store and index (with no
 *     alternates, commit graph or symlinks); config, hooks, refs (branches, stash, tags),
 *     reflogs, info/ and every state file are removed, and git makes a new config (`git init`);
 *   - `git reset --hard` brings index and files to the new base, and `git clean -ffdx` removes
 *     untracked and ignored files; each exits non-zero on a file it cannot restore or remove;
 *   - no index entry is marked assume-unchanged or skip-worktree, which would let reset pass a
 *     modified file over.
 * That is the proof: a `git status` after it would ask the same index the same question again
 * (a full scan of the tree). A copy that fails any of it is not reused (`NotReusable`): the
 * caller discards it and clones.
 */
import { lstat, mkdir, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { RUN_ID_FORMAT } from '../envelope.js';
import type { GitContext } from './context.js';
import { withLock } from './lock.js';
import { mirrorLockPath } from './mirror-store.js';
import { runGit, runGitBytes, type NativeOptions } from './native.js';
import { readWorkingHead } from './refs.js';
import { checkBranchName, configureCopy, mirrorBase, type WorkingCopyRequest } from './worktree.js';

/** Why a kept working copy is not reused. */
export class NotReusable extends Error {}

/** The kept copies of a pool, by the run ids that name them (anything else there is not one). */
async function keptIn(pool: string): Promise<string[]> {
  return (await readdir(pool).catch(() => [] as string[])).filter((e) => RUN_ID_FORMAT.test(e));
}

/**
 * Moves one kept copy of the pool to `dest` (a rename: the copy becomes the run's own) and says
 * which; the newest first, as it is the nearest to the current base. Two runs never get the same
 * copy: the rename is atomic, and the loser tries the next one.
 */
export async function takePooled(pool: string, dest: string): Promise<string | undefined> {
  const entries = (await keptIn(pool)).sort().reverse();
  if (entries.length > 0) await mkdir(dirname(dest), { recursive: true });
  for (const entry of entries) {
    try {
      await rename(join(pool, entry), dest);
      return entry;
    } catch {
      // taken by another run meanwhile, or not movable: the next one
    }
  }
  return undefined;
}

/**
 * Puts a finished working copy into the pool when it holds fewer than `size` copies; says
 * whether it did. Runs finishing at the same moment may each see room: the pool may then hold
 * one more for a while, and the next take shrinks it.
 */
export async function givePooled(pool: string, copy: string, runId: string, size: number): Promise<boolean> {
  if (size <= 0) return false;
  if ((await keptIn(pool)).length >= size) return false;
  await mkdir(pool, { recursive: true });
  return rename(copy, join(pool, runId)).then(
    () => true,
    () => false,
  );
}

/** What of `.git` outlives a run: its object store and its index (the files' stat cache). */
const KEPT = new Set(['objects', 'index']);

/** Leaves `.git` with only what `KEPT` names, after checking nothing there is a symlink. */
async function scrubGitDir(dir: string): Promise<void> {
  if (!(await lstat(dir).catch(() => undefined))?.isDirectory()) throw new NotReusable('the copy is not a directory');
  const gitdir = join(dir, '.git');
  if (!(await lstat(gitdir).catch(() => undefined))?.isDirectory()) throw new NotReusable('.git is not a directory');
  const entries = await readdir(gitdir, { withFileTypes: true });
  const index = entries.find((e) => e.name === 'index');
  if (!index?.isFile()) throw new NotReusable('.git/index is not a file');
  const objects = entries.find((e) => e.name === 'objects');
  if (!objects?.isDirectory()) throw new NotReusable('.git/objects is not a directory');
  const doomed = entries.filter((e) => !KEPT.has(e.name)).map((e) => join(gitdir, e.name));
  // A symlinked object directory would have git write objects elsewhere; info/ holds alternates
  // (objects read from elsewhere) and the commit graph (history as somebody wrote it).
  for (const entry of await readdir(join(gitdir, 'objects'), { withFileTypes: true })) {
    if (entry.name === 'info') doomed.push(join(gitdir, 'objects', entry.name));
    else if (!entry.isDirectory()) throw new NotReusable(`.git/objects/${entry.name} is not a directory`);
  }
  for (const entry of await readdir(join(gitdir, 'objects', 'pack'), { withFileTypes: true }).catch(() => [])) {
    if (!entry.isFile()) throw new NotReusable(`.git/objects/pack/${entry.name} is not a file`);
    if (entry.name.startsWith('multi-pack-index')) doomed.push(join(gitdir, 'objects', 'pack', entry.name));
  }
  // rm does not follow symlinks: a planted one is unlinked, its target left alone.
  await Promise.all(doomed.map((path) => rm(path, { recursive: true, force: true })));
}

/** The last part of the proof that nothing of the previous run is left: see the module's comment. */
async function proveClean(here: NativeOptions): Promise<void> {
  const files = await runGitBytes(['ls-files', '-v', '-z'], here);
  if (files.code !== 0) throw new NotReusable('git ls-files failed');
  // Every entry is "H <path>": lower case is assume-unchanged, S is skip-worktree.
  const entries = files.stdout.toString('utf8').split('\0');
  const hidden = entries.find((e) => e !== '' && !e.startsWith('H '));
  if (hidden !== undefined) throw new NotReusable(`the index hides ${JSON.stringify(hidden.slice(2, 200))} from git (${hidden[0]})`);
}

/**
 * Brings a kept copy at `req.dest` to `req.branch` at the mirror's `req.base`, as makeWorkingCopy
 * would make it, and proves it clean; returns the commit it starts from. Throws NotReusable when
 * the copy cannot be proven clean, and the mirror's errors (base_not_found) as they are.
 */
export async function reuseWorkingCopy(req: WorkingCopyRequest, ctx: GitContext): Promise<{ baseSha: string }> {
  checkBranchName(req.base, 'base branch');
  checkBranchName(req.branch);
  // The previous run's commit: what the copy already has, a hint for the fetch below.
  const head = await readWorkingHead(req.dest);
  const previous = head !== undefined && /^[0-9a-f]{40,64}$/.test(head) ? head : undefined;
  await scrubGitDir(req.dest);
  await writeFile(join(req.dest, '.git', 'HEAD'), `ref: refs/heads/${req.branch}\n`, { flag: 'wx' });
  const here: NativeOptions = { cwd: req.dest, env: ctx.env, signal: ctx.signal };
  await configureCopy(req, here, notReusable);
  // The fetch's own ref starts at that commit, and the fetch moves it (forced) to the base. With
  // no ref at all, git proves the base connected by walking the objects of its whole history
  // (every tree of every commit) before it finds it has nothing to fetch; from this ref it walks
  // only the commits in between.
  const remoteRef = join(req.dest, '.git', 'refs', 'remotes', 'origin', ...req.base.split('/'));
  if (previous !== undefined) {
    await mkdir(dirname(remoteRef), { recursive: true });
    await writeFile(remoteRef, `${previous}\n`, { flag: 'wx' });
  }
  const onWait = (holder: string) => ctx.log(`waiting for a sync of this repository to finish (${holder})`);
  const baseSha = await withLock(mirrorLockPath(req.mirror), { signal: ctx.signal, onWait }, async () => {
    const sha = await mirrorBase(req.mirror, req.base);
    const tip = previous !== undefined ? [`--negotiation-tip=${previous}`] : [];
    // As the clone of a new copy (--single-branch): the base's remote ref, and the tags in its history.
    const fetch = ['fetch', '--quiet', '--no-write-fetch-head', ...tip, '--', req.mirror, `+refs/heads/${req.base}:refs/remotes/origin/${req.base}`];
    // No gc or maintenance in a copy: it lives for a run or two, and the mirror is where packs are kept tidy.
    await git(fetch, { ...here, config: [['protocol.file.allow', 'always'], ['gc.auto', '0'], ['maintenance.auto', 'false']] });
    return sha;
  });
  await git(['reset', '--quiet', '--hard', baseSha], here);
  await git(['clean', '-ffdxq'], here);
  await proveClean(here);
  return { baseSha };
}

/** A git step that failed in a kept copy: its command and git's last line say why. */
function notReusable(args: string[], stderr: string): NotReusable {
  return new NotReusable(`git ${args[0]} failed: ${stderr.trim().split('\n').at(-1) ?? ''}`);
}

async function git(args: string[], options: NativeOptions): Promise<void> {
  const result = await runGit(args, options);
  if (result.code !== 0) throw notReusable(args, result.stderr);
}
