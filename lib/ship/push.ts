/**
 * jgo-ship's push, in three steps one after the other: `git push` of the branch (never forced),
 * the proof (the remote's branch read back with listServerRefs, protocol v2, only that ref), and
 * the mirror told, so the next sync has nothing of ours to fetch. The token goes only where the
 * git layer lets it (lib/git/auth.ts): the push's credential helper and the proof's header both
 * answer only for the token's origins.
 */
import { EXIT, JgoError } from '../errors.js';
import { pushBranch, type Identity } from '../git/commit.js';
import { headSha } from '../git/history.js';
import { rebaseOntoRemote } from '../git/rebase.js';
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
  /**
   * A follow-up's: when the push is rejected because the branch moved on the remote, the commits
   * are replayed onto it (committed by this identity) and pushed once more. Undefined: no replay.
   */
  rebaseAs?: Identity | undefined;
  /** With `rebaseAs`: where the run's own commits begin (the working copy's base). */
  base?: string | undefined;
}

export interface PushResult {
  /** What the remote holds at refs/heads/<branch>: the head, proven. */
  remoteSha: string;
  /** Whether jgo pushed (false: the branch was there already). */
  pushed: boolean;
  /** Whether the mirror now holds the branch too. */
  mirrored: boolean;
  /** The remote commit the run's commits were replayed onto, when they were. */
  rebasedOnto?: string;
  /** The head pushed: `req.head`, or the replayed commits' newest. */
  head: string;
}

function branchGone(branch: string): JgoError {
  return new JgoError('branch_gone', `the branch ${branch} is no longer on the remote (merged, or deleted): nothing was pushed`, EXIT.failed, {
    hint: 'Start a new run (jgo run "…") for more changes: its commits go on a new branch.',
  });
}

/** How many times a follow-up's commits are replayed onto a branch that keeps moving. */
const REPLAYS = 3;

/**
 * Pushes; for a follow-up (`rebaseAs`), a push refused because the branch moved is followed by a
 * replay of the run's commits onto it and another push, a few times at most. A refusal with the
 * branch where the run found it (a protected branch, a hook) is passed on as it came.
 */
async function pushFollowingRemote(req: PushRequest, ctx: GitContext): Promise<{ head: string; onto: string | undefined }> {
  const options = { ...(ctx.env ? { env: ctx.env } : {}), ...(ctx.signal ? { signal: ctx.signal } : {}) };
  let base = req.base;
  let head = req.head;
  let onto: string | undefined;
  for (let round = 0; ; round++) {
    try {
      await pushBranch({ dir: req.dir, url: req.url, branch: req.branch, credentials: ctx.credentials }, options);
      return { head, onto };
    } catch (error) {
      if (!(req.rebaseAs && base && error instanceof JgoError && error.code === 'push_rejected') || round === REPLAYS) throw error;
      const now = await remoteBranch(req.url, req.branch, ctx);
      if (now === undefined) throw branchGone(req.branch);
      if (now === base) throw error;
      onto = await rebaseOntoRemote({ dir: req.dir, url: req.url, branch: req.branch, base, committer: req.rebaseAs, credentials: ctx.credentials }, options);
      base = onto;
      head = await headSha(req.dir, ctx.env);
      trace('rebased');
    }
  }
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
  // A follow-up's branch is read first: one merged and deleted while codex worked is not made anew.
  let remote = req.lookFirst || req.rebaseAs ? await remoteBranch(req.url, req.branch, ctx) : undefined;
  if (req.rebaseAs && remote === undefined) throw branchGone(req.branch);
  let head = req.head;
  let rebasedOnto: string | undefined;
  const pushed = remote !== head;
  if (pushed) {
    const replayed = await pushFollowingRemote(req, ctx);
    head = replayed.head;
    rebasedOnto = replayed.onto;
    trace('pushed');
    remote = await remoteBranch(req.url, req.branch, ctx);
    trace('remote read back');
  }
  if (remote !== head) {
    throw new JgoError('push_unverified', `after the push, ${req.branch} on the remote is ${remote ?? 'missing'}, not ${head}`, EXIT.failed);
  }
  const mirrored = req.mirror ? await recordPushed({ mirror: req.mirror, dir: req.dir, branch: req.branch, sha: head }, ctx) : false;
  trace('mirror told');
  return { remoteSha: remote, pushed, mirrored, head, ...(rebasedOnto ? { rebasedOnto } : {}) };
}
