/**
 * A pull request for a pushed branch, through the GitHub REST API (GitHub Enterprise through
 * JGO_GITHUB_API_URL). An open pull request for the branch is reused, never duplicated, also
 * when another run opened it between our look and our create. A refusal leaves the branch as
 * it was pushed: the caller reports the error and the branch stays.
 *
 *   GET  /repos/{owner}/{repo}/pulls?head={owner}:{branch}&state=open
 *   POST /repos/{owner}/{repo}/pulls {title, head, base, body, draft}
 */
import { addUsage, totalTokens, type Usage } from '../envelope.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { Redactor } from '../redact.js';
import { fenced } from '../format.js';
import {
  checkApiUrl,
  githubMessage,
  githubRequest,
  PullRequestList,
  PullRequestSchema,
  rateLimited,
  repoFromUrl,
  repoPath,
  type GitHubResponse,
  type RepoName,
  type RequestOptions,
} from './api.js';

export interface OpenPullRequestInput {
  /** The API root: https://api.github.com, or https://<host>/api/v3. */
  apiUrl: string;
  /** GITHUB_TOKEN (or GH_TOKEN); without one, pr_needs_token (exit 2). */
  token: string | undefined;
  /** The variable the token came from, for hints. Default GITHUB_TOKEN. */
  tokenFrom?: string;
  /** The repository's URL (its web host may differ from the API's) or owner/repo. */
  repoUrl: string;
  /** The pushed branch (the head). */
  branch: string;
  /** The branch it is to be merged into. */
  base: string;
  title: string;
  body: string;
  draft?: boolean;
}

export interface PullRequest {
  url: string;
  number: number;
  /** An open pull request for the branch existed and was returned instead of a new one. */
  reused: boolean;
}

/** Classic tokens need a scope, fine-grained ones a permission; both say so. */
function authHint(from: string): string {
  return `Check ${from}: a classic token needs the repo scope (public_repo for a public repository); ` +
    'a fine-grained token needs "Pull requests: Read and write" on the repository. The branch is pushed; open the pull request by hand, or run again.';
}

export function failure(response: GitHubResponse, what: string, from: string, redact: Redactor): JgoError {
  const said = redact.text(githubMessage(response.body)) || `HTTP ${response.status}`;
  if (rateLimited(response)) {
    const reset = Number(response.headers.get('x-ratelimit-reset'));
    const when = Number.isFinite(reset) && reset > 0 ? ` until ${new Date(reset * 1000).toISOString()}` : '';
    return new JgoError('pr_failed', `GitHub rate-limited ${what} (HTTP ${response.status})${when}: ${said}`, EXIT.failed, {
      hint: 'Wait and run again; the branch is pushed.',
    });
  }
  if (response.status === 401 || response.status === 403) {
    return new JgoError('pr_auth_failed', `GitHub refused ${what} (HTTP ${response.status}): ${said}`, EXIT.failed, { hint: authHint(from) });
  }
  if (response.status === 422) {
    return new JgoError('pr_rejected', `GitHub rejected ${what}: ${said}`, EXIT.failed, {
      hint: /draft/i.test(said)
        ? 'This repository does not take draft pull requests: run again without --draft.'
        : 'The branch is pushed; fix the cause (e.g. the base branch, or commits to compare), or open the pull request by hand.',
    });
  }
  if (response.status === 404) {
    return new JgoError('pr_failed', `GitHub found no such repository or branch for ${what} (HTTP 404): ${said}`, EXIT.failed, {
      hint: `Check the repository, the base branch, and that ${from} can see the repository (GitHub answers 404 when it cannot).`,
    });
  }
  return new JgoError('pr_failed', `GitHub failed ${what} (HTTP ${response.status}): ${said}`, EXIT.failed, {
    hint: 'The branch is pushed; run again, or open the pull request by hand.',
  });
}

async function findOpen(apiUrl: string, token: string, name: RepoName, branch: string, from: string, redact: Redactor, options: RequestOptions): Promise<PullRequest | undefined> {
  const response = await githubRequest(
    { apiUrl, token, method: 'GET', path: `${repoPath(name)}/pulls`, query: { head: `${name.owner}:${branch}`, state: 'open', per_page: '10' } },
    options,
  );
  if (response.status !== 200) throw failure(response, `listing pull requests of ${name.owner}/${name.repo}`, from, redact);
  const list = PullRequestList.safeParse(response.body);
  if (!list.success) throw new JgoError('pr_failed', 'GitHub answered the pull request listing with something that is not a list of pull requests', EXIT.failed);
  const found = list.data[0];
  return found ? { url: found.html_url, number: found.number, reused: true } : undefined;
}

