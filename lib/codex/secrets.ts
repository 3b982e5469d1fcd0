/**
 * After a codex run: was any secret value written to disk? CODEX_HOME lives on the persistent
 * cache and the working copy is what jgo-ship commits, so both are scanned, byte for byte, in
 * every file written or changed since the run began. Only file names are ever reported.
 */
import { open, readdir, stat } from 'node:fs/promises';
import { join } from 'node:path';

export interface SecretScanOptions {
  /** Directories to walk (symbolic links are not followed). */
  roots: string[];
  /** The values to look for. */
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

/** True when the file holds any of the needles; read in chunks that overlap by the longest one. */
export async function fileHolds(path: string, needles: readonly Buffer[]): Promise<boolean> {
  const longest = Math.max(0, ...needles.map((n) => n.length));
  if (longest === 0) return false;
  const handle = await open(path, 'r');
  try {
    const buffer = Buffer.alloc(CHUNK + longest);
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
  const needles = [...new Set(options.secrets)].filter((s) => s.length > 0).map((s) => Buffer.from(s, 'utf8'));
  const result: SecretScanResult = { files: [], read: 0, truncated: false };
  if (needles.length === 0) return result;
  const skip = new Set(options.skip ?? []);
  const maxEntries = options.maxEntries ?? 500_000;
  const seenDirs = new Set<string>();
  const found = new Set<string>();
  let entries = 0;
  const stack = [...options.roots];
  while (stack.length > 0) {
    options.signal?.throwIfAborted();
    const dir = stack.pop() as string;
    if (seenDirs.has(dir)) continue;
    seenDirs.add(dir);
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
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
          const info = await stat(path);
          if (Math.max(info.mtimeMs, info.ctimeMs) < options.since) continue;
          result.read++;
          if (!found.has(path) && (await fileHolds(path, needles))) found.add(path);
        } catch {
          // removed while we looked
        }
      }
    }
  }
  result.files = [...found].sort();
  return result;
}
