/**
 * jgo-ship: codex plans the commits (read-only), jgo makes them, checks the added lines for
 * secrets, pushes the branch without force, and proves the remote has it. In agent mode codex
 * commits and pushes itself, and jgo verifies and finishes what codex left undone.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Envelope, Ship } from '../envelope.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import type { StageContext, StageSpec } from '../stage.js';
import { changedPaths, workingStatus, type Change } from '../git/status.js';
import { checkBranchName } from '../git/worktree.js';
import { commitChanges, intendToAdd, unstageAll } from '../git/commit.js';
import { commitsSince, headSha, pathsChangedSince } from '../git/history.js';
import { readWorkingHead } from '../git/refs.js';
import { agentGitEnv, credentialsFor, type GitCredentials } from '../git/auth.js';
import { commitMessages, scanChange, scanMessage } from '../ship/scan.js';
import { pushAndProve } from '../ship/push.js';
import { checkPlan, fallbackPlan, PLAN_JSON_SCHEMA } from '../ship/plan.js';
import { agentPrompt, planPrompt } from '../ship/prompt.js';
import { runCodex, startLoginCheck } from '../codex/run.js';
import { makeRunTemp } from '../codex/leaks.js';
import { pullRequest } from '../ship/pull-request.js';
import { trace } from '../trace.js';
import { codexContext, gitContext } from './context.js';
import { cacheDir, checkDerivedPath, finishRemovals, mirrorPath, poolPath, removeRunDir, worktreePath } from '../cache.js';
import { givePooled } from '../git/pool.js';
import { checkedRepoUrl } from '../repo-ref.js';
import { configOf } from '../config.js';

export const SHIP_USAGE = '… | jgo-codex | jgo-ship [--keep]';

export interface ShipOptions {
  keep?: boolean | undefined;
}

/**
 * What ship may touch, from the cache and the envelope's repo.url and run_id alone
 * (docs/security.md): the working copy's and the mirror's paths are derived, never taken; the branch is
 * one of jgo's; the repository is one jgo may push to.
 */
function shipTargets(envelope: Envelope, context: StageContext): { wt: NonNullable<Envelope['worktree']>; url: string; dir: string; mirror: string | undefined; cache: string; runId: string } {
  const wt = envelope.worktree;
  if (!wt) throw new UsageError('missing_field', 'the envelope has no "worktree": run jgo-worktree (and jgo-codex) first');
  if (!envelope.repo) throw new UsageError('missing_field', 'the envelope has no "repo": run jgo-gate first');
  if (envelope.run_id === undefined) throw new UsageError('missing_field', 'the envelope has a "worktree" but no "run_id"');
  const url = checkedRepoUrl(envelope.repo.url, configOf(context.settings).authority);
  checkBranchName(wt.branch, 'branch');
  checkBranchName(wt.base_branch, 'base branch');
  // A branch jgo did not make is pushed only as the follow-up's own (`continue.branch`), and never the base.
  const followed = envelope.continue?.branch === wt.branch && wt.branch !== wt.base_branch && wt.branch !== envelope.mirror?.default_branch;
  if (!wt.branch.startsWith('jgo/') && !followed) {
    throw new UsageError('bad_branch', `worktree.branch ${JSON.stringify(wt.branch.slice(0, 100))} is not a jgo/ branch`, { hint: 'jgo pushes only branches it made (jgo/<timestamp>), or the branch a follow-up continues.' });
  }
  const cache = cacheDir(context);
  const dir = checkDerivedPath('worktree.path', wt.path, worktreePath(cache, envelope.run_id), cache);
  const mirror = envelope.mirror ? checkDerivedPath('mirror.path', envelope.mirror.path, mirrorPath(cache, url), cache) : undefined;
  return { wt, url, dir, mirror, cache, runId: envelope.run_id };
}

