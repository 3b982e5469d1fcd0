/**
 * jgo-codex: runs `codex exec` in the run's working copy (or the current directory in the
 * ad-hoc chain `echo "…" | jgo-gate | jgo-codex`) with the gate's prompt, and reports what truly
 * happened: exit 0 from codex is not success, a changed repository is.
 */
import { readFile } from 'node:fs/promises';
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Codex, Envelope } from '../envelope.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import type { StageContext, StageSpec } from '../stage.js';
import { cacheDir, checkDerivedPath, worktreePath } from '../cache.js';
import { checkedRepoUrl } from '../repo-ref.js';
import { authorityOf } from '../config.js';
import { editPrompt } from '../codex/prompt.js';
import { shellQuote } from '../codex/args.js';
import { CodexRunError, findGitRoot, runCodex, startLoginCheck, type CodexRun } from '../codex/run.js';
import { workingStatus } from '../git/status.js';
import { hasSession } from '../codex/session.js';
import { codexContext } from './context.js';

export const CODEX_USAGE = '… | jgo-worktree | jgo-codex   |   echo "owner/repo what to change" | jgo-gate | jgo-codex';

/** What the envelope says about a run (also on failure, so the last envelope shows what codex did). */
export function codexField(run: CodexRun, changed: string[] | undefined): Codex {
  return {
    exit_code: run.exitCode,
    ...(changed !== undefined ? { changed_files: changed } : {}),
    last_message: run.lastMessage,
    duration_ms: run.durationMs,
    ...(run.threadId !== undefined ? { thread_id: run.threadId } : {}),
    ...(run.usage !== undefined ? { usage: run.usage } : {}),
    failed_commands: run.failedCommands,
    commands: run.commands,
    sandbox: run.sandbox,
    ...(run.model !== undefined ? { model: run.model } : {}),
    ...(run.version !== undefined ? { version: run.version } : {}),
  };
}

/** Path -> a fingerprint of its content, for every path git reports as changed. */
type Snapshot = Map<string, string>;

async function fingerprint(path: string): Promise<string> {
  try {
    // node:crypto is loaded only here: in a fresh working copy nothing was dirty before the run.
    return process.getBuiltinModule('node:crypto').createHash('sha1').update(await readFile(path)).digest('hex');
  } catch {
    return 'missing';
  }
}

/**
 * The dirty paths of the working copy at `root`, from one git status. With `ignored` (after the
 * run in jgo's own copy) `written` lists what the secret scan reads there: every path dirty or
 * ignored, but deleted ones.
 */
async function snapshot(root: string, context: StageContext, only?: Snapshot, ignored = false): Promise<{ snap: Snapshot; written?: string[] }> {
  const status = await workingStatus(root, { env: context.io.env, ignored });
  const snap: Snapshot = new Map();
  for (const change of status.changes) {
    // Content matters only where the path was already dirty before the run.
    const print = only === undefined || only.has(change.path) ? await fingerprint(join(root, change.path)) : 'new';
    snap.set(change.path, `${change.kind}:${print}`);
  }
  if (!ignored) return { snap };
  return { snap, written: [...status.changes.filter((c) => c.kind !== 'deleted').map((c) => c.path), ...status.ignored] };
}

/**
 * What codex changed: paths dirty after the run that were clean before or differ from before,
 * and paths that were dirty before and are clean now. In a fresh working copy this is exactly
 * the repository's changes after the run, untracked files included.
 */
export function changedBetween(before: Snapshot, after: Snapshot): string[] {
  const paths = new Set<string>();
  for (const [path, state] of after) if (before.get(path) !== state) paths.add(path);
  for (const path of before.keys()) if (!after.has(path)) paths.add(path);
  return [...paths].sort();
}

