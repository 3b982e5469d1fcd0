/**
 * Commits and pushes from a working copy with git: exactly the paths given (additions, edits,
 * deletions), a message, an identity; a push that never forces and sends only what the remote lacks.
 */
import { JgoError, EXIT } from '../errors.js';
import { classifyGitFailure, runGit } from './native.js';
import { credentialsFor, type GitCredentials } from './auth.js';
import type { Change } from './status.js';
import { readWorkingHead } from './refs.js';

export interface Identity {
  name: string;
  email: string;
}

export interface CommitRequest {
  dir: string;
  message: string;
  changes: Change[];
  author: Identity;
  /**
   * Every new path among `changes` is already in the index with intent to add (intendToAdd):
   * git then stages and commits exactly these paths in one process, `git commit --include`.
   */
  intended?: boolean;
}

/**
 * Puts the new (untracked) paths among `changes` in the index with intent to add (`git add -N`),
 * so that a later `git commit --include -- <paths>` can take them: one process per commit instead
 * of two (`add`, then `commit`). The content is still the working tree's at commit time, and
 * `git diff` shows the new files too. True when done (or nothing was needed); false when git
 * refused, and commitChanges then stages the paths itself.
 */
export async function intendToAdd(dir: string, changes: Change[], env?: NodeJS.ProcessEnv): Promise<boolean> {
  const added = changes.filter((c) => c.kind === 'added').map((c) => c.path);
  if (added.length === 0) return true;
  const result = await runGit(['add', '--intent-to-add', '--', ...added], { cwd: dir, env });
  return result.code === 0;
}

/**
 * Unstages everything (`git reset`, the working tree untouched), so that the index is HEAD's but
 * for paths added with intent: what commitChanges expects.
 */
export async function unstageAll(dir: string, env?: NodeJS.ProcessEnv): Promise<void> {
  const result = await runGit(['reset', '--quiet'], { cwd: dir, env });
  if (result.code !== 0) throw new JgoError('commit_failed', `git reset failed: ${result.stderr.trim()}`, EXIT.failed);
}

/**
 * Stages exactly `changes` and commits them; returns the new commit's sha. The index must hold
 * nothing staged but paths added with intent (unstageAll), or that would be committed too.
 */
export async function commitChanges(req: CommitRequest, env?: NodeJS.ProcessEnv): Promise<string> {
  if (req.changes.length === 0) throw new JgoError('nothing_to_commit', 'no paths to commit', EXIT.failed);
  // Author and committer through config for this call: jgo's git ignores the user's own.
  const identity: Array<[string, string]> = [
    ['user.name', req.author.name],
    ['user.email', req.author.email],
  ];
  const base = { cwd: req.dir, env, config: identity };
  // A working copy lives for one run: the `git maintenance run --auto` that every commit
  // starts afterwards is a process for nothing.
  const once: Array<[string, string]> = [...identity, ['maintenance.auto', 'false']];
  const paths = req.changes.flatMap((c) => (c.from ? [c.from, c.path] : [c.path]));
  if (!req.intended) {
    // -A on explicit paths stages additions, edits and deletions of those paths and nothing else.
    const add = await runGit(['add', '-A', '--', ...paths], base);
    if (add.code !== 0) throw new JgoError('commit_failed', `git add failed: ${add.stderr.trim()}`, EXIT.failed);
  }
  // The message goes on stdin: no quoting, no length limit, nothing in ps. With every path
  // known to the index, --include stages those paths as they are in the working tree (edits,
  // deletions, the new files added with intent) and commits the index. Not --only: that builds a
  // second index from HEAD's whole tree, several times the time and memory on a big tree.
  const include = req.intended ? ['--include', '--', ...paths] : [];
  const commit = await runGit(['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--file=-', ...include], { ...base, config: once, input: req.message });
  if (commit.code !== 0) throw new JgoError('commit_failed', `git commit failed: ${(commit.stderr || commit.stdout).trim()}`, EXIT.failed);
  const written = await readWorkingHead(req.dir);
  if (written !== undefined) return written;
  const head = await runGit(['rev-parse', 'HEAD'], base);
  return head.stdout.trim();
}

export interface PushRequest {
  dir: string;
  url: string;
  branch: string;
  /** The token, sent by git's credential helper only if `url` is one of its origins. */
  credentials: GitCredentials | undefined;
}

/**
 * Pushes refs/heads/<branch> to the remote with `git push`, never forcing. The push negotiates
 * what the remote has (push.negotiate): when the remote's default branch moved while codex
 * worked, a plain push re-sends everything since the newest ref both sides know (3,375 objects
 * instead of 15 in the bench); negotiated, only the new objects go.
 */
export async function pushBranch(req: PushRequest, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<void> {
  const ref = `refs/heads/${req.branch}`;
  const credentials = credentialsFor(req.credentials, req.url);
  const result = await runGit(['push', '--quiet', '--porcelain', req.url, `${ref}:${ref}`], {
    cwd: req.dir,
    credentials,
    config: [['push.negotiate', 'true']],
    env: options.env,
    signal: options.signal,
  });
  if (result.code !== 0) throw classifyPushFailure(result.stderr + result.stdout, req.url, req.branch, credentials);
}

function classifyPushFailure(text: string, url: string, branch: string, credentials: GitCredentials | undefined): JgoError {
  if (/\[rejected\]|non-fast-forward|fetch first|\[remote rejected\]|pre-receive hook declined/i.test(text)) {
    const reason = /\[(?:remote )?rejected\][^\n]*\(([^)]+)\)/.exec(text)?.[1] ?? 'the branch there has other history';
    return rejected(url, branch, reason);
  }
  return classifyGitFailure(text, url, credentials);
}

export function rejected(url: string, branch: string, why: string): JgoError {
  return new JgoError('push_rejected', `${new URL(url).host} rejected the push of ${branch}: ${why}`, EXIT.failed, {
    hint: 'jgo never forces a push; the working copy and its commits are kept, so run jgo-ship again once the cause is fixed.',
  });
}
