/**
 * What the codex layer takes from its caller: codex's settings, read and checked once
 * (readCodexConfig), the cache directory its temporary files and secret scan live under, the
 * environment and directory codex is started from, a signal to stop, and a line for people.
 * Nothing of the stage harness, so the layer is used and tested on its own.
 */
import type { CodexConfig } from './args.js';

export interface CodexContext {
  config: CodexConfig;
  /** $JGO_CACHE_DIR: temporary files go under its work/, a secret found there is removed. */
  cache: string;
  /** The environment codex's own is made from (JGO_CODEX_ENV decides how much of it). */
  env: NodeJS.ProcessEnv;
  /** Where a relative CODEX_BIN is found from. */
  cwd: string;
  signal: AbortSignal;
  /** Progress and notices for people; secrets are scrubbed before a line gets here. */
  log: (line: string) => void;
  /** JGO_DEBUG=1: codex's own stderr is shown as it comes. */
  debug: boolean;
}
