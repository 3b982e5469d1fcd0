/** Searching a directory tree for a secret value, as the leak tests need. */
import { readdir, readFile, lstat } from 'node:fs/promises';
import { join } from 'node:path';

/** Files under `root` whose bytes contain `needle` (symlinks not followed). */
export async function grepTree(root: string, needle: string): Promise<string[]> {
  const hits: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) {
        const info = await lstat(path);
        if (info.size > 64 * 1024 * 1024) continue;
        const bytes = await readFile(path).catch(() => Buffer.alloc(0));
        if (bytes.includes(needle)) hits.push(path);
      }
    }
  };
  await walk(root);
  return hits;
}
