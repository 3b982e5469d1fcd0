/**
 * After a codex run: was any secret value written to disk? CODEX_HOME lives on the persistent
 * cache and the working copy is what jgo-ship commits, so both are scanned, byte for byte, in
 * every file written or changed since the run began, for each secret value plainly and in its
 * encoded forms (lib/codex/needles.ts). Only file names are ever reported.
 */
import { readdirSync, statSync } from 'node:fs';
import { lstat, open, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { secretNeedleBytes } from '../needles.js';

export interface SecretScanOptions {
  /** Directories to walk (symbolic links are not followed). */
  roots: string[];
  /** Files to read besides (each when it is a regular file, not a symbolic link, changed since `since`). */
  files?: readonly string[];
  /** The values to look for (each also base64-, hex- and percent-encoded). */
  secrets: readonly string[];
  /** Only files whose mtime or ctime is at or after this time (ms since the epoch) are read. */
  since: number;
  /** Absolute paths left out (e.g. CODEX_HOME/auth.json: codex's own credential store). */
  skip?: readonly string[];
  /** Stop walking after this many entries (a huge current directory in the ad-hoc chain). */
  maxEntries?: number;
  signal?: AbortSignal;
}

export interface SecretScanResult {
  /** Absolute paths of files holding at least one secret value. */
  files: string[];
  /** Files read. */
  read: number;
  /** Set when the walk stopped at maxEntries. */
  truncated: boolean;
}

const CHUNK = 1 << 20;

/** How far before a marker's timestamp to look on a file system whose timestamps are coarse. */
const COARSE_SLACK_MS = 2000;

/**
 * "Now" by the clock of the file systems holding these directories: a marker file is written in
 * each and its mtime read back, so a file written after this call has an mtime or ctime at or after
 * the result even when that clock differs from ours (NFS) or is coarse. A marker without a
 * fraction of a second means the file system keeps whole seconds (or two, on FAT): the slack
 * covers that. A directory that cannot be written falls back to our clock minus the slack.
 */
export async function fileSystemNow(dirs: readonly string[]): Promise<number> {
  let earliest = Date.now() - COARSE_SLACK_MS;
  let measured = Number.POSITIVE_INFINITY;
  for (const dir of dirs) {
    const marker = join(dir, `.jgo-scan-mark-${process.pid}`);
    try {
      await writeFile(marker, '');
      const { mtimeMs } = await stat(marker);
      measured = Math.min(measured, Number.isInteger(mtimeMs / 1000) ? mtimeMs - COARSE_SLACK_MS : mtimeMs);
    } catch {
      return earliest;
    } finally {
      await rm(marker, { force: true }).catch(() => {});
    }
  }
  if (Number.isFinite(measured)) earliest = measured;
  return earliest;
}

async function changedSince(path: string, since: number): Promise<boolean> {
  const info = await lstat(path).catch(() => undefined);
  return info !== undefined && info.isFile() && Math.max(info.mtimeMs, info.ctimeMs) >= since;
}

/** True when the file holds any of the needles; read in chunks that overlap by the longest one. */
export async function fileHolds(path: string, needles: readonly Buffer[], scratch?: Buffer): Promise<boolean> {
  const longest = Math.max(0, ...needles.map((n) => n.length));
  if (longest === 0) return false;
  const handle = await open(path, 'r');
  try {
    // One buffer serves a whole scan: allocating (and zeroing) a megabyte per file cost more than
    // reading the files.
    const buffer = scratch && scratch.length >= CHUNK + longest ? scratch : Buffer.allocUnsafe(CHUNK + longest);
    let carried = 0;
    for (;;) {
      const { bytesRead } = await handle.read(buffer, carried, CHUNK, null);
      if (bytesRead === 0) return false;
      const window = buffer.subarray(0, carried + bytesRead);
      if (needles.some((n) => window.indexOf(n) !== -1)) return true;
      carried = Math.min(longest - 1, window.length);
      window.copyWithin(0, window.length - carried);
    }
  } finally {
    await handle.close();
  }
}

export async function scanForSecrets(options: SecretScanOptions): Promise<SecretScanResult> {
  const needles = secretNeedleBytes(options.secrets);
  const result: SecretScanResult = { files: [], read: 0, truncated: false };
  if (needles.length === 0) return result;
  const skip = new Set(options.skip ?? []);
  const scratch = Buffer.allocUnsafe(CHUNK + Math.max(...needles.map((n) => n.length)));
  const maxEntries = options.maxEntries ?? 500_000;
  const seenDirs = new Set<string>();
  const found = new Set<string>();
  let entries = 0;
  for (const path of options.files ?? []) {
    options.signal?.throwIfAborted();
    if (skip.has(path) || !(await changedSince(path, options.since))) continue;
    result.read++;
    if (await fileHolds(path, needles, scratch).catch(() => false)) found.add(path);
  }
  const stack = [...options.roots];
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const dir = stack.pop() as string;
    if (seenDirs.has(dir)) continue;
    seenDirs.add(dir);
    let names;
    try {
      // The walk is synchronous on purpose: it is a stat per entry and nothing else, and through
      // the thread pool each one cost a round trip (5,000 files: 287-293 ms awaited one by one,
      // 42-48 ms synchronous, measured here). Reading a file that changed is still async.
      names = readdirSync(dir, { withFileTypes: true });
    } catch {
      continue; // gone or unreadable: nothing codex could have left there for us to see
    }
    for (const entry of names) {
      if (++entries > maxEntries) {
        result.truncated = true;
        stack.length = 0;
        break;
      }
      const path = join(dir, entry.name);
      if (skip.has(path)) continue;
      if (entry.isDirectory()) stack.push(path);
      else if (entry.isFile()) {
        try {
          const info = statSync(path);
          if (Math.max(info.mtimeMs, info.ctimeMs) < options.since) continue;
          result.read++;
          if (!found.has(path) && (await fileHolds(path, needles, scratch))) found.add(path);
        } catch {
          // removed while we looked
        }
      }
    }
  }
  result.files = [...found].sort();
  return result;
}
