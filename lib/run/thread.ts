/**
 * Threads: a conversation is one branch. A run's thread is its first run's id (journal's
 * `thread`); a follow-up (`jgo run --continue`) is a new run of the thread, told in its envelope's
 * `continue` what the thread did so far. The thread's lock makes its runs go one after another:
 * two follow-ups never interleave on the branch.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { Continue, RUN_ID_FORMAT, type Repo, type Ship, type ThreadRun } from '../envelope.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { acquireLock, type Lock } from '../git/lock.js';
import { checkBranchName } from '../git/worktree.js';
import { repoSlug } from '../authority.js';
import type { PullRequestState } from '../github/pr-followup.js';
import { Journal, listRunIds, threadOf, type RunRecord } from './journal.js';

/** What `--continue` names: a run, a branch, or a pull request (its URL, or its number). */
export type ContinueRef =
  | { kind: 'run'; runId: string }
  | { kind: 'branch'; name: string }
  | { kind: 'pr'; number: number; repoUrl: string | undefined };

const PR_URL = /^(https?:\/\/[^/\s]+\/[^/\s]+\/[^/\s]+?)\/pull\/(\d+)(?:\/(?:files|commits|checks))?\/?(?:[#?]\S*)?$/;

export function parseContinueRef(ref: string): ContinueRef {
  const text = ref.trim();
  const url = PR_URL.exec(text);
  if (url) return { kind: 'pr', number: Number(url[2]), repoUrl: url[1] };
  const number = /^#?(\d{1,9})$/.exec(text);
  if (number && Number(number[1]) > 0) return { kind: 'pr', number: Number(number[1]), repoUrl: undefined };
  if (RUN_ID_FORMAT.test(text)) return { kind: 'run', runId: text };
  checkBranchName(text, '--continue branch');
  return { kind: 'branch', name: text };
}

/** A run of a thread, as far as a follow-up needs it. */
export interface ThreadMember {
  record: RunRecord;
  /** What its jgo-ship pushed; undefined when it pushed nothing (yet). */
  ship: Ship | undefined;
  repo: Repo | undefined;
  /** codex's thread of the run's edit. */
  codexThread: string | undefined;
}

async function member(journal: Journal): Promise<ThreadMember> {
  const last = (await journal.stages()).at(-1)?.envelope;
  const pushed = last?.ship?.pushed ? last.ship : undefined;
  return { record: journal.record, ship: pushed, repo: last?.repo, codexThread: last?.codex?.thread_id };
}

/** Every run of the journal, oldest first (run ids start with their UTC time). */
async function allRuns(cache: string): Promise<Journal[]> {
  const journals: Journal[] = [];
  for (const id of (await listRunIds(cache)).reverse()) {
    const journal = await Journal.open(cache, id);
    if (journal) journals.push(journal);
  }
  return journals;
}

/** The runs of `thread`, oldest first. */
export async function threadMembers(cache: string, thread: string): Promise<ThreadMember[]> {
  const runs = (await allRuns(cache)).filter((j) => threadOf(j.record) === thread);
  return Promise.all(runs.map(member));
}

/** The thread whose newest pushed run pushed `branch`, if any run of the journal did. */
async function threadOfBranch(cache: string, branch: string): Promise<string | undefined> {
  let found: string | undefined;
  for (const journal of await allRuns(cache)) {
    const m = await member(journal);
    if (m.ship?.branch === branch) found = threadOf(m.record);
  }
  return found;
}

/** Where a follow-up goes: its thread, and the branch or pull request it was named by. */
export interface FollowUpTarget {
  thread: string | undefined;
  branch?: string;
  pr?: { url: string; number: number };
  /** The pull request's repository, when the pull request named the target. */
  repo?: Repo;
}

/** What a follow-up needs to know of a pull request, as GitHub tells it. */
export type PullRequestInfo = Pick<PullRequestState, 'number' | 'url' | 'state' | 'merged' | 'headRef' | 'headRepo'>;

/**
 * The thread `ref` belongs to. A pull request's branch outside `jgo/` is refused: jgo continues a
 * branch it did not make only when `--continue` names that branch itself, never by way of a
 * pull request or a run.
 */
export async function findTarget(cache: string, ref: ContinueRef, lookupPr: (number: number, repoUrl: string | undefined) => Promise<PullRequestInfo & { repo: Repo }>): Promise<FollowUpTarget> {
  if (ref.kind === 'run') {
    const journal = await Journal.open(cache, ref.runId);
    if (!journal) throw new UsageError('run_not_found', `no run ${ref.runId} in the journal`, { hint: 'jgo runs lists the runs; a branch or a pull request may be named instead.' });
    return { thread: threadOf(journal.record) };
  }
  if (ref.kind === 'branch') return { thread: await threadOfBranch(cache, ref.name), branch: ref.name };
  const pr = await lookupPr(ref.number, ref.repoUrl);
  if (pr.state !== 'open') {
    throw new JgoError('pr_closed', `pull request #${pr.number} is ${pr.merged ? 'merged' : 'closed'}: ${pr.url}`, EXIT.failed, {
      hint: 'Start a new run (jgo run "…") for more changes: a follow-up adds to an open pull request.',
    });
  }
  const slug = repoSlug(pr.repo.url);
  if (pr.headRepo.toLowerCase() !== slug.toLowerCase()) {
    throw new UsageError('foreign_branch', `pull request #${pr.number} comes from another repository (${pr.headRepo}); jgo pushes only to ${slug}`, {
      hint: 'Start a new run on the repository itself: jgo does not push to forks.',
    });
  }
  const thread = await threadOfBranch(cache, pr.headRef);
  if (thread === undefined && !pr.headRef.startsWith('jgo/')) {
    throw new UsageError('foreign_branch', `pull request #${pr.number} is on ${pr.headRef}, a branch jgo did not make`, {
      hint: `To add to it anyway, name the branch itself: jgo run --continue ${pr.headRef} "…"`,
    });
  }
  return { thread, branch: pr.headRef, pr: { url: pr.url, number: pr.number }, repo: pr.repo };
}

/**
 * The `continue` of a new run of `thread` (`runId` when the branch has no run behind it): its
 * newest pushed run is the parent; the branch, repository, codex thread and pull request are
 * that run's, the history every pushed run's. Read once the thread's lock is held, so that a
 * follow-up that just finished is in it.
 */
export function followUp(runId: string, target: FollowUpTarget, members: ThreadMember[]): Continue {
  const pushed = members.filter((m) => m.ship !== undefined);
  const parent = pushed.at(-1);
  const branch = parent?.ship?.branch ?? target.branch;
  if (branch === undefined) {
    const named = members.at(-1)?.record.run_id ?? target.thread;
    throw new UsageError('run_not_shipped', `run ${named} pushed no branch to continue`, { hint: `jgo resume ${named} finishes it; or start a new run.` });
  }
  const repo = parent?.repo ?? target.repo;
  const pr = target.pr ?? [...pushed].reverse().find((m) => m.ship?.pr)?.ship?.pr;
  const history: ThreadRun[] = pushed.map((m) => ({ run_id: m.record.run_id, request: m.record.request, commits: m.ship?.commits.map((c) => ({ sha: c.sha, subject: c.subject })) ?? [] }));
  return {
    thread: target.thread ?? runId,
    ...(parent ? { parent: parent.record.run_id } : {}),
    branch,
    ...(repo ? { repo: { ref: repo.ref, url: repo.url } } : {}),
    ...(parent?.codexThread && Continue.shape.thread_id.safeParse(parent.codexThread).success ? { thread_id: parent.codexThread } : {}),
    ...(pr ? { pr: { url: pr.url, number: pr.number } } : {}),
    ...(history.length > 0 ? { history } : {}),
  };
}

/**
 * The thread's lock, held for the whole of a run: a follow-up started while another run of the
 * thread works waits for it (saying so), then starts from what it pushed.
 */
export async function lockThread(cache: string, thread: string, options: { signal?: AbortSignal; timeoutMs: number; onWait: (holder: string) => void }): Promise<Lock> {
  const dir = join(cache, 'threads');
  await mkdir(dir, { recursive: true, mode: 0o700 });
  return acquireLock(join(dir, thread), options);
}
