/**
 * Commits and pushes from a working copy: exactly the paths given (additions, edits, deletions),
 * a message, an identity; a push that never forces and sends only what the remote lacks.
 */
import { JgoError, EXIT } from '../errors.js';
import type { EngineChooser } from './engine.js';
import { classifyGitFailure, runGit } from './native.js';
import { classifyIsoFailure, fs, iso, isoAuth } from './iso.js';
import type { GitCredentials } from './auth.js';
import type { Change } from './status.js';
import { readWorkingHead } from './refs.js';
import { pushWithPack, rejected, type PushTarget } from './push.js';

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
   * native git then commits exactly these paths in one process, `git commit --only`.
   */
  intended?: boolean;
}

/**
 * Puts the new (untracked) paths among `changes` in the index with intent to add (`git add -N`),
 * so that a later `git commit --only -- <paths>` can take them: one process per commit instead
 * of two (`add`, then `commit`). The content is still the working tree's at commit time, and
 * `git diff` shows the new files too. True when done (or nothing was needed); false when it
 * cannot be (isomorphic-git, or git refused), and commitChanges stages as before.
 */
export async function intendToAdd(dir: string, changes: Change[], engines: EngineChooser, env?: NodeJS.ProcessEnv): Promise<boolean> {
  if (engines.for('commit') !== 'native') return false;
  const added = changes.filter((c) => c.kind === 'added').map((c) => c.path);
  if (added.length === 0) return true;
  const result = await runGit(['add', '--intent-to-add', '--', ...added], { cwd: dir, env });
  return result.code === 0;
}

/** Stages exactly `changes` and commits them; returns the new commit's sha. */
export async function commitChanges(req: CommitRequest, engines: EngineChooser, env?: NodeJS.ProcessEnv): Promise<string> {
  if (req.changes.length === 0) throw new JgoError('nothing_to_commit', 'no paths to commit', EXIT.failed);
  if (engines.for('commit') === 'native') {
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
    // known to the index, --only commits exactly those paths as they are in the working tree
    // (edits, deletions, the new files added with intent), whatever else is staged.
    const only = req.intended ? ['--only', '--', ...paths] : [];
    const commit = await runGit(['commit', '--quiet', '--no-verify', '--no-gpg-sign', '--file=-', ...only], { ...base, config: once, input: req.message });
    if (commit.code !== 0) throw new JgoError('commit_failed', `git commit failed: ${(commit.stderr || commit.stdout).trim()}`, EXIT.failed);
    const written = await readWorkingHead(req.dir);
    if (written !== undefined) return written;
    const head = await runGit(['rev-parse', 'HEAD'], base);
    return head.stdout.trim();
  }
  const { git } = await iso();
  for (const change of req.changes) {
    if (change.from) await git.remove({ fs, dir: req.dir, filepath: change.from });
    if (change.kind === 'deleted') await git.remove({ fs, dir: req.dir, filepath: change.path });
    else await git.add({ fs, dir: req.dir, filepath: change.path });
  }
  const now = Math.floor(Date.now() / 1000);
  const who = { ...req.author, timestamp: now, timezoneOffset: 0 };
  return git.commit({ fs, dir: req.dir, message: req.message, author: who, committer: who });
}

export interface PushRequest {
  dir: string;
  url: string;
  branch: string;
  credentials: GitCredentials | undefined;
  /**
   * Negotiate with the remote what it has (default). When the caller has just seen that the
   * remote's base branch is still the commit the working copy started from, the refs the push
   * itself is shown already say so, and negotiating only costs a round trip.
   */
  negotiate?: boolean;
  /**
   * For the plain case (a new branch, `negotiate` false): the remote's receive-pack advertisement,
   * read ahead, and the commits the push goes from and to. The push is then jgo's own one POST
   * (push.ts); without them, or outside the plain case, `git push`.
   */
  ahead?: { target: Promise<PushTarget | undefined>; base: string; sha: string };
  /**
   * Called as the push goes out (jgo's own: once its pack is made, as the POST is sent), maybe
   * more than once: work to overlap with the remote's answer can start then.
   */
  sending?: () => void;
}

/** Pushes refs/heads/<branch> to the remote, never forcing. */
export async function pushBranch(req: PushRequest, engines: EngineChooser, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<void> {
  const ref = `refs/heads/${req.branch}`;
  if (engines.for('push') === 'native') {
    if (req.ahead && req.negotiate === false) {
      const target = await req.ahead.target;
      const pushed = target && (await pushWithPack({ dir: req.dir, url: req.url, branch: req.branch, sha: req.ahead.sha, base: req.ahead.base, credentials: req.credentials, ...(options.env ? { env: options.env } : {}), ...(options.signal ? { signal: options.signal } : {}), ...(req.sending ? { sending: req.sending } : {}) }, target));
      if (pushed) return;
    }
    req.sending?.();
    const result = await runGit(['push', '--quiet', '--porcelain', req.url, `${ref}:${ref}`], {
      cwd: req.dir,
      credentials: req.credentials,
      // Negotiate what the remote has: when its default branch moved while codex worked, a plain
      // push re-sends everything since the newest shared ref (3,375 objects instead of 15 in the
      // bench); negotiation sends only the new objects.
      config: [['push.negotiate', req.negotiate === false ? 'false' : 'true']],
      env: options.env,
      signal: options.signal,
    });
    if (result.code !== 0) throw classifyPushFailure(result.stderr + result.stdout, req);
    return;
  }
  const { git, http } = await iso();
  let result;
  req.sending?.();
  try {
    result = await git.push({ fs, http, dir: req.dir, url: req.url, ref, remoteRef: ref, force: false, ...isoAuth(req.url, req.credentials) });
  } catch (error) {
    const e = error as { code?: string };
    if (e.code === 'PushRejectedError') throw rejected(req.url, req.branch, 'the branch there has other history');
    throw classifyIsoFailure(error, req.url, req.credentials);
  }
  if (!result.ok) {
    const why = Object.values(result.refs ?? {}).find((r) => !r.ok)?.error ?? result.error ?? 'rejected';
    throw rejected(req.url, req.branch, String(why));
  }
}

function classifyPushFailure(text: string, req: PushRequest): JgoError {
  if (/\[rejected\]|non-fast-forward|fetch first|\[remote rejected\]|pre-receive hook declined/i.test(text)) {
    const reason = /\[(?:remote )?rejected\][^\n]*\(([^)]+)\)/.exec(text)?.[1] ?? 'the branch there has other history';
    return rejected(req.url, req.branch, reason);
  }
  return classifyGitFailure(text, req.url, req.credentials);
}
