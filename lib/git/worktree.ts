/**
 * The per-run working copy: an ordinary repository (codex runs git in it) made by git from the
 * mirror without touching the network, checked out on a new branch, with `origin` pointing at
 * the real remote.
 *
 * It is a local `git clone` of the mirror: git hardlinks the mirror's object files (copies them
 * across devices), so the copy owns its objects. Later syncs may repack, prune or rebuild the
 * mirror, and the working copy is removed after the run, and neither touches the other. (An
 * alternates file, `clone --shared`, would leave the copy reading objects a later sync may
 * remove; a `git worktree` would tie the copy's metadata to the mirror and give the agent a
 * write into the mirror's own object store.) The clone holds the mirror's lock, so no sync
 * repacks or renames the mirror while git links from it; the checkout after it does not.
 */
import { mkdir, rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { JgoError, EXIT, UsageError } from '../errors.js';
import type { GitContext } from './context.js';
import { withLock } from './lock.js';
import { runGit, type NativeOptions } from './native.js';
import { readLocalRefs } from './refs.js';
import { mirrorLockPath } from './mirror-store.js';

export interface WorkingCopyRequest {
  mirror: string;
  /** The real remote: the working copy's origin. */
  url: string;
  dest: string;
  /** The mirror's branch the working copy starts from. */
  base: string;
  /** The branch it is on: a new one from `base`, or `base` itself for a follow-up. */
  branch: string;
}

/** A branch name git accepts and no option parser can mistake for a flag. */
export function checkBranchName(name: string, what = 'branch'): void {
  const bad =
    name === '' ||
    name.startsWith('-') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.endsWith('.') ||
    name.endsWith('.lock') ||
    name.includes('..') ||
    name.includes('//') ||
    name.includes('@{') ||
    /[\s~^:?*[\\\u0000-\u001f\u007f]/.test(name);
  if (bad) throw new UsageError('bad_branch', `${JSON.stringify(name)} is not a valid ${what} name`);
}

/** Makes the working copy; returns the commit it starts from. */
export async function makeWorkingCopy(req: WorkingCopyRequest, ctx: GitContext): Promise<{ baseSha: string }> {
  checkBranchName(req.base, 'base branch');
  checkBranchName(req.branch);
  await mkdir(dirname(req.dest), { recursive: true });
  const onWait = (holder: string) => ctx.log(`waiting for a sync of this repository to finish (${holder})`);
  const baseSha = await withLock(mirrorLockPath(req.mirror), { signal: ctx.signal, onWait }, async () => {
    // Read under the lock: the base is the commit the clone copies.
    const sha = await mirrorBase(req.mirror, req.base);
    // --single-branch: the copy knows the base (origin/<base>) and the tags in its history, as a
    // reused copy does (lib/git/pool.ts), not every branch of the remote.
    // No --local: that flag makes a failed hardlink fatal, where git otherwise copies across devices.
    // The mirror is a path jgo derived, the one place jgo's git may use the file transport.
    await git(['clone', '--quiet', '--no-checkout', '--single-branch', `--branch=${req.base}`, '--', req.mirror, req.dest], { env: ctx.env, signal: ctx.signal, config: [['protocol.file.allow', 'always']] });
    return sha;
  });
  const here: NativeOptions = { cwd: req.dest, env: ctx.env, signal: ctx.signal };
  await configureCopy(req, here);
  // -B: for a follow-up the clone already made the branch; it is checked out at the same commit.
  await git(['checkout', '--quiet', '--no-track', '-B', req.branch, baseSha, '--'], here);
  // The clone's own local branch and origin/HEAD: the copy holds only the run's branch, as ship
  // expects, and the remote's base, as a reused copy does. --no-deref: origin/HEAD itself, not main.
  const drop = ['delete refs/remotes/origin/HEAD', ...(req.base !== req.branch ? [`delete refs/heads/${req.base}`] : [])];
  await git(['update-ref', '--no-deref', '--stdin'], { ...here, input: `${drop.join('\n')}\n` });
  return { baseSha };
}

/**
 * The copy's config, the same for a new copy and a reused one (lib/git/pool.ts): git's own
 * defaults for this file system (`git init` writes them where there is no config) and `origin`,
 * the real remote, for the base branch alone. Nothing of the clone's (its origin was the mirror).
 */
export async function configureCopy(req: { dest: string; url: string; base: string }, here: NativeOptions, fail = failed): Promise<void> {
  await rm(join(req.dest, '.git', 'config'), { force: true });
  for (const args of [['init', '--quiet'], ['remote', 'add', '-t', req.base, '--', 'origin', req.url]]) {
    const result = await runGit(args, here);
    if (result.code !== 0) throw fail(args, result.stderr);
  }
}

/** The commit of the mirror's branch `base` (read under the mirror's lock), or base_not_found. */
export async function mirrorBase(mirror: string, base: string): Promise<string> {
  const sha = (await readLocalRefs(mirror)).get(`refs/heads/${base}`);
  if (sha === undefined) {
    throw new UsageError('base_not_found', `the mirror has no branch ${JSON.stringify(base)}`, {
      hint: 'Name an existing branch with --base, or run jgo-sync first.',
    });
  }
  return sha;
}

function failed(args: string[], stderr: string): Error {
  return new JgoError('worktree_failed', `git ${args[0]} failed: ${stderr.trim().split('\n').at(-1) ?? ''}`, EXIT.failed);
}

async function git(args: string[], options: NativeOptions): Promise<void> {
  const result = await runGit(args, options);
  if (result.code !== 0) throw failed(args, result.stderr);
}
