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
import type { Settings } from '../config.js';
import { EXIT, JgoError, UsageError, messageOf } from '../errors.js';
import { Redactor } from '../redact.js';
import { nodeFetch } from '../http-fetch.js';

export const DEFAULT_API_URL = 'https://api.github.com';
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

/** JGO_GITHUB_API_URL (an http(s) URL without credentials), else https://api.github.com. */
export function githubApiUrl(settings: Settings): string {
  const raw = settings.get('JGO_GITHUB_API_URL');
  return checkApiUrl(raw ?? DEFAULT_API_URL, 'JGO_GITHUB_API_URL');
}

export function checkApiUrl(raw: string, name = 'apiUrl'): string {
  const value = raw.trim().replace(/\/+$/, '');
  let url: URL | undefined;
  try {
    url = new URL(value);
  } catch {
    url = undefined;
  }
  if (!url || !/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '' || url.search !== '') {
    throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not an http(s) URL without credentials`, {
      hint: 'For example https://api.github.com, or https://ghe.example.com/api/v3 for GitHub Enterprise.',
    });
  }
  return value;
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

export async function githubRequest(request: GitHubRequest, options: RequestOptions = {}): Promise<GitHubResponse> {
  const url = new URL(`${request.apiUrl}${request.path}`);
  for (const [key, value] of Object.entries(request.query ?? {})) url.searchParams.set(key, value);
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
  let response: Response;
  let text: string;
  try {
    response = await nodeFetch(url, {
      method: request.method,
      headers,
      body: request.body === undefined ? undefined : JSON.stringify(request.body),
      redirect: 'follow',
      signal,
    });
    text = await response.text();
  } catch (error) {
    if (options.signal?.aborted) {
      const reason: unknown = options.signal.reason;
      throw reason instanceof JgoError ? reason : new JgoError('interrupted', 'stopped by a signal', EXIT.failed);
    }
    // Whatever the failure says, it must not carry the token (it never should; this makes sure).
    const redact = new Redactor([request.token]);
    const why = timeout.aborted ? `no answer in ${Math.round(timeoutMs / 1000)} s` : redact.text(causeCode(error));
    throw new JgoError('network_error', `cannot reach the GitHub API at ${url.host}: ${why}`, EXIT.failed, {
      hint: 'Check the network, and JGO_GITHUB_API_URL for GitHub Enterprise (https://<host>/api/v3).',
    });
  }
  let body: unknown = text;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    /* keep the text */
  }
  return { status: response.status, headers: response.headers, body };
}

/** A 403 that is GitHub's rate limit rather than a missing permission. */
export function rateLimited(response: GitHubResponse): boolean {
  return (response.status === 403 || response.status === 429) &&
    (response.headers.get('x-ratelimit-remaining') === '0' || /rate limit/i.test(githubMessage(response.body)));
}
