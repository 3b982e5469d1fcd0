/**
 * The git layer: everything jgo does with git goes through here (sync a mirror, make a working
 * copy, and, as later stages land, list changed paths, commit, push, read remote refs). Stages
 * never call a git library or binary directly; the engine for each operation is chosen inside.
 */
import type { Settings } from '../config.js';
import type { StageContext } from '../stage.js';
import { gitCredentials } from './auth.js';
import { EngineChooser, engineSetting } from './engine.js';
import type { GitContext } from './mirror.js';
import { iso } from './iso.js';

export { syncMirror, mirrorPath, remoteState, recordPushed, type MirrorResult, type GitContext } from './mirror.js';
export { makeWorkingCopy, checkBranchName } from './worktree.js';
export { AUTO, type Engine, type Operation } from './engine.js';

/**
 * Loads what reading a remote's refs needs (isomorphic-git and its HTTP client) ahead of use,
 * while a stage waits for its envelope, unless the settings could not be read.
 */
export async function preloadRemoteReads(settings: Settings | undefined): Promise<void> {
  if (settings === undefined) return;
  await iso();
}

export function gitContext(stage: StageContext): GitContext {
  return {
    engines: new EngineChooser(engineSetting(stage.settings), stage.io.env),
    // The token and its origins: each operation sends it only to a URL among them.
    credentials: gitCredentials(stage.settings),
    log: stage.log,
    stderr: stage.io.stderr,
    signal: stage.signal,
    env: stage.io.env,
  };
}
export { changedPaths, type Change, type ChangeKind } from './status.js';

/** The engine chooser and credentials for callers outside a stage harness (tests, bench). */
export { EngineChooser, engineSetting } from './engine.js';
export { commitChanges, intendToAdd, pushBranch, type Identity } from './commit.js';
export { headSha, commitsSince, pathsChangedSince, readFileAt, readWorkingFile, type CommitInfo } from './history.js';
export { readWorkingHead } from './refs.js';
