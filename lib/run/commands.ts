/**
 * The commands of `jgo`: run, resume, runs, show, gc. Each gets injected streams and returns
 * its exit code, so tests call them in-process and the executable stays a few lines.
 */
import { join } from 'node:path';
import { ENVELOPE_VERSION, RUN_ID_FORMAT, STAGES, newRunId, type Continue, type Envelope } from '../envelope.js';
import { UsageError } from '../errors.js';
import { asJgoError } from '../stage.js';
import { configOf, loadSettings, resolveCacheDir, type Settings } from '../config.js';
import type { Lock } from '../git/lock.js';
import { Redactor } from '../redact.js';
import { secretNeedles } from '../needles.js';
import { formatBytes } from '../format.js';
import { exists } from '../fsutil.js';
import { debugging, trace } from '../trace.js';
import { runPipeline, stageCommand, type PipelineContext } from './compose.js';
import { Journal, listRunIds, runDir, threadOf, type StageKey } from './journal.js';
import { findTarget, followUp, lockThread, parseContinueRef, threadMembers, type FollowUpTarget } from './thread.js';
import { lookupPullRequest } from './pull-request.js';
import type { Report } from './report.js';

export interface CommandIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where jgo-<stage>.js live. */
  binDir: string;
  signal?: AbortSignal;
}

interface Prepared {
  settings: Settings;
  cache: string;
  redact: Redactor;
}

function prepare(io: CommandIO): Prepared {
  const settings = loadSettings({ env: io.env, cwd: io.cwd });
  const redact = new Redactor(secretNeedles(settings.secrets()));
  const dir = resolveCacheDir(settings);
  if (dir.fellBack) io.stderr.write(`jgo: ${dir.fellBack}\n`);
  return { settings, cache: dir.path, redact };
}

/** prepare, for the commands that run stages: each JGO_STAGE_* must split into words first. */
function prepareRun(io: CommandIO): Prepared {
  const p = prepare(io);
  for (const stage of STAGES) stageCommand(stage, { settings: p.settings, binDir: io.binDir });
  return p;
}

function say(io: CommandIO, redact: Redactor, line: string): void {
  io.stderr.write(`jgo: ${redact.text(line)}\n`);
}

