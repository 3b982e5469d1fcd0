/**
 * Reading history in a working copy: the commits since the base, the paths they touched, a file
 * as it was at a commit, and HEAD. What ship needs to resume, verify and scan, on either engine.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JgoError, EXIT } from '../errors.js';
import type { EngineChooser } from './engine.js';
import { runGit } from './native.js';
import { fs, iso } from './iso.js';
import { readWorkingHead } from './refs.js';

export interface CommitInfo {
  sha: string;
  subject: string;
}

async function native(args: string[], dir: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await runGit(args, { cwd: dir, env });
  if (result.code !== 0) throw new JgoError('git_failed', `git ${args[0]} failed: ${result.stderr.trim()}`, EXIT.failed);
  return result.stdout;
}

export async function headSha(dir: string, engines: EngineChooser, env?: NodeJS.ProcessEnv): Promise<string> {
  if (engines.for('commit') === 'native') return (await native(['rev-parse', 'HEAD'], dir, env)).trim();
  const { git } = await iso();
  return git.resolveRef({ fs, dir, ref: 'HEAD' });
}

/** Commits reachable from HEAD but not from `base`, oldest first. */
export async function commitsSince(dir: string, base: string, engines: EngineChooser, env?: NodeJS.ProcessEnv): Promise<CommitInfo[]> {
  if (engines.for('commit') === 'native') {
    const out = await native(['log', '--reverse', '--format=%H%x00%s', `${base}..HEAD`], dir, env);
    return out
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [sha = '', subject = ''] = line.split('\0');
        return { sha, subject };
      });
  }
  const { git } = await iso();
  const commits: CommitInfo[] = [];
  for (const entry of await git.log({ fs, dir, ref: 'HEAD' })) {
    if (entry.oid === base) break;
    commits.push({ sha: entry.oid, subject: entry.commit.message.split('\n')[0] ?? '' });
  }
  return commits.reverse();
}

/** Paths that differ between `base` and HEAD. */
export async function pathsChangedSince(dir: string, base: string, engines: EngineChooser, env?: NodeJS.ProcessEnv): Promise<string[]> {
  if (engines.for('commit') === 'native') {
    // Nothing committed since the base (ship's first attempt): no diff to ask git for.
    if ((await readWorkingHead(dir)) === base) return [];
    const out = await native(['diff', '--name-only', '-z', '--no-renames', base, 'HEAD'], dir, env);
    return out.split('\0').filter(Boolean);
  }
  const { git } = await iso();
  const head = await git.resolveRef({ fs, dir, ref: 'HEAD' });
  if (head === base) return [];
  const changed: string[] = [];
  await git.walk({
    fs,
    dir,
    trees: [git.TREE({ ref: base }), git.TREE({ ref: head })],
    map: async (path, entries) => {
      const [a, b] = entries ?? [];
      if (path === '.') return undefined;
      const [ta, tb] = await Promise.all([a?.type(), b?.type()]);
      if (ta === 'tree' || tb === 'tree') {
        // Identical subtrees are skipped whole.
        if (a && b && (await a.oid()) === (await b.oid())) return null;
        return undefined;
      }
      const [oa, ob] = await Promise.all([a?.oid(), b?.oid()]);
      if (oa !== ob) changed.push(path);
      return undefined;
    },
  });
  return changed.sort();
}

/** A file's text at a commit, or undefined when it did not exist there. */
export async function readFileAt(dir: string, commit: string, path: string, engines: EngineChooser, env?: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (engines.for('commit') === 'native') {
    const result = await runGit(['cat-file', 'blob', `${commit}:${path}`], { cwd: dir, env });
    return result.code === 0 ? result.stdout : undefined;
  }
  const { git } = await iso();
  try {
    const { blob } = await git.readBlob({ fs, dir, oid: commit, filepath: path });
    return Buffer.from(blob).toString('utf8');
  } catch {
    return undefined;
  }
}

/** A file's text in the working tree, or undefined when it is gone. */
export async function readWorkingFile(dir: string, path: string): Promise<string | undefined> {
  return readFile(join(dir, path), 'utf8').catch(() => undefined);
}
