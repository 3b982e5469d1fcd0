/**
 * What changed in a working copy: paths relative to its root, untracked files included,
 * ignored files not. Native `git status` takes 0.03 s where a full isomorphic-git statusMatrix
 * scan of a vite-sized tree takes about 2 s and 280 MiB, so git does it when present; the
 * isomorphic path can be narrowed to known paths.
 */
import { JgoError, EXIT } from '../errors.js';
import type { EngineChooser } from './engine.js';
import { runGit } from './native.js';
import { fs, iso } from './iso.js';

export type ChangeKind = 'added' | 'modified' | 'deleted' | 'renamed';

export interface Change {
  path: string;
  kind: ChangeKind;
  /** For a rename detected by git: where the file was. */
  from?: string;
}

/** Parses `git status --porcelain=v1 -z` (rename entries carry the old path in the next field). */
export function parsePorcelainZ(text: string): Change[] {
  const fields = text.split('\0');
  const changes: Change[] = [];
  for (let i = 0; i < fields.length; i++) {
    const entry = fields[i] ?? '';
    if (entry.length < 4) continue;
    const x = entry[0];
    const y = entry[1];
    const path = entry.slice(3);
    if (x === 'R' || x === 'C') {
      changes.push({ path, kind: 'renamed', from: fields[++i] ?? '' });
    } else if (x === '?' && y === '?') {
      changes.push({ path, kind: 'added' });
    } else if (x === 'D' || y === 'D') {
      changes.push({ path, kind: 'deleted' });
    } else if (x === 'A' || y === 'A') {
      // ' A': added with intent (git add -N), as jgo-ship does for new files while codex plans.
      changes.push({ path, kind: 'added' });
    } else {
      changes.push({ path, kind: 'modified' });
    }
  }
  return changes;
}

export async function changedPaths(dir: string, engines: EngineChooser, options: { paths?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Change[]> {
  if (engines.for('changedPaths') === 'native') {
    const args = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames'];
    if (options.paths) args.push('--', ...options.paths);
    const result = await runGit(args, { cwd: dir, env: options.env });
    if (result.code !== 0) throw new JgoError('git_failed', `git status failed: ${result.stderr.trim()}`, EXIT.failed);
    return parsePorcelainZ(result.stdout).sort((a, b) => (a.path < b.path ? -1 : 1));
  }
  const { git } = await iso();
  const matrix = await git.statusMatrix({ fs, dir, ...(options.paths ? { filepaths: options.paths } : {}) });
  const changes: Change[] = [];
  for (const [path, head, workdir] of matrix) {
    if (head === 0 && workdir === 2) changes.push({ path, kind: 'added' });
    else if (head === 1 && workdir === 0) changes.push({ path, kind: 'deleted' });
    else if (head === 1 && workdir === 2) changes.push({ path, kind: 'modified' });
  }
  return changes.sort((a, b) => (a.path < b.path ? -1 : 1));
}
