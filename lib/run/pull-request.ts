/**
 * `jgo run --continue <pull request>`: the pull request, read from the GitHub API, so that its
 * branch is known and a closed one is refused before anything runs. The URL's owner/repo (or, for
 * a number alone, the repository the request names) is asked of JGO_GITHUB_API_URL, the one API
 * the token goes to, and resolved against JGO_GIT_BASE_URL like any owner/repo.
 */
import { authorityOf, configOf, type Settings } from '../config.js';
import { UsageError } from '../errors.js';
import { repoFromUrl } from '../github/api.js';
import { getPullRequest } from '../github/pr-followup.js';
import { checkRepoAllowed } from '../authority.js';
import { findRepoRefs, resolveRepoRef } from '../repo-ref.js';
import type { Repo } from '../envelope.js';
import type { PullRequestInfo } from './thread.js';

export async function lookupPullRequest(settings: Settings, request: string, number: number, url: string | undefined, signal?: AbortSignal): Promise<PullRequestInfo & { repo: Repo }> {
  const config = configOf(settings);
  const authority = authorityOf(settings);
  const named = url === undefined ? findRepoRefs(request)[0] : (() => {
    const { owner, repo } = repoFromUrl(url);
    return `${owner}/${repo}`;
  })();
  if (named === undefined) {
    throw new UsageError('bad_flags', `--continue ${number} names a pull request by number: the request must name its repository`, {
      hint: 'Name the repository in the request (jgo run --continue 7 "acme/widgets also …"), or give the pull request\'s URL.',
    });
  }
  const repo = resolveRepoRef(named, authority.baseUrl);
  checkRepoAllowed(authority, repo.url);
  const pr = await getPullRequest(
    { apiUrl: config.JGO_GITHUB_API_URL, token: config.token, tokenFrom: config.tokenFrom, repoUrl: repo.url, number },
    { signal },
  );
  return { ...pr, repo: { ref: repo.ref, url: repo.url } };
}
