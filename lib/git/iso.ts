/**
 * isomorphic-git, with its HTTP client for Node, the token in a header for the hosts that get it,
 * and its errors mapped to the git layer's stable codes. jgo uses it for one thing, a remote's
 * refs (remote.ts): an HTTP request in-process where git would be a process. Imported by the
 * processes that read a remote (jgo-sync, jgo-ship) as they start, while the stage before them
 * still works.
 */
import git, { type HttpClient } from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { JgoError, EXIT, messageOf } from '../errors.js';
import { authFailed } from './native.js';
import { credentialsFor, TOKEN_USER, type GitCredentials } from './auth.js';

export { git, http };

/**
 * The token for isomorphic-git, as a header on every request to `url` (so a private repository
 * costs no 401 round trip), and only when `url` is one of the token's origins. isomorphic-git's
 * HTTP client drops the header on a redirect to another origin. A refusal stops at once.
 */
export function isoAuth(url: string, credentials: GitCredentials | undefined): { headers: Record<string, string> } {
  const allowed = credentialsFor(credentials, url);
  // A 401 then ends the operation (no onAuth to ask again) and is classified as auth_failed.
  return { headers: allowed ? { Authorization: `Basic ${Buffer.from(`${TOKEN_USER}:${allowed.token}`).toString('base64')}` } : {} };
}

/** Maps an isomorphic-git failure of a network operation to a stable code. */
export function classifyIsoFailure(error: unknown, url: string, credentials: GitCredentials | undefined): JgoError {
  if (error instanceof JgoError) return error;
  const e = error as { code?: string; data?: { statusCode?: number }; caller?: string };
  const status = e.data?.statusCode;
  if (status === 401 || status === 403) return authFailed(url, credentials);
  if (status === 404) {
    return new JgoError('repo_not_found', `repository not found: ${url}`, EXIT.failed, {
      hint: credentials ? `Check the name, and that ${credentials.from} can read it.` : 'Check the name; a private repository needs GITHUB_TOKEN.',
    });
  }
  const text = messageOf(error);
  if (/ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNRESET|EHOSTUNREACH|ENETUNREACH|socket hang up/.test(`${e.code ?? ''} ${text}`)) {
    return new JgoError('network_error', `cannot reach ${new URL(url).host}: ${text}`, EXIT.failed, {
      hint: 'Check the network and JGO_GIT_BASE_URL.',
    });
  }
  if (typeof status === 'number') return new JgoError('git_failed', `the git server answered HTTP ${status} for ${url}`, EXIT.failed);
  return new JgoError('git_failed', `git failed: ${text}`, EXIT.failed);
}