/** Turns a JgoError from jgo itself (not a stage) into output and an exit code. */
function fail(io: CommandIO, error: unknown, json: boolean): number {
  const e = asJgoError(error);
  io.stderr.write(`jgo: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
  if (debugging(io.env) && error instanceof Error && error.stack) io.stderr.write(`${error.stack}\n`);
  if (json) io.stdout.write(`${JSON.stringify({ jgo: ENVELOPE_VERSION, error: { stage: 'run', code: e.code, message: e.message, exit_code: e.exitCode } })}\n`);
  return e.exitCode;
}

export interface RunOptions {
  json?: boolean;
  quiet?: boolean;
  dryRun?: boolean;
  /** Open a pull request for the pushed branch (JGO_SHIP_PR for jgo-ship); `draft` as a draft. */
  pr?: boolean;
  draft?: boolean;
  /** `--continue`: the run, branch or pull request whose thread this run follows up. */
  continue?: string | undefined;
  /** `--run-id`: the run's id, made by the caller (jgo serve names it before the run starts). */
  runId?: string | undefined;
}

/** --pr and --draft reach jgo-ship as its settings, so a replaced ship stage sees them too. */
function withPrSettings(io: CommandIO, options: RunOptions): CommandIO {
  if (!options.pr && !options.draft) return io;
  return { ...io, env: { ...io.env, JGO_SHIP_PR: 'true', ...(options.draft ? { JGO_SHIP_PR_DRAFT: 'true' } : {}) } };
}

function pipelineContext(io: CommandIO, p: Prepared, quiet: boolean, signal: AbortSignal): PipelineContext {
  return { settings: p.settings, binDir: io.binDir, env: io.env, cwd: io.cwd, stderr: quiet ? undefined : io.stderr, redact: p.redact, signal };
}

/** The end of a run, for people and scripts: the branch last on stdout, or the error. */
function finish(io: CommandIO, p: Prepared, journal: Journal, envelope: Envelope, exitCode: number, options: RunOptions): number {
  if (options.json) io.stdout.write(`${JSON.stringify(envelope)}\n`);
  if (exitCode !== 0) {
    const e = envelope.error;
    const line = e ? `${e.stage} failed: ${e.message} (${e.code}, exit ${exitCode}); run ${journal.record.run_id}` : `failed, exit ${exitCode}`;
    say(io, p.redact, line);
    if (!options.quiet && e && e.code !== 'not_executable') say(io, p.redact, `to continue after fixing the cause: jgo resume ${journal.record.run_id}`);
    return exitCode;
  }
  if (options.dryRun) {
    const wt = envelope.worktree;
    if (!options.json && wt) {
      const codex = stageCommand('codex', { settings: p.settings, binDir: io.binDir }).join(' ');
      const ship = stageCommand('ship', { settings: p.settings, binDir: io.binDir }).join(' ');
      io.stdout.write(`would run: ${codex} in ${wt.path}\nwould run: ${ship}, pushing ${wt.branch} to ${envelope.repo?.url ?? 'origin'}\n${wt.branch}\n`);
    }
    return 0;
  }
  if (!options.json) {
    const branch = envelope.ship?.branch;
    if (branch) io.stdout.write(`${branch}\n`);
    if (envelope.ship?.pr) io.stdout.write(`${envelope.ship.pr.url}\n`);
  }
  return 0;
}

async function withSignals<T>(fn: (signal: AbortSignal) => Promise<T>, external?: AbortSignal): Promise<T> {
  const controller = new AbortController();
  const abort = () => controller.abort();
  external?.addEventListener('abort', abort, { once: true });
  const onSignal = () => controller.abort();
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await fn(controller.signal);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    external?.removeEventListener('abort', abort);
  }
}

async function close(journal: Journal, exitCode: number, dryRun: boolean, signal: AbortSignal): Promise<void> {
  journal.record = {
    ...journal.record,
    ended: new Date().toISOString(),
    status: exitCode !== 0 ? (signal.aborted ? 'interrupted' : 'failed') : dryRun ? 'dry_run' : 'done',
    exit_code: exitCode,
  };
  try {
    await journal.save();
  } finally {
    await journal.unlock();
  }
}

/**
 * Runs the stages and closes the journal. A failure of jgo's own (the journal cannot be written:
 * a full disk) is one line and its exit code; the journal keeps its last whole record, and the
 * run is resumed once the cause is gone.
 */
async function pipeline(io: CommandIO, p: Prepared, journal: Journal, from: StageKey, until: StageKey, input: Envelope, options: RunOptions): Promise<number> {
  try {
    return await withSignals(async (signal) => {
      const { envelope, exitCode } = await runPipeline(journal, from, until, input, pipelineContext(io, p, options.quiet ?? false, signal));
      await close(journal, exitCode, options.dryRun ?? false, signal);
      return finish(io, p, journal, envelope, exitCode, options);
    }, io.signal);
  } catch (error) {
    await journal.unlock().catch(() => {});
    const code = fail(io, error, options.json ?? false);
    if (!options.quiet) say(io, p.redact, `to continue after fixing the cause: jgo resume ${journal.record.run_id}`);
    return code;
  }
}

function takeThread(io: CommandIO, p: Prepared, thread: string): Promise<Lock> {
  const { JGO_CODEX_TIMEOUT_S } = configOf(p.settings);
  // Long enough for the run ahead to finish: codex's edit and its plan at their longest.
  const timeoutMs = (2 * JGO_CODEX_TIMEOUT_S + 600) * 1000;
  const onWait = (holder: string) => say(io, p.redact, `waiting for the run of this thread in progress (${holder})`);
  return lockThread(p.cache, thread, { timeoutMs, onWait, ...(io.signal ? { signal: io.signal } : {}) });
}

/**
 * Takes the lock of the run's thread (waiting, and saying so, while another run of it works) and,
 * for a follow-up, reads what the thread did so far once the lock is held.
 */
async function joinThread(io: CommandIO, p: Prepared, runId: string, request: string, ref: string | undefined): Promise<{ lock: Lock; follow: Continue | undefined }> {
  const target: FollowUpTarget | undefined = ref === undefined ? undefined : await findTarget(p.cache, parseContinueRef(ref), (n, url) => lookupPullRequest(p.settings, request, n, url, io.signal));
  const lock = await takeThread(io, p, target?.thread ?? runId);
  if (target === undefined) return { lock, follow: undefined };
  try {
    const members = target.thread === undefined ? [] : await threadMembers(p.cache, target.thread);
    return { lock, follow: followUp(runId, target, members) };
  } catch (error) {
    await lock.release();
    throw error;
  }
}

/** A run id given with --run-id: of the run-id form, and no run's yet. */
async function checkNewRunId(cache: string, runId: string): Promise<void> {
  if (!RUN_ID_FORMAT.test(runId)) throw new UsageError('bad_flags', `--run-id ${JSON.stringify(runId.slice(0, 40))} is not a run id (YYYYMMDD-HHMMSS-xxxx)`);
  if (await exists(runDir(cache, runId))) throw new UsageError('bad_flags', `--run-id ${runId} is taken: a run with that id exists`, { hint: 'Leave --run-id out, and jgo makes a new one.' });
}

export async function runCommand(request: string, options: RunOptions, given: CommandIO): Promise<number> {
  const io = withPrSettings(given, options);
  let p: Prepared;
  let journal: Journal;
  let thread: { lock: Lock; follow: Continue | undefined } | undefined;
  const runId = options.runId ?? newRunId();
  try {
    p = prepareRun(io);
    if (options.runId !== undefined) await checkNewRunId(p.cache, options.runId);
    trace('settings read');
    if (request.trim() === '') throw new UsageError('no_request', 'no request: jgo run "owner/repo what to change"');
    thread = await joinThread(io, p, runId, request.trim(), options.continue);
    journal = await Journal.create(p.cache, runId, p.redact.text(request.trim()), options.dryRun ?? false, thread.follow);
    trace('journal made');
  } catch (error) {
    await thread?.lock.release();
    return fail(io, error, options.json ?? false);
  }
  const { follow } = thread;
  if (!options.quiet) say(io, p.redact, follow ? `run ${runId}, following up ${follow.parent ?? follow.branch} on ${follow.branch}` : `run ${runId}`);
  const until: StageKey = options.dryRun ? 'worktree' : 'ship';
  const input: Envelope = { jgo: ENVELOPE_VERSION, run_id: runId, request: request.trim(), ...(follow ? { continue: follow } : {}) };
  try {
    return await pipeline(io, p, journal, 'gate', until, input, options);
  } finally {
    await thread.lock.release();
  }
}

export async function resumeCommand(runId: string, options: RunOptions, given: CommandIO): Promise<number> {
  const io = withPrSettings(given, options);
  let p: Prepared;
  let journal: Journal | undefined;
  try {
    p = prepareRun(io);
    journal = await Journal.open(p.cache, runId);
    if (!journal) throw new UsageError('run_not_found', `no run ${runId} in ${join(p.cache, 'runs')}`, { hint: 'jgo runs lists the runs.' });
    // From here on this process is the run's one writer, or it has written nothing and stops.
    await journal.claim();
  } catch (error) {
    return fail(io, error, options.json ?? false);
  }
  let lock: Lock | undefined;
  try {
    lock = await takeThread(io, p, threadOf(journal.record));
    return await resumeClaimed(io, p, journal, options);
  } catch (error) {
    await journal.unlock().catch(() => {});
    return fail(io, error, options.json ?? false);
  } finally {
    await lock?.release();
  }
}

/** resume, once the run's lock is held: from the first stage that failed or never ran. */
async function resumeClaimed(io: CommandIO, p: Prepared, journal: Journal, options: RunOptions): Promise<number> {
  const runId = journal.record.run_id;
  const records = await journal.stages();
  // The last good envelope, and the first stage that failed or never ran.
  let from: StageKey = 'gate';
  const follow = journal.record.continue;
  let input: Envelope = { jgo: ENVELOPE_VERSION, run_id: runId, request: journal.record.request, ...(follow ? { continue: follow } : {}) };
  for (const stage of STAGES) {
    const record = records.find((r) => r.stage === stage);
    if (!record || record.exit_code !== 0) {
      from = stage;
      break;
    }
    input = record.envelope;
    from = STAGES[STAGES.indexOf(stage) + 1] ?? stage;
    if (stage === 'ship') {
      await journal.unlock();
      if (!options.quiet) say(io, p.redact, `run ${runId} is already done`);
      return finish(io, p, journal, record.envelope, 0, options);
    }
  }
  if (input.error) {
    const { error: _dropped, ...rest } = input;
    input = rest;
  }
  if (!options.quiet) say(io, p.redact, `resuming run ${runId} at ${from}`);
  journal.record = { ...journal.record, status: 'running', pid: process.pid, host: journal.record.host };
  delete journal.record.ended;
  delete journal.record.exit_code;
  delete journal.record.dry_run;
  await journal.save();
  return pipeline(io, p, journal, from, 'ship', input, { ...options, dryRun: false });
}

export interface RunSummary {
  run_id: string;
  started: string;
  repo: string | undefined;
  last_stage: string | undefined;
  status: string;
  branch: string | undefined;
  exit_code: number | undefined;
  /** The thread the run belongs to (its first run's id), and the run it follows up. */
  thread: string;
  parent: string | undefined;
}

async function summarize(journal: Journal): Promise<RunSummary> {
  const records = await journal.stages();
  const last = records.at(-1);
  const env = last?.envelope;
  const status = journal.record.status === 'running' && !journal.inProgress() ? 'abandoned' : journal.record.status;
  return {
    run_id: journal.record.run_id,
    started: journal.record.started,
    repo: env?.repo?.ref,
    last_stage: last?.stage,
    status,
    branch: env?.ship?.branch ?? env?.worktree?.branch,
    exit_code: journal.record.exit_code,
    thread: threadOf(journal.record),
    parent: journal.record.parent,
  };
}

/** The newest `limit` runs of the journal, newest first (`jgo runs --json`, `GET /v1/runs`). */
export async function listRuns(cache: string, limit: number): Promise<RunSummary[]> {
  const summaries: RunSummary[] = [];
  for (const id of (await listRunIds(cache)).slice(0, limit)) {
    const journal = await Journal.open(cache, id);
    if (journal) summaries.push(await summarize(journal));
  }
  return summaries;
}

export async function runsCommand(options: { json?: boolean; limit?: number }, io: CommandIO): Promise<number> {
  let p: Prepared;
  try {
    p = prepare(io);
  } catch (error) {
    return fail(io, error, options.json ?? false);
  }
  const summaries = await listRuns(p.cache, options.limit ?? 20);
  if (options.json) {
    io.stdout.write(`${JSON.stringify(summaries)}\n`);
    return 0;
  }
  // A follow-up's THREAD names its first run; a run that began its thread shows "-".
  const rows = [
    ['RUN', 'STARTED', 'REPOSITORY', 'LAST STAGE', 'STATUS', 'BRANCH', 'THREAD'],
    ...summaries.map((s) => [s.run_id, s.started.replace('T', ' ').slice(0, 19), s.repo ?? '-', s.last_stage ?? '-', s.status, s.branch ?? '-', s.thread === s.run_id ? '-' : s.thread]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  for (const row of rows) io.stdout.write(`${row.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd()}\n`);
  return 0;
}

export async function showCommand(runId: string, options: { json?: boolean }, io: CommandIO): Promise<number> {
  let p: Prepared;
  let journal: Journal | undefined;
  try {
    p = prepare(io);
    journal = await Journal.open(p.cache, runId);
    if (!journal) throw new UsageError('run_not_found', `no run ${runId}`, { hint: 'jgo runs lists the runs.' });
  } catch (error) {
    return fail(io, error, options.json ?? false);
  }
  const { renderReport } = await import('./report.js');
  const report = await runReport(p.cache, journal);
  io.stdout.write(options.json ? `${JSON.stringify(report)}\n` : renderReport(report));
  return 0;
}

/** What `jgo show --json` (and `GET /v1/runs/{run_id}`) says of a run, its thread included. */
export async function runReport(cache: string, journal: Journal): Promise<Report> {
  const { buildReport } = await import('./report.js');
  const members = await threadMembers(cache, threadOf(journal.record));
  const thread = members.map((m) => ({ run_id: m.record.run_id, status: m.record.status, request: m.record.request, commits: m.ship?.commits.map((c) => ({ sha: c.sha, subject: c.subject })) ?? [] }));
  return buildReport(journal.record, await journal.stages(), journal.inProgress(), thread);
}


export async function gcCommand(options: { days?: number; json?: boolean }, io: CommandIO): Promise<number> {
  let p: Prepared;
  try {
    p = prepare(io);
    if (options.days !== undefined && (!Number.isFinite(options.days) || options.days < 0)) throw new UsageError('bad_flags', '--days takes a number of days, 0 or more');
  } catch (error) {
    return fail(io, error, options.json ?? false);
  }
  const { collectGarbage } = await import('./gc.js');
  const { removed, bytes } = await collectGarbage(p.cache, options.days ?? 7);
  if (options.json) io.stdout.write(`${JSON.stringify({ removed: removed.map((run_id) => ({ run_id })), bytes, estimated: true })}\n`);
  else {
    for (const id of removed) io.stdout.write(`removed ${id}\n`);
    io.stdout.write(`freed about ${formatBytes(bytes)} in ${removed.length} run${removed.length === 1 ? '' : 's'}\n`);
  }
  return 0;
}
