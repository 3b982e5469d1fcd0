/**
 * What a token may do with a repository: GET /repos/{owner}/{repo}, whose `permissions`
 * (present on authenticated requests) say whether it can push. jgo doctor asks it for --repo.
 */
import { EXIT, JgoError, UsageError } from '../errors.js';
import { Redactor } from '../redact.js';
import { checkApiUrl, githubMessage, githubRequest, rateLimited, repoFromUrl, repoPath, RepositorySchema, type RequestOptions } from './api.js';

export interface RepoAccess {
  /** owner/repo as GitHub spells it. */
  fullName: string;
  defaultBranch: string | undefined;
  /** Undefined when GitHub did not say (no `permissions` in its answer). */
  push: boolean | undefined;
  pull: boolean | undefined;
}

export async function repoAccess(
  input: { apiUrl: string; token: string | undefined; tokenFrom?: string; repoUrl: string },
  options: RequestOptions = {},
): Promise<RepoAccess> {
  const from = input.tokenFrom ?? 'GITHUB_TOKEN';
  if (input.token === undefined || input.token === '') {
    throw new UsageError('github_needs_token', 'asking GitHub about a repository needs GITHUB_TOKEN (or GH_TOKEN)', {
      hint: 'Set GITHUB_TOKEN to a token with access to the repository.',
    });
  }
  const apiUrl = checkApiUrl(input.apiUrl, 'JGO_GITHUB_API_URL');
  const name = repoFromUrl(input.repoUrl);
  const response = await githubRequest({ apiUrl, token: input.token, method: 'GET', path: repoPath(name) }, options);
  const said = new Redactor([input.token]).text(githubMessage(response.body)) || `HTTP ${response.status}`;
  const full = `${name.owner}/${name.repo}`;
  if (response.status === 200) {
    const repo = RepositorySchema.safeParse(response.body);
    if (!repo.success) throw new JgoError('github_failed', `GitHub's answer for ${full} is not a repository`, EXIT.failed);
    return {
      fullName: repo.data.full_name ?? full,
      defaultBranch: repo.data.default_branch,
      push: repo.data.permissions?.push,
      pull: repo.data.permissions?.pull,
    };
  }
  if (rateLimited(response)) throw new JgoError('github_failed', `GitHub rate-limited the request for ${full}: ${said}`, EXIT.failed, { hint: 'Wait a little and try again.' });
  if (response.status === 401 || response.status === 403) {
    throw new JgoError('github_auth_failed', `GitHub refused ${from} for ${full} (HTTP ${response.status}): ${said}`, EXIT.failed, {
      hint: `Check ${from}: it may be expired or revoked, or lack access to ${full}.`,
    });
  }
  if (response.status === 404) {
    throw new JgoError('repo_not_found', `GitHub has no repository ${full} that ${from} can see (HTTP 404)`, EXIT.failed, {
      hint: `Check the name, and that ${from} has access to it (a fine-grained token lists its repositories).`,
    });
  }
  throw new JgoError('github_failed', `GitHub failed the request for ${full} (HTTP ${response.status}): ${said}`, EXIT.failed);
}
