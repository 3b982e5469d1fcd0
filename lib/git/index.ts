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

export { syncMirror, mirrorPath, remoteState, recordPushed, type MirrorResult, type GitContext } from './mirror.js';
export { makeWorkingCopy, checkBranchName } from './worktree.js';
export { AUTO, type Engine, type Operation } from './engine.js';

/**
 * Loads what reading a remote's refs needs (lsrefs.ts and Node's HTTP module, node:https unless
 * JGO_GIT_BASE_URL is a plain http URL) ahead of use, while a stage waits for its envelope, unless
 * JGO_GIT_ENGINE says native git does everything, or the settings could not be read. isomorphic-git
 * and its HTTP client are loaded only by an operation that needs them.
 */
export async function preloadRemoteReads(settings: Settings | undefined): Promise<void> {
  if (settings === undefined || (settings.get('JGO_GIT_ENGINE') ?? '').trim().toLowerCase() === 'native') return;
  await import('./lsrefs.js');
  process.getBuiltinModule(/^http:/i.test((settings.get('JGO_GIT_BASE_URL') ?? '').trim()) ? 'node:http' : 'node:https');
}

export function gitContext(stage: StageContext): GitContext {
  return {
    engines: new EngineChooser(engineSetting(stage.settings), stage.io.env),
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
export { openRefReader, type RefReader } from './lsrefs.js';
export { openPushTarget, type PushTarget } from './push.js';