export async function codex(envelope: Envelope, context: StageContext): Promise<Envelope> {
  const gate = envelope.gate;
  if (!gate) throw new UsageError('missing_field', 'the envelope has no "gate": run jgo-gate first');
  if (!gate.executable || gate.optimized_prompt.trim() === '') {
    throw new UsageError('missing_field', 'the gate left no prompt for codex (gate.optimized_prompt is empty or gate.executable is false)');
  }
  const worktree = envelope.worktree;
  let cwd: string;
  let root: string | undefined;
  if (envelope.repo) checkedRepoUrl(envelope.repo.url, authorityOf(context.settings));
  if (worktree) {
    // The agent runs where the cache says this run's working copy is, never where an envelope points.
    if (envelope.run_id === undefined) throw new UsageError('missing_field', 'the envelope has a "worktree" but no "run_id"');
    const cache = cacheDir(context);
    cwd = checkDerivedPath('worktree.path', worktree.path, worktreePath(cache, envelope.run_id), cache);
    if (!statSync(cwd, { throwIfNoEntry: false })?.isDirectory() || !existsSync(join(cwd, '.git'))) {
      throw new UsageError('worktree_missing', `the working copy ${cwd} does not exist or is not a git working copy`, {
        hint: 'Make a new one with jgo-worktree.',
      });
    }
    root = cwd;
  } else {
    cwd = context.io.cwd;
    root = findGitRoot(cwd);
  }
  const codexCtx = codexContext(context);
  // codex's login check first, then the snapshot beside it: the check is the longer of the two.
  const login = startLoginCheck(cwd, codexCtx);
  // Taken while the login is checked. jgo's own working copy needs none: what is dirty in it
  // after the run is codex's (a retried attempt's too), so one `git status` tells the change.
  const taking = root === undefined ? Promise.resolve(undefined) : worktree ? Promise.resolve<Snapshot>(new Map()) : snapshot(root, context).then((s) => s.snap);
  taking.catch(() => {}); // awaited below; runCodex sees a failure first
  const resume = await resumable(envelope, codexCtx.config.home, context);
  const prompt = editPrompt({
    task: gate.optimized_prompt,
    cwd,
    repo: envelope.repo,
    branch: worktree?.branch,
    baseBranch: worktree?.base_branch,
    inGitRepo: root !== undefined,
    worktree: worktree !== undefined,
    follow: envelope.continue ? { history: envelope.continue.history ?? [], resumed: resume !== undefined } : undefined,
  });

  // The second snapshot starts as soon as codex is gone, while runCodex scans for secrets.
  let after: Promise<{ snap: Snapshot; written?: string[] } | undefined> | undefined;
  // Returned so that runCodex lets this git status finish before it removes a working copy that
  // holds a secret; in jgo's own copy, the same status tells the secret scan what to read.
  const afterExit = () => {
    if (root === undefined) return;
    after = taking.then((before) => (before === undefined ? undefined : snapshot(root, context, before, worktree !== undefined)));
    after.catch(() => {}); // awaited below; a failed run reports its own error
    return after.then(
      (s) => (s?.written !== undefined ? { changed: s.written } : undefined),
      () => undefined,
    );
  };

  let run: CodexRun;
  try {
    run = await runCodex({ cwd, prompt, skipGitRepoCheck: root === undefined, workspace: root ?? cwd, ready: taking, login, afterExit, askVersion: true, resume }, codexCtx);
  } catch (error) {
    // No git process of this stage outlives its answer: a snapshot still running (a failed run's
    // `git status`) would otherwise go on writing in the working copy's .git after it.
    await Promise.allSettled([taking, after]);
    if (error instanceof CodexRunError) {
      throw new JgoError(error.code, error.message, error.exitCode, {
        ...(error.hint !== undefined ? { hint: error.hint } : {}),
        patch: { codex: { ...codexField(error.run, undefined), ...(envelope.continue ? { resumed: resume !== undefined } : {}) } },
      });
    }
    throw error;
  }

  const before = await taking;
  const now = root !== undefined && before !== undefined ? (await (after ?? snapshot(root, context, before)))?.snap : undefined;
  const changed = before !== undefined && now !== undefined ? changedBetween(before, now) : undefined;
  const result = { ...codexField(run, changed), ...(envelope.continue ? { resumed: resume !== undefined } : {}) };
  const patch = { codex: result };
  const failedCount = run.failedCommands.length;
  const summary = `${run.exitCode === 0 ? 'codex exited 0' : `codex exited ${run.exitCode ?? run.signal}`} after ${Math.round(run.durationMs / 1000)} s` +
    `${changed !== undefined ? `, ${changed.length} file${changed.length === 1 ? '' : 's'} changed` : ''}` +
    `${failedCount > 0 ? `, ${failedCount} failed command${failedCount === 1 ? '' : 's'}` : ''}`;
  context.log(summary);

  if (run.turnFailed || run.exitCode !== 0 || !run.turnCompleted) {
    const why = run.failureMessage ?? (run.turnCompleted ? 'no message' : 'it ended without completing its turn');
    throw new JgoError('codex_failed', `codex failed: ${why}`, EXIT.failed, {
      patch,
      hint: run.threadId ? `The session: CODEX_HOME=${shellQuote(codexCtx.config.home)} ${shellQuote(codexCtx.config.bin)} resume ${run.threadId}` : undefined,
    });
  }
  if (changed !== undefined && changed.length === 0) {
    throw new JgoError('no_changes', 'codex changed no file: nothing to ship', EXIT.nothingToShip, {
      patch,
      hint: run.lastMessage ? `codex said: ${run.lastMessage.trim().split('\n')[0]?.slice(0, 300)}` : 'Make the request more concrete.',
    });
  }
  if (changed === undefined) context.log('not a git repository: changed files not tracked');
  return { ...envelope, ...patch };
}

/**
 * A follow-up's codex thread, when codex can resume it: the parent run's `thread_id`, whose
 * session is still under CODEX_HOME (found by id there, never by a path from the envelope).
 * Otherwise the run starts fresh, told in its prompt what the thread did.
 */
async function resumable(envelope: Envelope, home: string, context: StageContext): Promise<string | undefined> {
  const follow = envelope.continue;
  if (!follow) return undefined;
  const id = follow.thread_id;
  if (id !== undefined && (await hasSession(home, id))) return id;
  context.log(id === undefined ? 'no codex thread to resume: starting fresh, with what the earlier runs did' : `codex no longer has thread ${id}: starting fresh, with what the earlier runs did`);
  return undefined;
}

export function codexStage(): StageSpec {
  return { name: 'codex', usage: CODEX_USAGE, run: codex };
}
