/**
 * isomorphic-git, loaded on first use, with the node fs and HTTP client, credentials through
 * its auth callback, and its errors mapped to the git layer's stable codes.
 */
import * as fs from 'node:fs';
import type { AuthCallback, HttpClient } from 'isomorphic-git';
import { JgoError, EXIT, messageOf } from '../errors.js';
import { authFailed } from './native.js';
import { TOKEN_USER, type GitCredentials } from './auth.js';
import { trace } from '../trace.js';

export type Iso = typeof import('isomorphic-git');

let loaded: Promise<{ git: Iso; http: HttpClient }> | undefined;
let transport: Promise<HttpClient> | undefined;

/** One import per process, shared by every operation. */
export function iso(): Promise<{ git: Iso; http: HttpClient }> {
  loaded ??= Promise.all([import('isomorphic-git'), isoHttp()]).then(([git, http]) => {
    trace('isomorphic-git loaded');
    return { git: git.default, http };
  });
  return loaded;
}

/**
 * isomorphic-git's HTTP client alone. Evaluating isomorphic-git itself takes 20-30 ms of a
 * process's CPU; reading a remote's refs (lsrefs.ts) needs only the transport.
 */
export function isoHttp(): Promise<HttpClient> {
  transport ??= import('isomorphic-git/http/node').then((http) => http.default);
  return transport;
}

export { fs };

/** onAuth/onAuthFailure for isomorphic-git: the token once; a refusal stops at once. */
export function isoAuth(url: string, credentials: GitCredentials | undefined): { onAuth?: AuthCallback; onAuthFailure: () => never } {
  return {
    ...(credentials ? { onAuth: () => ({ username: TOKEN_USER, password: credentials.token }) } : {}),
    onAuthFailure: () => {
      throw authFailed(url, credentials);
    },
  };
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