/** Opens (or finds) the pull request of `branch` into `base`. */
export async function openPullRequest(input: OpenPullRequestInput, options: { signal?: AbortSignal; timeoutMs?: number } = {}): Promise<PullRequest> {
  const from = input.tokenFrom ?? 'GITHUB_TOKEN';
  if (input.token === undefined || input.token === '') {
    throw new UsageError('pr_needs_token', 'opening a pull request needs a GitHub token, and GITHUB_TOKEN (or GH_TOKEN) is not set', {
      hint: 'Set GITHUB_TOKEN to a token that may open pull requests (classic: repo scope; fine-grained: "Pull requests: Read and write").',
    });
  }
  const token = input.token;
  const apiUrl = checkApiUrl(input.apiUrl, 'JGO_GITHUB_API_URL');
  const name = repoFromUrl(input.repoUrl);
  if (input.branch.trim() === '' || input.base.trim() === '') throw new UsageError('missing_field', 'a pull request needs a branch and a base branch');
  const redact = new Redactor([token]);
  const requestOptions: RequestOptions = { signal: options.signal, timeoutMs: options.timeoutMs };

  const existing = await findOpen(apiUrl, token, name, input.branch, from, redact, requestOptions);
  if (existing) return existing;

  const response = await githubRequest(
    {
      apiUrl,
      token,
      method: 'POST',
      path: `${repoPath(name)}/pulls`,
      body: { title: input.title, head: input.branch, base: input.base, body: input.body, draft: input.draft ?? false },
    },
    requestOptions,
  );
  if (response.status === 201 || response.status === 200) {
    const pr = PullRequestSchema.safeParse(response.body);
    if (!pr.success) throw new JgoError('pr_failed', 'GitHub created the pull request but its answer has no number or URL', EXIT.failed);
    return { url: pr.data.html_url, number: pr.data.number, reused: false };
  }
  // Another run opened one between our look and our create: that one is ours too.
  if (response.status === 422 && /already exists/i.test(githubMessage(response.body))) {
    const raced = await findOpen(apiUrl, token, name, input.branch, from, redact, requestOptions);
    if (raced) return raced;
  }
  throw failure(response, `the pull request ${input.branch} -> ${input.base} in ${name.owner}/${name.repo}`, from, redact);
}

// --- Title and body ---

/** GitHub's limit on a body is 65536 characters; stay clear of it. */
export const BODY_LIMIT = 60_000;
const TITLE_LIMIT = 120;

/** At most `max` characters (cut on a whole code point), marked when cut. */
export function clip(text: string, max: number, marker = '…'): string {
  if (text.length <= max) return text;
  let cut = text.slice(0, Math.max(0, max - marker.length));
  if (/[\uD800-\uDBFF]$/.test(cut)) cut = cut.slice(0, -1);
  return `${cut}${marker}`;
}

/** The request without its leading repository reference: `acme/widgets add X` -> `add X`. */
function requestText(request: string): string {
  const first = request.trim().split('\n')[0] ?? '';
  return first.replace(/^(?:https?:\/\/\S+|[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9_][A-Za-z0-9_.-]*)\s*[:,-]?\s+(?=\S)/, '').trim();
}

