/**
 * jgo-ship's push, in three steps one after the other: `git push` of the branch (never forced),
 * the proof (the remote's branch read back with listServerRefs, protocol v2, only that ref), and
 * the mirror told, so the next sync has nothing of ours to fetch. The token goes only where the
 * git layer lets it (lib/git/auth.ts): the push's credential helper and the proof's header both
 * answer only for the token's origins.
 */
import { EXIT, JgoError } from '../errors.js';
import { pushBranch } from '../git/commit.js';
import { recordPushed } from '../git/record.js';
import { remoteState } from '../git/remote.js';
import { type GitContext } from '../git/context.js';
import { trace } from '../trace.js';

export interface PushRequest {
  /** The working copy. */
  dir: string;
  url: string;
  branch: string;
  /** The commit the branch must be at on the remote. */
  head: string;
  /** The mirror the working copy was made from, to be told of the branch; undefined: none. */
  mirror: string | undefined;
  /**
   * The branch may be on the remote already (codex pushed it in agent mode, or an earlier attempt
   * did): it is read first, and not pushed again when it is there. False for commits just made.
   */
  lookFirst: boolean;
}

export interface PushResult {
  /** What the remote holds at refs/heads/<branch>: the head, proven. */
  remoteSha: string;
  /** Whether jgo pushed (false: the branch was there already). */
  pushed: boolean;
  /** Whether the mirror now holds the branch too. */
  mirrored: boolean;
}

/** The remote's commit at refs/heads/<branch>; undefined when it has no such branch. */
export async function remoteBranch(url: string, branch: string, ctx: Pick<GitContext, 'credentials' | 'signal'>): Promise<string | undefined> {
  const ref = `refs/heads/${branch}`;
  return (await remoteState(url, ctx, { prefix: ref })).refs.get(ref);
}

/**
 * Pushes, proves and records. Throws push_rejected (the remote has other history there),
 * the git layer's codes for failures on the way (auth_failed, network_error, …), and
 * push_unverified when the remote, asked after the push, does not hold the head.
 */
export async function pushAndProve(req: PushRequest, ctx: GitContext): Promise<PushResult> {
  let remote = req.lookFirst ? await remoteBranch(req.url, req.branch, ctx) : undefined;
  const pushed = remote !== req.head;
  if (pushed) {
    await pushBranch({ dir: req.dir, url: req.url, branch: req.branch, credentials: ctx.credentials }, { ...(ctx.env ? { env: ctx.env } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) });
    trace('pushed');
    remote = await remoteBranch(req.url, req.branch, ctx);
    trace('remote read back');
  }
  if (remote !== req.head) {
    throw new JgoError('push_unverified', `after the push, ${req.branch} on the remote is ${remote ?? 'missing'}, not ${req.head}`, EXIT.failed);
  }
  const mirrored = req.mirror ? await recordPushed({ mirror: req.mirror, dir: req.dir, branch: req.branch, sha: req.head }, ctx) : false;
  trace('mirror told');
  return { remoteSha: remote, pushed, mirrored };
}
