/**
 * The GitHub REST API, as much as jgo uses: one request function over Node's fetch, the zod
 * schemas of the responses jgo reads, and where the API and a repository's owner/name come from.
 * JGO_GITHUB_API_URL points it at GitHub Enterprise (`https://ghe.example.com/api/v3`).
 *
 * Every answer comes back with its status; mapping a status to jgo's error codes is the
 * caller's business. Only a request that got no answer throws (network_error, interrupted).
 * The token goes into one header and nowhere else: never a URL, a message or a log.
 */
import * as z from '../zod.js';
import { configOf, type Settings } from '../config.js';
import { EXIT, JgoError, UsageError, messageOf } from '../errors.js';
import { Redactor } from '../redact.js';
import { checkApiUrl, DEFAULT_API_URL } from '../authority.js';

export { checkApiUrl, DEFAULT_API_URL };

export const API_VERSION = '2022-11-28';
export const DEFAULT_TIMEOUT_MS = 30_000;

// --- The response shapes jgo reads (loose: GitHub sends much more) ---

export const PullRequestSchema = z.looseObject({
  number: z.number().check(z.int(), z.positive()),
  html_url: z.string().check(z.url()),
  state: z.optional(z.string()),
  draft: z.optional(z.boolean()),
});
export type PullRequestData = z.infer<typeof PullRequestSchema>;

export const PullRequestList = z.array(PullRequestSchema);

const Flag = z.optional(z.boolean());
const Text = z.optional(z.string());

export const RepositorySchema = z.looseObject({
  full_name: Text,
  default_branch: Text,
  private: Flag,
  /** Present when the request was authenticated: what the token may do. */
  permissions: z.optional(z.looseObject({ admin: Flag, maintain: Flag, push: Flag, triage: Flag, pull: Flag })),
});
export type RepositoryData = z.infer<typeof RepositorySchema>;

/** `{"message": "Validation Failed", "errors": [{"resource": …, "code": …, "message": …}]}` */
export const ErrorBodySchema = z.looseObject({
  message: Text,
  errors: z.optional(z.array(z.union([z.string(), z.looseObject({ resource: Text, field: Text, code: Text, message: Text })]))),
  documentation_url: Text,
});

/** GitHub's own words for a failed request: the message and each validation error, one line. */
export function githubMessage(body: unknown): string {
  const parsed = ErrorBodySchema.safeParse(body);
  if (!parsed.success) return typeof body === 'string' ? body.trim().slice(0, 200) : '';
  const parts: string[] = [];
  if (parsed.data.message) parts.push(parsed.data.message);
  for (const e of parsed.data.errors ?? []) {
    if (typeof e === 'string') parts.push(e);
    else if (e.message) parts.push(e.message);
    else if (e.field || e.code) parts.push(`${e.field ?? e.resource ?? 'field'} ${e.code ?? 'invalid'}`);
  }
  return parts.join(': ').replace(/\s+/g, ' ').slice(0, 500);
}

// --- Where things are ---

/**
 * JGO_GITHUB_API_URL (an https URL without credentials, or http to this machine's loopback),
 * else https://api.github.com. GITHUB_TOKEN goes to this origin and nowhere else.
 */
export function githubApiUrl(settings: Settings): string {
  return configOf(settings).JGO_GITHUB_API_URL;
}

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,99})$/;
const NAME = /^[A-Za-z0-9_.-]{1,100}$/;

export interface RepoName {
  owner: string;
  repo: string;
}

/**
 * Owner and name from a repository URL (`https://github.com/acme/widgets.git`, a GitHub
 * Enterprise URL whose web host is not the API's, or a deeper path: the last two segments)
 * or from `owner/repo`.
 */
export function repoFromUrl(repoUrl: string): RepoName {
  let path = repoUrl.trim();
  if (/^https?:\/\//i.test(path)) {
    try {
      path = new URL(path).pathname;
    } catch {
      path = '';
    }
  }
  const parts = path.split('/').filter(Boolean);
  const owner = parts.at(-2) ?? '';
  const repo = (parts.at(-1) ?? '').replace(/\.git$/, '');
  if (!OWNER.test(owner) || !NAME.test(repo) || repo === '.' || repo === '..') {
    throw new UsageError('bad_repo_url', `cannot tell owner/repo from ${JSON.stringify(repoUrl.slice(0, 200))}`, {
      hint: 'Use https://<host>/owner/repo(.git) or owner/repo.',
    });
  }
  return { owner, repo };
}