export async function ship(envelope: Envelope, context: StageContext, options: ShipOptions = {}): Promise<Envelope> {
  const { wt, url, dir, mirror, cache, runId } = shipTargets(envelope, context);
  const config = configOf(context.settings);
  const mode = config.JGO_SHIP_MODE;
  const env = context.io.env;
  // The token and its origins: the git layer sends it only to a URL among them (lib/git/auth.ts).
  const gitCtx = gitContext(context);
  const { credentials } = gitCtx;
  let ours: Array<{ sha: string; subject: string }> | undefined;
  const author = {
    name: config.JGO_GIT_AUTHOR_NAME,
    email: config.JGO_GIT_AUTHOR_EMAIL,
  };
  const request = envelope.request ?? envelope.gate?.optimized_prompt ?? '';
  let plan: Ship['plan'] = mode === 'agent' ? 'agent' : undefined;
  let planCost: PlanCost | undefined;

  // codex.changed_files is a hint (whether codex changed anything at all): the change itself is
  // what git reports, so a wrong list can neither hide a change nor add a file.
  const known = envelope.codex?.changed_files;
  // From the base, the commits about to be made are all there will be: no need to ask git after.
  const fromBase = (await readWorkingHead(dir)) === wt.base_sha;
  // Changes reported by jgo-codex and nothing committed yet (not a retried push) mean codex will be
  // asked for a plan: its login check starts now, while git reads the status, not after it.
  const login = mode === 'plan' && fromBase && known && known.length > 0 ? startLoginCheck(dir, codexContext(context)) : undefined;
  let status = await workingStatus(dir, { env });
  // Commits are made from the index (commitChanges): anything an agent staged is unstaged first,
  // and git is asked again, since unstaging can change what there is to commit.
  if (mode === 'plan' && status.staged) {
    await unstageAll(dir, env);
    status = await workingStatus(dir, { env });
  }
  const pending = status.changes;

  if (mode === 'agent') {
    await shipByAgent({ dir, url, request, branch: wt.branch, pending, credentials }, context);
  } else if (pending.length > 0) {
    await refuseSecrets(dir, wt.base_sha, pending, context);
    const made = await commitPlan({ envelope, dir, request, pending, author, login }, context);
    plan = made.plan;
    planCost = made.cost;
    if (fromBase) ours = made.commits;
  }

  let commits = ours ?? (await commitsSince(dir, wt.base_sha, env));
  if (commits.length === 0) {
    throw new JgoError(mode === 'agent' ? 'not_shipped' : 'no_changes', mode === 'agent' ? 'codex committed nothing' : 'nothing to ship: no changes and no commits', mode === 'agent' ? EXIT.failed : EXIT.nothingToShip);
  }
  if (mode === 'agent') await refuseSecrets(dir, wt.base_sha, [], context);

  // HEAD is the newest commit since the base: no need to ask git again.
  const head = commits.at(-1)?.sha ?? (await headSha(dir, env));
  // Commits made just now cannot be on the remote yet; after codex's own push, or on a second
  // attempt, they may be: then there is nothing to push.
  // A follow-up's branch may have moved on the remote meanwhile: its commits are replayed onto it.
  const rebaseAs = envelope.continue ? author : undefined;
  const proof = await pushAndProve({ dir, url, branch: wt.branch, head, mirror, lookFirst: !(mode === 'plan' && pending.length > 0), rebaseAs, base: wt.base_sha }, gitCtx);
  if (proof.rebasedOnto) {
    commits = await commitsSince(dir, proof.rebasedOnto, env);
    context.log(`${wt.branch} had moved on the remote: ${commits.length === 1 ? 'the commit was' : 'the commits were'} replayed onto ${proof.rebasedOnto.slice(0, 12)}`);
  }
  const shipped: Ship = {
    branch: wt.branch,
    commits: commits.map((c) => ({ sha: c.sha, subject: c.subject })),
    pushed: true,
    remote_sha: proof.remoteSha,
    ...(plan ? { plan } : {}),
    ...(mode === 'agent' ? { finished_by_jgo: proof.pushed } : {}),
    ...(mirror ? { mirrored: proof.mirrored } : {}),
    ...(planCost?.usage ? { plan_usage: planCost.usage } : {}),
    ...(planCost ? { plan_duration_ms: planCost.durationMs } : {}),
  };
  context.log(`pushed ${wt.branch} (${commits.length} commit${commits.length === 1 ? '' : 's'}) to ${url}`);
  if (config.JGO_SHIP_PR || envelope.continue?.pr) {
    shipped.pr = await pullRequest({
      envelope,
      shipped,
      repoUrl: url,
      apiUrl: config.JGO_GITHUB_API_URL,
      token: credentials?.token,
      tokenFrom: credentials?.from,
      draft: config.JGO_SHIP_PR_DRAFT,
      redact: (text) => context.redact.text(text),
      log: (line) => context.log(line),
      signal: context.signal,
    });
  }
  if (!options.keep) {
    // The pushed branch is now the record: the working copy goes to the pool for the next run
    // of this repository (which proves it clean first), or is deleted with the run directory.
    const kept = poolable(envelope, mode) && (await givePooled(poolPath(cache, url), dir, runId, config.JGO_POOL_SIZE));
    await removeRunDir(cache, runId, context);
    context.afterAnswer?.(() => finishRemovals(cache));
    trace(kept ? 'working copy kept in the pool' : 'working copy removed');
  }
  return { ...envelope, ship: shipped };
}

