/**
 * A follow-up's commits onto a branch that moved on the remote while codex worked (someone
 * pushed to it): the remote's branch is fetched into the working copy, and the run's commits
 * are replayed on it with git's own rebase. A replay that does not apply cleanly is undone, and
 * the working copy is left as it was: nothing is forced, nothing of theirs is lost.
 */
import { EXIT, JgoError } from '../errors.js';
import { credentialsFor, type GitCredentials } from './auth.js';
import type { Identity } from './commit.js';
import { classifyGitFailure, runGit } from './native.js';

export interface RebaseRequest {
  dir: string;
  url: string;
  branch: string;
  /** Where the run's own commits begin: only base..HEAD is replayed, whatever the remote rewrote. */
  base: string;
  /** The committer of the replayed commits (their authors stay). */
  committer: Identity;
  credentials: GitCredentials | undefined;
}

/**
 * Replays the run's commits (base..HEAD) onto the remote's `branch`; the remote commit they now
 * follow. `--onto`: a branch someone rewrote (force-pushed) gets the run's commits alone, not
 * the old history they were made on.
 */
export async function rebaseOntoRemote(req: RebaseRequest, options: { env?: NodeJS.ProcessEnv; signal?: AbortSignal } = {}): Promise<string> {
  const ref = `refs/heads/${req.branch}`;
  const credentials = credentialsFor(req.credentials, req.url);
  const here = { cwd: req.dir, env: options.env, signal: options.signal };
  const fetched = await runGit(['fetch', '--quiet', '--no-tags', '--no-write-fetch-head', req.url, `+${ref}:refs/jgo/remote`], { ...here, credentials });
  if (fetched.code !== 0) throw classifyGitFailure(fetched.stderr, req.url, credentials);
  const onto = (await runGit(['rev-parse', '--verify', 'refs/jgo/remote^{commit}'], here)).stdout.trim();
  // No token here: the replay needs none, so nothing the agent planted in .git can see one.
  const identity: Array<[string, string]> = [['user.name', req.committer.name], ['user.email', req.committer.email], ['maintenance.auto', 'false'], ['rebase.autoStash', 'false']];
  const rebase = await runGit(['rebase', '--quiet', '--no-autosquash', '--no-update-refs', '--onto', onto, req.base], { ...here, config: identity });
  await runGit(['update-ref', '-d', 'refs/jgo/remote'], here);
  if (rebase.code !== 0) {
    await runGit(['rebase', '--abort'], here);
    const conflict = /CONFLICT|could not apply|conflict/i.test(rebase.stdout + rebase.stderr);
    throw new JgoError('push_rejected', `${req.branch} moved on the remote while codex worked, and this run's commits ${conflict ? 'conflict with what was pushed there' : 'could not be replayed on it'}`, EXIT.failed, {
      hint: 'Nothing was pushed, nothing was forced. Run the follow-up again: it starts from the branch as it is now.',
    });
  }
  return onto;
}
