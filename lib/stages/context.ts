/**
 * The small contexts the lower layers take, made from the stage harness's: the git layer's
 * (the token and its origins, a log, a signal, the environment) and the codex layer's (codex's
 * settings read once, the cache, the environment, a log, a signal). The layers themselves never
 * see the harness (docs/architecture.md).
 */
import { join } from 'node:path';
import { cacheDir } from '../cache.js';
import type { Settings } from '../config.js';
import { readCodexConfig } from '../codex/args.js';
import type { CodexContext } from '../codex/context.js';
import { gitCredentials } from '../git/auth.js';
import type { GitContext } from '../git/context.js';
import type { StageContext } from '../stage.js';
import { debugging } from '../trace.js';

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

const codexConfigs = new WeakMap<Settings, CodexContext['config']>();

/** CODEX_HOME defaults to $JGO_CACHE_DIR/codex; codex's settings are checked once per process. */
export function codexContext(stage: StageContext): CodexContext {
  const cache = cacheDir(stage);
  let config = codexConfigs.get(stage.settings);
  if (config === undefined) {
    config = readCodexConfig(stage.settings, () => join(cache, 'codex'));
    codexConfigs.set(stage.settings, config);
  }
  return { config, cache, env: stage.io.env, cwd: stage.io.cwd, signal: stage.signal, log: stage.log, debug: debugging(stage.io.env) };
}
