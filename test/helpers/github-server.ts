/**
 * A loopback fake of the GitHub REST endpoints jgo uses, answering as GitHub does (status codes,
 * JSON shapes, error bodies), and recording every request so tests can check what jgo sent:
 *
 *   GET  /repos/{owner}/{repo}                  the repository, with `permissions` for the token
 *   GET  /repos/{owner}/{repo}/pulls?head=&state=
 *   POST /repos/{owner}/{repo}/pulls            {title, head, base, body?, draft?}
 *   GET  /repos/{owner}/{repo}/pulls/{number}
 *   POST /repos/{owner}/{repo}/issues/{number}/comments {body}
 *
 * The same routes answer under /api/v3 (GitHub Enterprise). Every request must carry
 * `Authorization: Bearer <token>`; anything else gets GitHub's 401. Tokens are compared, never
 * recorded: a recorded request's headers hold `authorization: "Bearer [token]"` when it matched.
 */
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface FakeRepo {
  /** What the token may do; GitHub sends this object on authenticated requests. */
  permissions?: { admin: boolean; maintain?: boolean; push: boolean; triage?: boolean; pull: boolean };
  defaultBranch?: string;
  private?: boolean;
  /** Branches that exist; a head or base outside them is refused (422). Default: any. */
  branches?: string[];
  /** Branches with no commits beyond the base: POST answers "No commits between …" (422). */
  empty?: string[];
  /** Drafts are refused (private repositories on free plans). */
  noDrafts?: boolean;
}

export interface FakePull {
  number: number;
  title: string;
  body: string | null;
  head: string;
  base: string;
  draft: boolean;
  state: 'open' | 'closed';
  /** Closed by a merge. */
  merged?: boolean;
  /** The repository the head branch is in, when it is a fork's (owner/repo). */
  headRepo?: string;
  owner: string;
  repo: string;
}

export interface FakeComment {
  owner: string;
  repo: string;
  number: number;
  body: string;
}

export interface GitHubRequestRecord {
  method: string;
  path: string;
  query: Record<string, string>;
  headers: IncomingMessage['headers'];
  body: unknown;
  /** Whether the Authorization header was `Bearer <the token>`. */
  authorized: boolean;
}

