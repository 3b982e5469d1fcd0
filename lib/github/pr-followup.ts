/**
 * A follow-up's pull request: read it (is it still open, which branch is it on) and comment on
 * it with what the follow-up added. A pull request's conversation is an issue's, so the comment
 * goes to the issues endpoint, as GitHub's own clients do.
 *
 *   GET  /repos/{owner}/{repo}/pulls/{number}
 *   POST /repos/{owner}/{repo}/issues/{number}/comments {body}
 */
import * as z from '../zod.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { Redactor } from '../redact.js';
import { checkApiUrl, githubRequest, repoFromUrl, repoPath, type RepoName, type RequestOptions } from './api.js';
import { fenced } from '../format.js';
import { clip, failure } from './pr.js';

export interface PullRequestRef {
  apiUrl: string;
  token: string | undefined;
  tokenFrom?: string | undefined;
  /** The repository's URL or owner/repo. */
  repoUrl: string;
  number: number;
}

export interface PullRequestState {
  number: number;
  url: string;
  state: 'open' | 'closed';
  merged: boolean;
  /** The branch it merges, and the repository that branch is in (owner/repo). */
  headRef: string;
  headRepo: string;
  baseRef: string;
}

const Branch = z.looseObject({ ref: z.string(), repo: z.nullable(z.looseObject({ full_name: z.string() })) });
const PullRequestDetail = z.looseObject({
  number: z.number().check(z.int(), z.positive()),
  html_url: z.string().check(z.url()),
  state: z.enum(['open', 'closed']),
  merged: z.optional(z.boolean()),
  merged_at: z.optional(z.nullable(z.string())),
  head: Branch,
  base: z.looseObject({ ref: z.string() }),
});

function checked(ref: PullRequestRef): { token: string; apiUrl: string; name: RepoName; from: string } {
  const from = ref.tokenFrom ?? 'GITHUB_TOKEN';
  if (ref.token === undefined || ref.token === '') {
    throw new UsageError('pr_needs_token', `a follow-up of pull request #${ref.number} needs a GitHub token, and ${from} is not set`, {
      hint: 'Set GITHUB_TOKEN to a token that may read and comment on pull requests, or continue by run id or branch.',
    });
  }
  return { token: ref.token, apiUrl: checkApiUrl(ref.apiUrl, 'JGO_GITHUB_API_URL'), name: repoFromUrl(ref.repoUrl), from };
}

/** The pull request `ref.number` of `ref.repoUrl`, as GitHub has it now. */
export async function getPullRequest(ref: PullRequestRef, options: RequestOptions = {}): Promise<PullRequestState> {
  const { token, apiUrl, name, from } = checked(ref);
  const response = await githubRequest({ apiUrl, token, method: 'GET', path: `${repoPath(name)}/pulls/${ref.number}` }, options);
  const what = `reading pull request #${ref.number} of ${name.owner}/${name.repo}`;
  if (response.status !== 200) throw failure(response, what, from, new Redactor([token]));
  const pr = PullRequestDetail.safeParse(response.body);
  if (!pr.success) throw new JgoError('pr_failed', `GitHub answered ${what} with something that is not a pull request`, EXIT.failed);
  const { data } = pr;
  return {
    number: data.number,
    url: data.html_url,
    state: data.state,
    merged: data.merged === true || (typeof data.merged_at === 'string' && data.merged_at !== ''),
    headRef: data.head.ref,
    // A head repository that was deleted comes back as null: it is not this repository.
    headRepo: data.head.repo?.full_name ?? '(deleted)',
    baseRef: data.base.ref,
  };
}

const CommentSchema = z.looseObject({ html_url: z.string().check(z.url()), id: z.number() });

/** Adds `body` to the pull request's conversation; the comment's URL. */
export async function commentOnPullRequest(ref: PullRequestRef, body: string, options: RequestOptions = {}): Promise<string> {
  const { token, apiUrl, name, from } = checked(ref);
  const response = await githubRequest({ apiUrl, token, method: 'POST', path: `${repoPath(name)}/issues/${ref.number}/comments`, body: { body } }, options);
  const what = `commenting on pull request #${ref.number} of ${name.owner}/${name.repo}`;
  if (response.status !== 201 && response.status !== 200) throw failure(response, what, from, new Redactor([token]));
  const comment = CommentSchema.safeParse(response.body);
  if (!comment.success) throw new JgoError('pr_failed', `GitHub answered ${what} without the comment's URL`, EXIT.failed);
  return comment.data.html_url;
}

export interface FollowUpCommentInput {
  request: string;
  commits: ReadonlyArray<{ sha: string; subject: string }>;
  runId?: string | undefined;
  /** Applied to every text taken from the run before it is quoted. */
  redact?: ((text: string) => string) | undefined;
}

/** The comment a follow-up leaves: its request (fenced) and the commits it added. */
export function followUpComment(input: FollowUpCommentInput): string {
  const r = input.redact ?? ((s: string) => s);
  // Fenced, as in the pull request's body: a request's @mention or markup stays text.
  const request = fenced(clip(r(input.request.trim()), 4_000));
  const shown = input.commits.slice(0, 100).map((c) => `- \`${c.sha.slice(0, 7)}\` ${clip(r(c.subject).replace(/\s+/g, ' '), 200)}`);
  const more = input.commits.length > 100 ? [`- … and ${input.commits.length - 100} more`] : [];
  const count = input.commits.length === 1 ? '1 commit' : `${input.commits.length} commits`;
  return [
    `Follow-up${input.runId ? ` \`${input.runId}\`` : ''} added ${count}:`,
    '',
    request,
    '',
    ...shown,
    ...more,
    '',
    '<sub>Pushed by jgo.</sub>',
    '',
  ].join('\n');
}