/**
 * Whether the working copy may go to the pool: only when no agent could write its `.git`. The
 * next run trusts the kept index and objects (a file whose stat matches its index entry is not
 * read again), so an agent that could rewrite them could hide a change from the proof of a clean
 * copy. codex's workspace-write and read-only sandboxes keep `.git` read-only; danger-full-access,
 * agent-mode shipping, or a codex stage that does not say how it ran, give no such promise.
 */
function poolable(envelope: Envelope, mode: string): boolean {
  const sandbox = envelope.codex?.sandbox;
  return mode !== 'agent' && (sandbox === 'workspace-write' || sandbox === 'read-only');
}

/**
 * Agent mode: codex commits and pushes itself. Its own `git push` gets the token through a
 * credential helper named in the environment, never in .git/config or a URL, and only when git
 * asks for one of the token's origins; none at all when the repository's own host does not get it.
 */
async function shipByAgent(
  req: { dir: string; url: string; request: string; branch: string; pending: Change[]; credentials: GitCredentials | undefined },
  context: StageContext,
): Promise<void> {
  const extraEnv = agentGitEnv(credentialsFor(req.credentials, req.url));
  const run = await runCodex({ cwd: req.dir, prompt: agentPrompt(req.request, req.branch, req.pending), sandbox: 'danger-full-access', extraEnv }, codexContext(context));
  if (run.turnFailed || run.exitCode !== 0) {
    throw new JgoError('codex_failed', `codex failed while shipping: ${run.failureMessage ?? `exit ${run.exitCode}`}`, EXIT.failed);
  }
  const left = await changedPaths(req.dir, { env: context.io.env });
  if (left.length > 0) {
    throw new JgoError('not_shipped', `codex left ${left.length} uncommitted change(s): ${left.slice(0, 5).map((c) => c.path).join(', ')}`, EXIT.failed, {
      hint: 'Run again with JGO_SHIP_MODE=plan, where jgo makes the commits.',
    });
  }
}

/** Plan mode: codex plans the commits (read-only), and jgo makes them, one git process each. */
async function commitPlan(
  req: { envelope: Envelope; dir: string; request: string; pending: Change[]; author: { name: string; email: string }; login: Promise<number> | undefined },
  context: StageContext,
): Promise<{ plan: Ship['plan']; cost: PlanCost | undefined; commits: Array<{ sha: string; subject: string }> }> {
  const env = context.io.env;
  // New files go into the index with intent to add while codex's login is checked (codex plans
  // once that is done, and its git diff then shows them too): each commit is then one git
  // process, not two, after the plan.
  const intending = intendToAdd(req.dir, req.pending, env).catch(() => false);
  const checked = await planCommits(req.envelope, req.pending, context, req.dir, req.request, req.login, intending);
  const intended = await intending;
  const commits: Array<{ sha: string; subject: string }> = [];
  for (const group of checked.groups) {
    const sha = await commitChanges({ dir: req.dir, message: group.message, changes: group.changes, author: req.author, intended }, env);
    context.log(`committed ${sha.slice(0, 12)} ${group.subject}`);
    // As git will report it: the message's first line, without trailing blanks.
    commits.push({ sha, subject: (group.message.split('\n')[0] ?? group.subject).trimEnd() });
  }
  return { plan: checked.plan, cost: checked.cost, commits };
}

