/** The cache directory for a set of settings, resolved once (and the fallback notice said once). */
import { resolveCacheDir, type Settings } from './config.js';
import type { StageContext } from './stage.js';

const resolved = new WeakMap<Settings, string>();

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
