/**
 * What changed in a working copy, as `git status` reports it: paths relative to its root,
 * untracked files included, ignored files only when asked for (jgo-codex's secret scan reads them).
 */
import { JgoError, EXIT } from '../errors.js';
import { runGit } from './native.js';

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
    if (x === '!' && y === '!') continue; // ignored: workingStatus's, never a change
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

/**
 * Whether `git status --porcelain -z` output shows anything in the index that HEAD does not have
 * (its first column). A path added with intent (` A`) is not staged: git commits no content for it.
 */
export function anyStaged(text: string): boolean {
  // A rename's old path (the field after its entry) is never looked at: the rename is staged.
  return text.split('\0').some((entry) => entry.length >= 4 && !' ?!'.includes(entry[0] ?? ' '));
}

/** The changes in the working copy at `dir`, sorted by path; `paths` narrows them to those paths. */
export async function changedPaths(dir: string, options: { paths?: string[]; env?: NodeJS.ProcessEnv } = {}): Promise<Change[]> {
  return (await workingStatus(dir, options)).changes;
}

/**
 * One `git status` of the working copy at `dir`: its changes, sorted by path, and with `ignored`
 * the ignored paths as well (an ignored directory as `dir/`, its files not listed).
 */
export async function workingStatus(
  dir: string,
  options: { paths?: string[]; env?: NodeJS.ProcessEnv; ignored?: boolean } = {},
): Promise<{ changes: Change[]; ignored: string[]; staged: boolean }> {
  const args = ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', ...(options.ignored ? ['--ignored=matching'] : [])];
  if (options.paths) args.push('--', ...options.paths);
  const result = await runGit(args, { cwd: dir, env: options.env });
  if (result.code !== 0) throw new JgoError('git_failed', `git status failed: ${result.stderr.trim()}`, EXIT.failed);
  const ignored = options.ignored ? result.stdout.split('\0').filter((e) => e.startsWith('!! ')).map((e) => e.slice(3)) : [];
  return { changes: parsePorcelainZ(result.stdout).sort((a, b) => (a.path < b.path ? -1 : 1)), ignored, staged: anyStaged(result.stdout) };
}