export interface CannedReply {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export interface GitHubServer {
  /** The API root, as JGO_GITHUB_API_URL takes it (no trailing slash). */
  url: string;
  /** The web host pull request URLs point at. */
  webUrl: string;
  requests: GitHubRequestRecord[];
  pulls: FakePull[];
  /** Comments made on pull requests, oldest first. */
  comments: FakeComment[];
  /** Answer the next request (any route, after the auth check unless `beforeAuth`) with this. */
  replyNext(reply: CannedReply, options?: { beforeAuth?: boolean }): void;
  close(): Promise<void>;
}

export interface GitHubServerOptions {
  token: string;
  repos: Record<string, FakeRepo>;
  /** Pull requests that exist before the test starts. */
  pulls?: Array<Omit<FakePull, 'number'> & { number?: number }>;
}

const DOCS = 'https://docs.github.com/rest';

export const githubErrors = {
  badCredentials: (): CannedReply => ({ status: 401, body: { message: 'Bad credentials', documentation_url: DOCS, status: '401' } }),
  notAccessible: (): CannedReply => ({
    status: 403,
    body: { message: 'Resource not accessible by personal access token', documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`, status: '403' },
  }),
  rateLimited: (): CannedReply => ({
    status: 403,
    headers: { 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': String(Math.floor(Date.now() / 1000) + 600) },
    body: { message: 'API rate limit exceeded for user ID 1.', documentation_url: `${DOCS}/overview/rate-limits-for-the-rest-api`, status: '403' },
  }),
  validation: (message: string): CannedReply => ({
    status: 422,
    body: { message: 'Validation Failed', errors: [{ resource: 'PullRequest', code: 'custom', message }], documentation_url: `${DOCS}/pulls/pulls#create-a-pull-request`, status: '422' },
  }),
  serverError: (): CannedReply => ({ status: 502, body: { message: 'Server Error' } }),
};

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

export async function startGitHubServer(options: GitHubServerOptions): Promise<GitHubServer> {
  const requests: GitHubRequestRecord[] = [];
  const pulls: FakePull[] = (options.pulls ?? []).map((p, i) => ({ ...p, number: p.number ?? i + 1 }));
  const comments: FakeComment[] = [];
  const canned: Array<{ reply: CannedReply; beforeAuth: boolean }> = [];
  let webUrl = '';
  let apiUrl = '';

  const pullJson = (p: FakePull) => ({
    url: `${apiUrl}/repos/${p.owner}/${p.repo}/pulls/${p.number}`,
    html_url: `${webUrl}/${p.owner}/${p.repo}/pull/${p.number}`,
    number: p.number,
    state: p.state,
    merged: p.merged ?? false,
    merged_at: p.merged ? '2026-12-01T00:00:00Z' : null,
    title: p.title,
    body: p.body,
    draft: p.draft,
    head: { ref: p.head, label: `${p.owner}:${p.head}`, repo: { full_name: p.headRepo ?? `${p.owner}/${p.repo}` } },
    base: { ref: p.base, label: `${p.owner}:${p.base}` },
    user: { login: 'jgo-test' },
  });

  const server = createServer((req, res) => {
    void (async () => {
      const text = await readBody(req);
      let body: unknown = text === '' ? undefined : text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        /* keep the raw text */
      }
      const url = new URL(req.url ?? '/', 'http://127.0.0.1');
      const path = url.pathname.replace(/^\/api\/v3(?=\/)/, '');
      const authorized = req.headers.authorization === `Bearer ${options.token}`;
      const headers = { ...req.headers };
      if (headers.authorization !== undefined) headers.authorization = authorized ? 'Bearer [token]' : '[wrong]';
      requests.push({ method: req.method ?? 'GET', path, query: Object.fromEntries(url.searchParams), headers, body, authorized });

      const send = (status: number, payload: unknown, extra: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'x-github-api-version-selected': '2022-11-28', ...extra });
        res.end(JSON.stringify(payload));
      };
      const reply = (c: CannedReply) => send(c.status, c.body ?? {}, c.headers);

      if (canned[0]?.beforeAuth) return reply(canned.shift()!.reply);
      if (!authorized) return reply(githubErrors.badCredentials());
      if (canned[0]) return reply(canned.shift()!.reply);

      const m = /^\/repos\/([^/]+)\/([^/]+)(\/pulls)?$/.exec(path);
      const notFound = () => send(404, { message: 'Not Found', documentation_url: DOCS, status: '404' });
      const one = /^\/repos\/([^/]+)\/([^/]+)\/(pulls|issues)\/(\d+)(\/comments)?$/.exec(path);
      if (one) {
        const [owner, name] = [decodeURIComponent(one[1]!), decodeURIComponent(one[2]!)];
        const pull = options.repos[`${owner}/${name}`] ? pulls.find((p) => p.owner === owner && p.repo === name && p.number === Number(one[4])) : undefined;
        if (!pull) return notFound();
        if (one[3] === 'pulls' && !one[5] && req.method === 'GET') return send(200, pullJson(pull));
        if (one[3] !== 'issues' || !one[5] || req.method !== 'POST') return notFound();
        const text = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).body : undefined;
        if (typeof text !== 'string' || text === '') return send(422, { message: 'Validation Failed', errors: [{ resource: 'IssueComment', field: 'body', code: 'missing_field' }], documentation_url: DOCS, status: '422' });
        comments.push({ owner, repo: name, number: pull.number, body: text });
        const id = comments.length;
        return send(201, { id, body: text, html_url: `${webUrl}/${owner}/${name}/pull/${pull.number}#issuecomment-${id}` });
      }
      if (!m) return notFound();
      const owner = decodeURIComponent(m[1]!);
      const name = decodeURIComponent(m[2]!);
      const repo = options.repos[`${owner}/${name}`];
      if (!repo) return notFound();

      if (!m[3]) {
        if (req.method !== 'GET') return notFound();
        return send(200, {
          id: 1,
          name,
          full_name: `${owner}/${name}`,
          private: repo.private ?? false,
          html_url: `${webUrl}/${owner}/${name}`,
          default_branch: repo.defaultBranch ?? 'main',
          permissions: repo.permissions ?? { admin: false, maintain: false, push: true, triage: true, pull: true },
        });
      }
      if (req.method === 'GET') {
        const head = url.searchParams.get('head');
        const state = url.searchParams.get('state') ?? 'open';
        const found = pulls.filter(
          (p) => p.owner === owner && p.repo === name && (state === 'all' || p.state === state) && (head === null || `${owner}:${p.head}` === head),
        );
        return send(200, found.map(pullJson));
      }
      if (req.method !== 'POST') return notFound();
      const input = (typeof body === 'object' && body !== null ? body : {}) as Record<string, unknown>;
      const { title, head, base } = input;
      if (typeof title !== 'string' || title === '' || typeof head !== 'string' || typeof base !== 'string') {
        const missing = ['title', 'head', 'base'].filter((k) => typeof input[k] !== 'string' || input[k] === '');
        return send(422, { message: 'Validation Failed', errors: missing.map((field) => ({ resource: 'PullRequest', field, code: 'missing_field' })), documentation_url: DOCS, status: '422' });
      }
      if (typeof input.body === 'string' && input.body.length > 65536) return reply(githubErrors.validation('body is too long (maximum is 65536 characters)'));
      if (repo.branches && !repo.branches.includes(head)) {
        return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'head', code: 'invalid' }], documentation_url: DOCS, status: '422' });
      }
      if (repo.branches && !repo.branches.includes(base)) {
        return send(422, { message: 'Validation Failed', errors: [{ resource: 'PullRequest', field: 'base', code: 'invalid' }], documentation_url: DOCS, status: '422' });
      }
      if (head === base || repo.empty?.includes(head)) return reply(githubErrors.validation(`No commits between ${base} and ${head}`));
      if (pulls.some((p) => p.owner === owner && p.repo === name && p.head === head && p.state === 'open')) {
        return reply(githubErrors.validation(`A pull request already exists for ${owner}:${head}.`));
      }
      if (input.draft === true && repo.noDrafts) return reply(githubErrors.validation('Draft pull requests are not supported in this repository.'));
      const pull: FakePull = {
        number: pulls.reduce((n, p) => Math.max(n, p.number), 0) + 1,
        title,
        body: typeof input.body === 'string' ? input.body : null,
        head,
        base,
        draft: input.draft === true,
        state: 'open',
        owner,
        repo: name,
      };
      pulls.push(pull);
      return send(201, pullJson(pull), { location: `${apiUrl}/repos/${owner}/${name}/pulls/${pull.number}` });
    })().catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  apiUrl = `http://127.0.0.1:${port}`;
  webUrl = `http://github.test:${port}`;
  return {
    url: apiUrl,
    webUrl,
    requests,
    pulls,
    comments,
    replyNext: (reply, opts = {}) => canned.push({ reply, beforeAuth: opts.beforeAuth ?? false }),
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
