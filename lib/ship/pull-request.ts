/**
 * jgo-ship's pull request, once the branch is pushed: a first run opens one (or finds the open
 * one); a follow-up comments on its thread's open pull request with the commits it added. A
 * failure keeps the branch and the working copy, and the error carries the pushed `ship`, so
 * running ship again (or jgo resume) retries only this step.
 */
import type { Envelope, Ship, Usage } from '../envelope.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { openPullRequest, prBody, prTitle } from '../github/pr.js';
import { commentOnPullRequest, followUpComment, getPullRequest, type PullRequestRef } from '../github/pr-followup.js';

export interface PullRequestStep {
  envelope: Envelope;
  shipped: Ship;
  /** The repository's URL, checked. */
  repoUrl: string;
  apiUrl: string;
  token: string | undefined;
  tokenFrom: string | undefined;
  draft: boolean;
  redact: (text: string) => string;
  log: (line: string) => void;
  signal?: AbortSignal | undefined;
}

export async function pullRequest(step: PullRequestStep): Promise<NonNullable<Ship['pr']>> {
  try {
    const known = step.envelope.continue?.pr;
    if (known) return await commentOn(step, known.number);
    const pr = await openPullRequest(
      {
        apiUrl: step.apiUrl,
        token: step.token,
        ...(step.tokenFrom ? { tokenFrom: step.tokenFrom } : {}),
        repoUrl: step.repoUrl,
        branch: step.shipped.branch,
        base: step.envelope.worktree!.base_branch,
        title: prTitle(step.shipped.commits, step.envelope.request ?? ''),
        body: body(step),
        draft: step.draft,
      },
      { signal: step.signal },
    );
    // A follow-up whose branch has an open pull request its thread did not know of adds to it.
    if (pr.reused && step.envelope.continue) return await commentOn(step, pr.number);
    step.log(`pull request ${pr.reused ? '(already open) ' : ''}#${pr.number}: ${pr.url}`);
    return { url: pr.url, number: pr.number };
  } catch (error) {
    if (!(error instanceof JgoError)) throw error;
    throw new JgoError(error.code, `${error.message} (the branch ${step.shipped.branch} is pushed)`, error.exitCode, {
      hint: `${error.hint ? `${error.hint} ` : ''}Run jgo-ship again (or jgo resume) to retry only the pull request.`,
      patch: { ship: step.shipped },
    });
  }
}

function body(step: PullRequestStep): string {
  const { envelope, shipped } = step;
  const usage: Record<string, Usage | undefined> = { gate: envelope.gate?.usage, codex: envelope.codex?.usage, ship: shipped.plan_usage };
  return prBody({
    request: envelope.request ?? '',
    optimizedPrompt: envelope.gate?.optimized_prompt,
    commits: shipped.commits,
    changedFiles: envelope.codex?.changed_files,
    lastMessage: envelope.codex?.last_message,
    usage,
    runId: envelope.run_id,
    redact: step.redact,
  });
}

/** The follow-up's comment on pull request `number`, which must be open and on the branch. */
async function commentOn(step: PullRequestStep, number: number): Promise<NonNullable<Ship['pr']>> {
  const ref: PullRequestRef = { apiUrl: step.apiUrl, token: step.token, tokenFrom: step.tokenFrom, repoUrl: step.repoUrl, number };
  const pr = await getPullRequest(ref, { signal: step.signal });
  if (pr.state !== 'open') {
    throw new JgoError('pr_closed', `pull request #${number} is ${pr.merged ? 'merged' : 'closed'}: ${pr.url}`, EXIT.failed, {
      hint: 'Start a new run (jgo run "…") to open a new pull request for more changes.',
    });
  }
  if (pr.headRef !== step.shipped.branch) {
    throw new UsageError('foreign_branch', `pull request #${number} is on ${pr.headRef}, not on ${step.shipped.branch}: no comment made`);
  }
  const text = followUpComment({ request: step.envelope.request ?? '', commits: step.shipped.commits, runId: step.envelope.run_id, redact: step.redact });
  const comment = await commentOnPullRequest(ref, text, { signal: step.signal });
  step.log(`pull request #${pr.number}: commented ${comment}`);
  return { url: pr.url, number: pr.number };
}
