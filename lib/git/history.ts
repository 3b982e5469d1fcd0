/**
 * Reading history in a working copy with git: the commits since the base, the paths they
 * touched, a file as it was at a commit, and HEAD. What ship needs to resume, verify and scan.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JgoError, EXIT } from '../errors.js';
import { runGit, runGitBytes } from './native.js';
import { readWorkingHead } from './refs.js';

export interface CommitInfo {
  sha: string;
  subject: string;
}

async function output(args: string[], dir: string, env?: NodeJS.ProcessEnv): Promise<string> {
  const result = await runGit(args, { cwd: dir, env });
  if (result.code !== 0) throw new JgoError('git_failed', `git ${args[0]} failed: ${result.stderr.trim()}`, EXIT.failed);
  return result.stdout;
}

export async function headSha(dir: string, env?: NodeJS.ProcessEnv): Promise<string> {
  return (await output(['rev-parse', 'HEAD'], dir, env)).trim();
}

/** Commits reachable from HEAD but not from `base`, oldest first. */
export async function commitsSince(dir: string, base: string, env?: NodeJS.ProcessEnv): Promise<CommitInfo[]> {
  const out = await output(['log', '--reverse', '--format=%H%x00%s', `${base}..HEAD`], dir, env);
  return out
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const [sha = '', subject = ''] = line.split('\0');
      return { sha, subject };
    });
}

/** Paths that differ between `base` and HEAD. */
export async function pathsChangedSince(dir: string, base: string, env?: NodeJS.ProcessEnv): Promise<string[]> {
  // Nothing committed since the base (ship's first attempt): no diff to ask git for.
  if ((await readWorkingHead(dir)) === base) return [];
  const out = await output(['diff', '--name-only', '-z', '--no-renames', base, 'HEAD'], dir, env);
  return out.split('\0').filter(Boolean);
}

/** A file's text at a commit, or undefined when it did not exist there. */
export async function readFileAt(dir: string, commit: string, path: string, env?: NodeJS.ProcessEnv): Promise<string | undefined> {
  const result = await runGit(['cat-file', 'blob', `${commit}:${path}`], { cwd: dir, env });
  return result.code === 0 ? result.stdout : undefined;
}

/**
 * Several files' text at a commit, in one `git cat-file --batch` (not a process per file); a
 * path that did not exist there maps to undefined. A path with a line break, which the batch's
 * line-based input cannot name, is read on its own.
 */
export async function readFilesAt(dir: string, commit: string, paths: readonly string[], env?: NodeJS.ProcessEnv): Promise<Map<string, string | undefined>> {
  const files = new Map<string, string | undefined>();
  const batched = paths.filter((p) => !/[\r\n]/.test(p));
  for (const path of paths.filter((p) => /[\r\n]/.test(p))) files.set(path, await readFileAt(dir, commit, path, env));
  if (batched.length === 0) return files;
  const result = await runGitBytes(['cat-file', '--batch'], { cwd: dir, env, input: batched.map((p) => `${commit}:${p}\n`).join('') });
  if (result.code !== 0) throw new JgoError('git_failed', `git cat-file failed: ${result.stderr.trim()}`, EXIT.failed);
  const out = result.stdout;
  let at = 0;
  for (const path of batched) {
    const eol = out.indexOf(0x0a, at);
    if (eol < 0) break;
    const header = out.subarray(at, eol).toString('utf8');
    at = eol + 1;
    const m = /^[0-9a-f]+ (\w+) (\d+)$/.exec(header);
    if (!m) {
      files.set(path, undefined); // "<name> missing": not there at that commit
      continue;
    }
    const size = Number(m[2]);
    files.set(path, m[1] === 'blob' ? out.subarray(at, at + size).toString('utf8') : undefined);
    at += size + 1; // the content, then a line feed
  }
  return files;
}

/** A file's text in the working tree, or undefined when it is gone. */
export async function readWorkingFile(dir: string, path: string): Promise<string | undefined> {
  return readFile(join(dir, path), 'utf8').catch(() => undefined);
}
