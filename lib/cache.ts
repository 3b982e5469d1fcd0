/** The cache directory of this process, resolved once (and the fallback notice said once). */
import { resolveCacheDir } from './config.js';
import type { StageContext } from './stage.js';

let resolved: string | undefined;

export function cacheDir(context: Pick<StageContext, 'settings' | 'log'>): string {
  if (resolved === undefined) {
    const result = resolveCacheDir(context.settings);
    if (result.fellBack) context.log(result.fellBack);
    resolved = result.path;
  }
  return resolved;
}
