/**
 * The mirror on disk: whether one is whole, and its upkeep between fetches (packing the loose
 * objects and refs that runs leave, clearing what killed processes left). Called with the
 * mirror's lock held, by a sync or by recordPushed.
 */
import { open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { GitContext } from './context.js';
import { runGit } from './native.js';
import { exists } from '../fsutil.js';

/** The file jgo writes into a mirror it built whole; a directory without it is not used. */
export const MARKER = 'jgo-mirror.json';

export function mirrorLockPath(path: string): string {
  return `${path}.lock`;
}

export { exists };

/** The last `n` bytes of a file, or undefined when it is shorter or unreadable. */
async function tail(file: string, n: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    if (size < n) return undefined;
    const buffer = Buffer.alloc(n);
    await handle.read(buffer, 0, n, size - n);
    return buffer;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/**
 * Every pack ends with its own checksum, and its index repeats that checksum just before its
 * own: a pack cut short or replaced no longer matches. A few small reads per pack, so the check
 * runs on every sync.
 */
async function packsIntact(path: string): Promise<boolean> {
  const dir = join(path, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.idx'))) {
    const [idx, pack] = await Promise.all([tail(join(dir, name), 40), tail(join(dir, name.replace(/\.idx$/, '.pack')), 20)]);
    if (!idx || !pack || !idx.subarray(0, 20).equals(pack)) return false;
  }
  return true;
}

/** A mirror is usable when our marker, HEAD, config and objects are there and its packs intact. */
export async function looksUsable(path: string): Promise<boolean> {
  const checks = await Promise.all([MARKER, 'HEAD', 'config', 'objects'].map((f) => exists(join(path, f))));
  return checks.every(Boolean) && (await packsIntact(path));
}

/** Whether the commit is readable from the mirror: the deep check after every fetch. */
export async function hasCommit(path: string, sha: string, ctx: Pick<GitContext, 'env'>): Promise<boolean> {
  const result = await runGit(['cat-file', '-e', `${sha}^{commit}`], { cwd: path, env: ctx.env });
  return result.code === 0;
}

/** The fan-out directories the loose-object count is estimated from (00 to 0f). */
export const SAMPLE_DIRS = Array.from({ length: 16 }, (_, i) => `0${i.toString(16)}`);

/** Loose objects a mirror may hold before they are packed (about 20-50 runs' worth). */
export const LOOSE_LIMIT = 256;

/**
 * Loose objects are what recordPushed leaves in the mirror: a handful per run. Every working copy
 * links each of them, so once there are a few hundred they are packed, in a `git repack -d` of
 * the loose ones alone. The count is estimated as git estimates it, from a sample of the fan-out
 * directories: sixteen of them, 1/16th.
 */
export async function packLooseObjects(path: string, ctx: Pick<GitContext, 'env' | 'signal'>): Promise<void> {
  const sample = await Promise.all(SAMPLE_DIRS.map((d) => readdir(join(path, 'objects', d)).then((names) => names.length, () => 0)));
  if (sample.reduce((a, b) => a + b, 0) * 16 < LOOSE_LIMIT) return;
  await runGit(['repack', '-d', '-q'], { cwd: path, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

/**
 * Loose refs a mirror may hold before they are packed into packed-refs. Each is a file that
 * every sync reads to compare with the remote, and every run's pushed branch adds one (ship
 * records it, a fetch writes it): after a few hundred runs a warm sync was opening hundreds
 * of files. Git itself packs them only in `gc`, which a mirror never gets.
 */
export const LOOSE_REFS_LIMIT = 64;

export async function packLooseRefs(path: string, loose: number, ctx: Pick<GitContext, 'env' | 'signal'>): Promise<void> {
  if (loose <= LOOSE_REFS_LIMIT) return;
  await runGit(['pack-refs', '--all', '--prune'], { cwd: path, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

/** Sum of pack sizes: how much a fetch brought, for the summary line. */
export async function packBytes(path: string): Promise<number> {
  const dir = join(path, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(names.filter((n) => n.endsWith('.pack')).map((n) => stat(join(dir, n)).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** A git process killed mid-fetch leaves *.lock files; we hold the mirror lock, so they are dead. */
export async function removeStaleGitLocks(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      const p = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'objects') return removeStaleGitLocks(p);
      if (entry.isFile() && entry.name.endsWith('.lock')) await rm(p, { force: true });
    }),
  );
}

/** Temporary builds left by syncs that were killed (we hold the lock: none is in progress). */
export async function removeAbandoned(reposDir: string, name: string): Promise<void> {
  const tmpDir = join(reposDir, '.tmp');
  const entries = await readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => e.startsWith(`${name}-`)).map((e) => rm(join(tmpDir, e), { recursive: true, force: true })));
  const siblings = await readdir(reposDir).catch(() => [] as string[]);
  await Promise.all(siblings.filter((e) => e.startsWith(`${name}.trash-`)).map((e) => rm(join(reposDir, e), { recursive: true, force: true })));
}
