/**
 * The cache directory: resolved as the stages resolve it, written to (a real file, not only an
 * access() check: a read-only mount or a full disk shows here), and its free space.
 */
import { randomBytes } from 'node:crypto';
import { statfs, unlink, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { resolveCacheDir, DEFAULT_CACHE_DIR, type Settings } from '../config.js';
import { messageOf } from '../errors.js';
import { formatBytes } from '../format.js';
import { fail, failFrom, ok, origin, warn, type Check } from './check.js';

/** Under this much free space a run may fail half-way (a clone, codex's work, a build). */
export const LOW_DISK_BYTES = 2 * 1024 ** 3;

export interface CacheResult {
  check: Check;
  /** The cache directory, when it could be resolved and written. */
  path: string | undefined;
  /** Where the cache would be, usable or not (for CODEX_HOME's default). */
  intended: string;
}

export async function cacheCheck(settings: Settings): Promise<CacheResult> {
  const named = settings.lookup('JGO_CACHE_DIR');
  const intended = named ? resolve(settings.cwd, named.value) : DEFAULT_CACHE_DIR;
  let path: string;
  let note = '';
  try {
    const dir = resolveCacheDir(settings);
    path = dir.path;
    note = dir.fellBack ? `; ${DEFAULT_CACHE_DIR} is not writable, so the per-user fallback is used` : '';
  } catch (error) {
    return { check: failFrom('cache', error, 'Point JGO_CACHE_DIR at a writable directory.'), path: undefined, intended };
  }
  const probe = join(path, `.jgo-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    await writeFile(probe, 'jgo doctor\n', { flag: 'wx' });
    await unlink(probe);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? messageOf(error);
    return {
      check: fail('cache', `${path} cannot be written (${code})`, 'Point JGO_CACHE_DIR at a writable directory with space (a volume in a container).'),
      path: undefined,
      intended: path,
    };
  }
  const source = named ? origin('JGO_CACHE_DIR', named) : '(default)';
  let free: number | undefined;
  try {
    const fs = await statfs(path);
    free = Number(fs.bavail) * Number(fs.bsize);
  } catch {
    free = undefined;
  }
  if (free === undefined) return { check: ok('cache', `${path} ${source}: writable${note}; free space unknown`), path, intended: path };
  if (free < LOW_DISK_BYTES) {
    return {
      check: warn('cache', `${path} ${source}: writable, only ${formatBytes(free)} free${note}`, `Free space (jgo gc removes old runs), or point JGO_CACHE_DIR at a larger volume; ${formatBytes(LOW_DISK_BYTES)} or more is comfortable.`),
      path,
      intended: path,
    };
  }
  return { check: ok('cache', `${path} ${source}: writable, ${formatBytes(free)} free${note}`), path, intended: path };
}
