/**
 * The git layer: everything jgo does with git goes through here. git itself moves objects,
 * checks out, reports status, commits and pushes; isomorphic-git reads a remote's refs
 * in-process (remote.ts). Stages never call a git library or binary directly.
 */
import type { StageContext } from '../stage.js';
import { gitCredentials } from './auth.js';
import type { GitContext } from './context.js';

export type { GitContext } from './context.js';
export { syncMirror, mirrorPath, type MirrorResult } from './mirror.js';
export { remoteState, type RemoteState } from './remote.js';
export { recordPushed } from './record.js';
export { makeWorkingCopy, checkBranchName } from './worktree.js';

export function gitContext(stage: StageContext): GitContext {
  return {
    // The token and its origins: each operation sends it only to a URL among them.
    credentials: gitCredentials(stage.settings),
    log: stage.log,
    stderr: stage.io.stderr,
    signal: stage.signal,
    env: stage.io.env,
  };
}
export { changedPaths, type Change, type ChangeKind } from './status.js';
export { commitChanges, intendToAdd, pushBranch, type Identity } from './commit.js';
export { headSha, commitsSince, pathsChangedSince, readFileAt, readWorkingFile, type CommitInfo } from './history.js';
export { readWorkingHead } from './refs.js';
