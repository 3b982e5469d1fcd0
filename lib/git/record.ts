/**
 * After a verified push, the mirror is given the branch the run pushed, so the next sync does not
 * fetch the run's own commits back over the network: a `git fetch` from the working copy into the
 * mirror, under the mirror's lock, as any other writer of the mirror holds it.
 */
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitContext } from './context.js';
import { acquireLock, type Lock } from './lock.js';
import { runGit } from './native.js';
import { readLocalRefs } from './refs.js';
import { looksUsable, mirrorLockPath } from './mirror-store.js';

export interface RecordPushedRequest {
  /** The mirror the working copy was made from. */
  mirror: string;
  /** The working copy holding the pushed commits. */
  dir: string;
  branch: string;
  /** What the remote was shown to hold at refs/heads/<branch>, after the push. */
  sha: string;
}

/**
 * Fetches refs/heads/<branch> from the working copy into the mirror. The working copy was cloned
 * from the mirror, so git sends only the commits the run made. The mirror must hold only what the
 * remote holds: when the working copy's branch is not the commit the push was proven to put there
 * (the agent moved it), the branch is dropped again. Best effort: a mirror busy with another sync,
 * or any failure, leaves the work to that next sync. Returns whether the mirror now holds the branch.
 */
export async function recordPushed(req: RecordPushedRequest, ctx: Pick<GitContext, 'signal' | 'env'>): Promise<boolean> {
  if (!(await stat(join(req.dir, '.git')).then((s) => s.isDirectory(), () => false))) return false;
  let lock: Lock;
  try {
    // Not worth waiting for: a sync that holds the lock fetches the branch from the remote anyway.
    lock = await acquireLock(mirrorLockPath(req.mirror), { timeoutMs: 1000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } catch {
    return false;
  }
  try {
    if (!(await looksUsable(req.mirror))) return false;
    const ref = `refs/heads/${req.branch}`;
    const options = { cwd: req.mirror, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) };
    const fetched = await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', req.dir, `+${ref}:${ref}`], { ...options, config: RECORD_CONFIG });
    if (fetched.code !== 0) return false;
    if ((await readLocalRefs(req.mirror)).get(ref) === req.sha) return true;
    await runGit(['update-ref', '-d', ref], options);
    return false;
  } catch {
    return false;
  } finally {
    await lock.release();
  }
}

const RECORD_CONFIG: Array<[string, string]> = [
  // The one transport besides http(s) that jgo's git may use, for this fetch from a path jgo derived.
  ['protocol.file.allow', 'always'],
  // A run's few objects arrive loose, as the mirror's upkeep expects (packed once there are many),
  // not as one small pack per run. transfer.*, not fetch.*: git 2.39 lets the mirror's own
  // transfer.unpackLimit win over any fetch.unpackLimit.
  ['transfer.unpackLimit', '100'],
  ['maintenance.auto', 'false'],
];