async function refuseSecrets(
  dir: string,
  base: string,
  pending: Change[],
  context: StageContext,
): Promise<void> {
  const committed = await pathsChangedSince(dir, base, context.io.env);
  const paths = [...new Set([...committed, ...pending.filter((c) => c.kind !== 'deleted').map((c) => c.path)])];
  // Untracked now and not in any commit since the base: the file is new, all of it added.
  const fresh = new Set(pending.filter((c) => c.kind === 'added' && !committed.includes(c.path)).map((c) => c.path));
  const secrets = configOf(context.settings).secrets;
  const hits = await scanChange(dir, base, paths, secrets, fresh);
  // The commits since the base (codex's own, in agent mode): their messages are pushed too.
  for (const commit of await commitMessages(dir, base, context.io.env)) hits.push(...scanMessage(`the message of ${commit.sha.slice(0, 12)}`, commit.message, secrets));
  if (hits.length > 0) {
    const where = hits.slice(0, 5).map((h) => `${h.path}:${h.line} (${h.what})`).join(', ');
    throw new JgoError('secret_in_diff', `the change adds a secret: ${where}${hits.length > 5 ? `, and ${hits.length - 5} more` : ''}`, EXIT.failed, {
      hint: 'Nothing was pushed. Remove the secret from the working copy, then run jgo-ship again.',
    });
  }
}

/** What asking codex for the plan cost: reported so that a run's total can be told. */
interface PlanCost {
  usage: import('../envelope.js').Usage | undefined;
  durationMs: number;
}

/** Asks codex for a plan (read-only, with an output schema); any failure falls back to one commit. */
async function planCommits(envelope: Envelope, changes: Change[], context: StageContext, dir: string, request: string, login?: Promise<number>, ready?: Promise<unknown>) {
  const codexCtx = codexContext(context);
  let cost: PlanCost | undefined;
  const fallback = (why: string) => {
    context.log(`no usable commit plan (${why}): one commit for everything`);
    return { plan: 'fallback' as const, cost, ...fallbackPlan(request, envelope.repo?.ref, changes) };
  };
  // The schema goes with the run: under $JGO_CACHE_DIR/work/<run_id>/tmp, beside the working copy.
  const tmp = await makeRunTemp(codexCtx.cache, dir, 'plan-');
  try {
    const schema = join(tmp, 'plan.schema.json');
    await writeFile(schema, JSON.stringify(PLAN_JSON_SCHEMA));
    let run;
    try {
      // Read-only, unless codex's sandbox is switched off because it cannot work here (a pod):
      // then the planning run gets the same setting, and the check below still holds it to the change.
      const sandbox = codexCtx.config.sandbox === 'danger-full-access' ? 'danger-full-access' : 'read-only';
      run = await runCodex({ cwd: dir, prompt: planPrompt(request, changes), sandbox, outputSchema: schema, ...(login ? { login } : {}), ...(ready ? { ready } : {}) }, codexCtx);
    } catch (error) {
      // Settings problems and secrets on disk stop the stage; a codex that failed only loses its plan.
      if (error instanceof JgoError && (error.exitCode === EXIT.usage || ['secret_on_disk', 'interrupted'].includes(error.code))) throw error;
      return fallback(error instanceof Error ? error.message : String(error));
    }
    cost = { usage: run.usage, durationMs: run.durationMs };
    if (run.turnFailed || run.exitCode !== 0) return fallback(run.failureMessage ?? `codex exited ${run.exitCode}`);
    const { plan, problem } = checkPlan(run.lastMessage, changes);
    if (!plan) return fallback(problem ?? 'unknown');
    // The messages are the model's: a secret in one (encoded, say) would be pushed with it.
    const secrets = configOf(context.settings).secrets;
    const leaks = plan.groups.flatMap((group, i) => scanMessage(`commit ${i + 1} of the plan`, group.message, secrets));
    if (leaks.length > 0) {
      throw new JgoError('secret_in_diff', `codex's commit plan puts a secret in a message: ${leaks.slice(0, 5).map((h) => `${h.path}:${h.line} (${h.what})`).join(', ')}`, EXIT.failed, {
        hint: 'Nothing was committed or pushed. Rotate the secret, and run jgo-ship again.',
      });
    }
    if (plan.forgotten.length > 0) context.log(`the plan left out ${plan.forgotten.join(', ')}: they get a final commit`);
    return { plan: 'codex' as const, cost, ...plan };
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
}

export function shipStage(options: ShipOptions = {}): StageSpec {
  return {
    name: 'ship',
    usage: SHIP_USAGE,
    run: (envelope, context) => ship(envelope, context, options),
  };
}