/** The first commit's subject, else the request (without its repository), one line, <= 120 chars. */
export function prTitle(commits: ReadonlyArray<{ subject: string }>, request: string): string {
  const subject = commits.find((c) => c.subject.trim() !== '')?.subject.trim();
  const text = subject ?? requestText(request);
  const line = text.replace(/\s+/g, ' ').trim();
  if (line === '') return 'Changes by jgo';
  if (line.length <= TITLE_LIMIT) return line;
  const cut = line.slice(0, TITLE_LIMIT - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > TITLE_LIMIT / 2 ? cut.slice(0, space) : cut}…`;
}

export interface PrBodyInput {
  request: string;
  optimizedPrompt?: string | undefined;
  commits: ReadonlyArray<{ sha: string; subject: string }>;
  changedFiles?: readonly string[] | undefined;
  lastMessage?: string | undefined;
  /** Token usage by stage, e.g. { gate: envelope.gate.usage, codex: envelope.codex.usage }. */
  usage?: Readonly<Record<string, Usage | undefined>> | undefined;
  runId?: string | undefined;
  /** Applied to every text taken from the run (a Redactor's text), before it is quoted. */
  redact?: ((text: string) => string) | undefined;
}

const MAX_COMMITS = 100;
const MAX_FILES = 300;

/**
 * The pull request's Markdown: the request, the gate's prompt for codex, the commits, the changed
 * files, codex's final message and the token usage. Long parts are cut so the whole stays under
 * GitHub's 65536-character limit; the request and prompt are fenced, so they render as written.
 */
export function prBody(input: PrBodyInput): string {
  const r = input.redact ?? ((s: string) => s);
  const sections: Array<{ text: string; weight: number }> = [];
  sections.push({ text: `## Request\n\n${fenced(clip(r(input.request.trim()), 6_000))}`, weight: 0 });
  if (input.optimizedPrompt && input.optimizedPrompt.trim() !== '') {
    sections.push({
      text: `<details><summary>Prompt given to codex</summary>\n\n${fenced(clip(r(input.optimizedPrompt.trim()), 16_000))}\n\n</details>`,
      weight: 0,
    });
  }
  if (input.commits.length > 0) {
    const shown = input.commits.slice(0, MAX_COMMITS).map((c) => `- \`${c.sha.slice(0, 7)}\` ${clip(r(c.subject).replace(/\s+/g, ' '), 200)}`);
    const more = input.commits.length > MAX_COMMITS ? [`- … and ${input.commits.length - MAX_COMMITS} more`] : [];
    sections.push({ text: `## Commits\n\n${[...shown, ...more].join('\n')}`, weight: 0 });
  }
  const files = input.changedFiles ?? [];
  if (files.length > 0) {
    const shown = files.slice(0, MAX_FILES).map((f) => `- \`${clip(r(f).replace(/`/g, "'"), 300)}\``);
    const more = files.length > MAX_FILES ? [`- … and ${files.length - MAX_FILES} more`] : [];
    sections.push({ text: `## Changed files (${files.length})\n\n${[...shown, ...more].join('\n')}`, weight: 0 });
  }
  const last = input.lastMessage?.trim() ?? '';
  if (last !== '') sections.push({ text: `## What codex says\n\n${r(last)}`, weight: 1 });
  const stages = Object.entries(input.usage ?? {}).filter((e): e is [string, Usage] => e[1] !== undefined);
  if (stages.length > 0) {
    const rows = stages.map(([name, u]) => `| ${name} | ${u.input_tokens ?? 0} | ${u.output_tokens ?? 0} | ${totalTokens(u)} |`);
    const total = totalTokens(stages.reduce<Usage>((sum, [, u]) => addUsage(sum, u), {}));
    sections.push({ text: `## Token usage\n\n| stage | input | output | total |\n|---|---:|---:|---:|\n${rows.join('\n')}\n| **all** | | | **${total}** |`, weight: 0 });
  }
  sections.push({ text: `<sub>Opened by jgo${input.runId ? ` (run \`${input.runId}\`)` : ''}.</sub>`, weight: 0 });

  const join = () => `${sections.map((s) => s.text).join('\n\n')}\n`;
  let body = join();
  if (body.length > BODY_LIMIT) {
    // codex's message is the part that can be any length: it gives way first.
    const message = sections.find((s) => s.weight === 1);
    if (message) {
      const room = Math.max(200, message.text.length - (body.length - BODY_LIMIT) - 100);
      let cut = clip(message.text, room, '');
      // A fence left open by the cut would swallow the sections after it.
      if ((cut.match(/^\s*(```|~~~)/gm) ?? []).length % 2 === 1) cut += '\n```';
      message.text = `${cut}\n\n… (cut: the message is too long for a pull request)`;
      body = join();
    }
  }
  return body.length > BODY_LIMIT ? clip(body, BODY_LIMIT, '\n\n… (cut)\n') : body;
}
