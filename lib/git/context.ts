/**
 * What the git layer takes from its caller: the token and where it may go, a line for people, the
 * stream git's own progress goes to, a signal to stop, and the environment git takes PATH and HOME
 * from. Nothing of the stage harness, so the layer is used and tested on its own.
 */
import type { GitCredentials } from './auth.js';

export interface GitContext {
  credentials: GitCredentials | undefined;
  /** Progress and notices for people. */
  log: (line: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}
