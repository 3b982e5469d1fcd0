/** The cache directory for a set of settings, resolved once (and the fallback notice said once). */
import { resolveCacheDir, type Settings } from './config.js';
import type { StageContext } from './stage.js';

const resolved = new WeakMap<Settings, string>();

/**
 * A run directory under work/ that jgo-ship has set aside, to delete once its envelope is out:
 * `.removing-<run_id>-<pid>`. One that is left (its ship was stopped first) is jgo gc's.
 */
export function setAsideName(runId: string): string {
  return `.removing-${runId}-${process.pid}`;
}

/** The run id of a set-aside directory's name; undefined for any other entry of work/. */
export function setAsideRunId(entry: string): string | undefined {
  return /^\.removing-(.+)-\d+$/.exec(entry)?.[1];
}

export function cacheDir(context: Pick<StageContext, 'settings' | 'log'>): string {
  let path = resolved.get(context.settings);
  if (path === undefined) {
    const result = resolveCacheDir(context.settings);
    if (result.fellBack) context.log(result.fellBack);
    path = result.path;
    resolved.set(context.settings, path);
  }
  return path;
}