/** `/repos/acme/widgets` with each part escaped. */
export function repoPath({ owner, repo }: RepoName): string {
  return `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(repo)}`;
}

// --- Requests ---

export interface GitHubRequest {
  apiUrl: string;
  token: string;
  method: 'GET' | 'POST' | 'PATCH';
  /** From the API root, e.g. `/repos/acme/widgets/pulls`. */
  path: string;
  query?: Record<string, string>;
  body?: unknown;
}

export interface RequestOptions {
  signal?: AbortSignal | undefined;
  /** Per request; default 30 s. */
  timeoutMs?: number | undefined;
}

export interface GitHubResponse {
  status: number;
  headers: Headers;
  /** Parsed JSON, or the raw text when it was not JSON. */
  body: unknown;
}

function causeCode(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } }).cause;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && typeof cause.message === 'string') return cause.message;
  return messageOf(error);
}

/** Same-origin redirects followed (GitHub answers a renamed repository's old name with one). */
const MAX_REDIRECTS = 5;

/**
 * One request to the API, with the token, and every redirect followed by hand: a redirect to
 * another origin than `apiUrl`'s is refused (`redirect_refused`) without the token going there.
 */
export async function githubRequest(request: GitHubRequest, options: RequestOptions = {}): Promise<GitHubResponse> {
  const apiUrl = checkApiUrl(request.apiUrl);
  const origin = new URL(apiUrl).origin;
  let url = new URL(`${apiUrl}${request.path}`);
  for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
  if (url.origin !== origin) throw new JgoError('redirect_refused', `the GitHub API path ${JSON.stringify(request.path.slice(0, 100))} leaves ${origin}`, EXIT.failed);
  const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const timeout = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
  const headers: Record<string, string> = {
    Authorization: `Bearer ${request.token}`,
    Accept: 'application/vnd.github+json',
    'X-GitHub-Api-Version': API_VERSION,
    'User-Agent': 'jgo',
  };
  if (request.body !== undefined) headers['Content-Type'] = 'application/json';
  let method: string = request.method;
  let body = request.body === undefined ? undefined : JSON.stringify(request.body);
  let response: Response;
  let text: string;
  for (let hop = 0; ; hop++) {
    try {
      response = await fetch(url, { method, headers, body, redirect: 'manual', signal });
      text = await response.text();
    } catch (error) {
      throw unanswered(error, url, request.token, timeout.aborted, timeoutMs, options.signal);
    }
    const location = response.headers.get('location');
    if (![301, 302, 303, 307, 308].includes(response.status) || !location || hop === MAX_REDIRECTS) break;
    const next = new URL(location, url);
    if (next.origin !== origin) {
      throw new JgoError('redirect_refused', `the GitHub API at ${origin} redirected to ${next.origin}: not followed, so that GITHUB_TOKEN goes only to JGO_GITHUB_API_URL`, EXIT.failed, {
        hint: 'Check JGO_GITHUB_API_URL: it should be the API itself (https://api.github.com, or https://<host>/api/v3 for GitHub Enterprise).',
      });
    }
    if (response.status !== 307 && response.status !== 308 && method !== 'GET') {
      method = 'GET';
      body = undefined;
      delete headers['Content-Type'];
    }
    url = next;
  }
  let parsed: unknown = text;
  try {
    parsed = text === '' ? undefined : JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A request that got no answer: interrupted, or network_error, with the token in no message. */
function unanswered(error: unknown, url: URL, token: string, timedOut: boolean, timeoutMs: number, outer: AbortSignal | undefined): JgoError {
  if (outer?.aborted) {
    const reason: unknown = outer.reason;
    return reason instanceof JgoError ? reason : new JgoError('interrupted', 'stopped by a signal', EXIT.failed);
  }
  // Whatever the failure says, it must not carry the token (it never should; this makes sure).
  const why = timedOut ? `no answer in ${Math.round(timeoutMs / 1000)} s` : new Redactor([token]).text(causeCode(error));
  return new JgoError('network_error', `cannot reach the GitHub API at ${url.host}: ${why}`, EXIT.failed, {
    hint: 'Check the network, and JGO_GITHUB_API_URL for GitHub Enterprise (https://<host>/api/v3).',
  });
}

/** A 403 that is GitHub's rate limit rather than a missing permission. */
export function rateLimited(response: GitHubResponse): boolean {
  return (response.status === 403 || response.status === 429) &&
    (response.headers.get('x-ratelimit-remaining') === '0' || /rate limit/i.test(githubMessage(response.body)));
}
