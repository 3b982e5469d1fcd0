/**
 * Reading a repository's refs straight from disk (packed-refs plus loose refs). The warm sync
 * compares these with the remote's advertisement and skips the fetch when they match; reading
 * two small files beats starting a git process.
 */
import { readFile, readdir } from 'node:fs/promises';
import { join } from 'node:path';

export type RefMap = Map<string, string>;

/** What a read of the refs saw, besides the refs: how many were loose files. */
export interface RefStats {
  loose: number;
}

async function loose(gitdir: string, prefix: string, into: RefMap, stats?: RefStats): Promise<void> {
  let entries;
  try {
    entries = await readdir(join(gitdir, prefix), { withFileTypes: true });
  } catch {
    return;
  }
  await Promise.all(
    entries.map(async (entry) => {
      const name = `${prefix}/${entry.name}`;
      if (entry.isDirectory()) return loose(gitdir, name, into, stats);
      if (entry.name.endsWith('.lock')) return;
      const text = (await readFile(join(gitdir, name), 'utf8').catch(() => '')).trim();
      if (/^[0-9a-f]{40}([0-9a-f]{24})?$/.test(text)) {
        into.set(name, text);
        if (stats) stats.loose++;
      }
    }),
  );
}

/**
 * refs/heads/* and refs/tags/* (unpeeled) of a git directory. Loose refs win over packed ones.
 * The loose ones are read first, as git reads them: `git pack-refs` writes packed-refs before
 * it deletes the loose files, so a ref is always seen in one or the other.
 */
export async function readLocalRefs(gitdir: string, stats?: RefStats): Promise<RefMap> {
  const looseRefs: RefMap = new Map();
  await loose(gitdir, 'refs/heads', looseRefs, stats);
  await loose(gitdir, 'refs/tags', looseRefs, stats);
  const refs: RefMap = new Map();
  const packed = await readFile(join(gitdir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    const match = /^([0-9a-f]{40,64}) (refs\/(?:heads|tags)\/\S+)$/.exec(line);
    if (match) refs.set(match[2] as string, match[1] as string);
  }
  for (const [name, sha] of looseRefs) refs.set(name, sha);
  return refs;
}

/** The branch HEAD points at (`main` for `ref: refs/heads/main`), if it is symbolic. */
export async function readHeadBranch(gitdir: string): Promise<string | undefined> {
  const head = (await readFile(join(gitdir, 'HEAD'), 'utf8').catch(() => '')).trim();
  const match = /^ref: refs\/heads\/(.+)$/.exec(head);
  return match?.[1];
}

export function sameRefs(a: RefMap, b: RefMap): boolean {
  if (a.size !== b.size) return false;
  for (const [name, sha] of a) if (b.get(name) !== sha) return false;
  return true;
}

/**
 * The commit a working copy's HEAD names, read from its files (`.git/HEAD`, then the loose ref
 * or packed-refs): no process for a question this small. Undefined when `.git` is not a plain
 * directory or anything is unusual; callers then ask git.
 */
export async function readWorkingHead(dir: string): Promise<string | undefined> {
  const gitdir = join(dir, '.git');
  const head = (await readFile(join(gitdir, 'HEAD'), 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f]{40,64}$/.test(head)) return head;
  const ref = /^ref: (refs\/heads\/\S+)$/.exec(head)?.[1];
  if (ref === undefined) return undefined;
  const looseSha = (await readFile(join(gitdir, ref), 'utf8').catch(() => '')).trim();
  if (/^[0-9a-f]{40,64}$/.test(looseSha)) return looseSha;
  const packed = await readFile(join(gitdir, 'packed-refs'), 'utf8').catch(() => '');
  for (const line of packed.split('\n')) {
    const [sha, name] = line.split(' ');
    if (name === ref && sha && /^[0-9a-f]{40,64}$/.test(sha)) return sha;
  }
  return undefined;
}
