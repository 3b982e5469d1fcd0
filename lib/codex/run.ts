/**
 * The codex runner every stage shares: `codex exec --json` with the prompt on stdin (then
 * closed), in its own process group, watched event by event with a wall-clock and an idle
 * limit, stopped with its whole group on a limit or a signal, and checked afterwards for
 * secrets written to disk. jgo-codex edits with it; jgo-ship asks it for a commit plan.
 *
 * It returns what codex did and leaves the verdict to the caller: a failed turn or a non-zero
 * exit is reported (`turnFailed`, `exitCode`), not thrown. It throws only when the run itself
 * could not be trusted or finished: codex_missing / codex_login_required (exit 2),
 * codex_timeout, secret_on_disk, interrupted. A secret caught on disk is taken off the cache
 * before the error is thrown (lib/codex/leaks.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, relative, isAbsolute } from 'node:path';
import { createInterface } from 'node:readline';
import type { Usage } from '../envelope.js';
import { EXIT, JgoError, UsageError, messageOf, type ErrorCode, type FailureExit } from '../errors.js';
import { Redactor } from '../redact.js';
import { cacheDir } from '../cache.js';
import type { StageContext } from '../stage.js';
import { codexEnv, execArgs, readCodexConfig, resolveBin, type CodexConfig, type Sandbox } from './args.js';
import {
  asCommand,
  asFileChange,
  eventMessage,
  failedCommand,
  unwrapCommand,
  isItemEvent,
  oneLine,
  parseEvent,
  plainMessage,
  renderEvent,
  TurnUsage,
  type CodexEvent,
} from './events.js';
import { ensureLogin } from './login.js';
import { spawnGroup } from './process.js';
import { fileSystemNow, scanForSecrets } from './secrets.js';
import { secretNeedles } from '../needles.js';
import { cleanupSummary, keepFile, makeRunTemp, removeLeaks, type KeptFile } from './leaks.js';
import { trace } from '../trace.js';

export type RunContext = Pick<StageContext, 'settings' | 'io' | 'log' | 'signal'>;

export interface RunCodexOptions {
  /** Where codex works: the working copy, or the current directory in the ad-hoc chain. */
  cwd: string;
  /** The whole prompt; it goes on stdin, never in the argv. */
  prompt: string;
  /** Default: JGO_CODEX_SANDBOX. jgo-ship plans with read-only. */
  sandbox?: Sandbox;
  /** A JSON Schema file for the final answer (`--output-schema`); codex does not validate it. */
  outputSchema?: string;
  /** Default: true when no `.git` is found from cwd upwards. */
  skipGitRepoCheck?: boolean;
  /** The directory scanned for secrets besides CODEX_HOME. Default: the repository root, else cwd. */
  workspace?: string;
  /** Default: read from the settings (readCodexConfig). */
  config?: CodexConfig;
  /**
   * Work that must be done before codex starts, run while codex's login is checked (jgo-codex's
   * snapshot of the working copy); its failure stops the run before codex is started.
   */
  ready?: Promise<unknown>;
  /**
   * A login check already under way (startLoginCheck), awaited instead of checking again: jgo-ship
   * starts it while git reads the working copy's status. Resolves to its duration in ms.
   */
  login?: Promise<number>;
  /** Variables added to codex's environment in either JGO_CODEX_ENV mode. Values under secret-like
   *  names (…KEY, …TOKEN, …SECRET, …) are scrubbed from output and scanned for on disk. */
  extraEnv?: Record<string, string>;
  /**
   * Called once codex and everything it started are gone, before the secret scan: work that
   * needs codex finished (jgo-codex's second snapshot) can start then and overlap the scan. What
   * it returns is awaited before a working copy holding a secret is removed.
   */
  afterExit?: () => Promise<unknown> | void;
  /** Called for every event, after it was recorded and shown. */
  onEvent?: (event: CodexEvent) => void;
}

export type FailedCommand = {
  command: string;
  exit_code: number | null;
};

export interface CodexRun {
  /** codex's exit code; null when it was ended by a signal. */
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The final agent message (`-o`); empty when there was none. */
  lastMessage: string;
  threadId: string | undefined;
  /** Token usage summed over turn.completed events (total_tokens = input + output). */
  usage: Usage | undefined;
  failedCommands: FailedCommand[];
  /** Every command the agent ran, in order, with its exit code. */
  commands: FailedCommand[];
  /** Files codex reported editing (file_change items), relative to cwd where inside it. */
  fileChanges: Array<{ path: string; kind: string }>;
  events: CodexEvent[];
  /** Top-level error events: retries and reconnects codex announced. */
  notices: string[];
  /** From codex's login check (when there is one) to its exit: all of codex's time. */
  durationMs: number;
  /** Of which the login check (`codex login status`). */
  loginMs: number;
  turnCompleted: boolean;
  turnFailed: boolean;
  /** Why it failed, in codex's words: turn.failed, else the last notice, else stderr. */
  failureMessage: string | undefined;
  /** The last few KB of codex's stderr (redacted). */
  stderrTail: string;
  sandbox: Sandbox;
  model: string | undefined;
}

/** A run that could not be finished or trusted; `run` holds what was seen up to then. */
export class CodexRunError extends JgoError {
  readonly run: CodexRun;

  constructor(code: ErrorCode, message: string, exitCode: FailureExit, run: CodexRun, hint?: string) {
    super(code, message, exitCode, hint === undefined ? {} : { hint });
    this.name = 'CodexRunError';
    this.run = run;
  }
}

/** The settings of codex for this process: CODEX_HOME defaults to $JGO_CACHE_DIR/codex. */
export function codexConfig(context: Pick<StageContext, 'settings' | 'log'>): CodexConfig {
  return readCodexConfig(context.settings, () => join(cacheDir(context), 'codex'));
}

/** The directory holding `.git` (a directory, or a file for linked worktrees), from dir upwards. */
export function findGitRoot(dir: string): string | undefined {
  let current = dir;
  for (;;) {
    if (existsSync(join(current, '.git'))) return current;
    const parent = dirname(current);
    if (parent === current) return undefined;
    current = parent;
  }
}

const STDERR_TAIL = 8192;

/** A URL as people may see it: user and password left out. */
function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}

/** codex's executable and environment, as a run (or a login check ahead of it) gets them. */
async function codexSetup(config: CodexConfig, context: RunContext, extraEnv: Record<string, string> | undefined) {
  const bin = resolveBin(config.bin, context.io.env, context.io.cwd);
  if (bin === undefined) {
    throw new UsageError('codex_missing', `CODEX_BIN=${config.bin}: no such executable${config.bin.includes('/') ? '' : ' on PATH'}`, {
      hint: 'Install codex (npm install -g @openai/codex), or point CODEX_BIN at it.',
    });
  }
  // codex refuses a CODEX_HOME that does not exist; it holds sessions and maybe a login: 0700.
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  return { bin, ...codexEnv(config, context.settings, context.io.env, extraEnv) };
}

/**
 * Starts codex's login check ahead of a run that is known to follow, so that it overlaps work the
 * run waits for; pass the result as `login` to runCodex, which reports its failure (it is never
 * an unhandled rejection, even when no run follows). Resolves to the check's duration in ms.
 */
export function startLoginCheck(cwd: string, context: RunContext, config: CodexConfig = codexConfig(context)): Promise<number> {
  const began = performance.now();
  const check = (async () => {
    const { bin, env, secrets } = await codexSetup(config, context, undefined);
    const redact = new Redactor(secretNeedles(secrets));
    await ensureLogin(config, bin, env, cwd, (line) => context.log(redact.text(line)), context.signal);
    return Math.round(performance.now() - began);
  })();
  check.catch(() => undefined);
  return check;
}

export async function runCodex(options: RunCodexOptions, context: RunContext): Promise<CodexRun> {
  const config = options.config ?? codexConfig(context);
  const sandbox = options.sandbox ?? config.sandbox;
  const cwd = options.cwd;
  if (!isAbsolute(cwd) || !statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError('bad_cwd', `codex cannot work in ${cwd}: not an existing directory`);
  }
  const gitRoot = findGitRoot(cwd);
  const skipGitRepoCheck = options.skipGitRepoCheck ?? gitRoot === undefined;
  const workspace = options.workspace ?? gitRoot ?? cwd;

  const { bin, env, secrets } = await codexSetup(config, context, options.extraEnv);
  // Encoded forms too: a command line or its echo can carry the token base64-encoded.
  const redact = new Redactor(secretNeedles(secrets));
  const say = (line: string) => context.log(redact.text(line));

  const loginBegan = performance.now();
  const loginMs = await (options.login ?? ensureLogin(config, bin, env, cwd, say, context.signal).then(() => Math.round(performance.now() - loginBegan)));
  await options.ready;
  trace('codex login check', loginBegan);
  context.signal.throwIfAborted();

  // Temp files stay on the cache and go with the run: beside the working copy, outside its tree.
  const outDir = await makeRunTemp(cacheDir(context), workspace, 'codex-');
  const lastMessageFile = join(outDir, 'last-message.txt');
  const args = execArgs({ config, sandbox, lastMessageFile, skipGitRepoCheck, outputSchema: options.outputSchema });
  const p = config.provider;
  const model = p.model;
  say(
    `codex exec in ${cwd} (sandbox ${sandbox}${sandbox === 'workspace-write' ? `, network ${config.network ? 'on' : 'off'}` : ''}, ` +
      `${p.kind === 'openai-compatible' ? `provider ${withoutCredentials(p.baseURL)}` : 'provider codex'}${model ? `, model ${model}` : ''}, env ${config.envMode})`,
  );

  const run: CodexRun = {
    exitCode: null,
    signal: null,
    lastMessage: '',
    threadId: undefined,
    usage: undefined,
    failedCommands: [],
    commands: [],
    fileChanges: [],
    events: [],
    notices: [],
    durationMs: 0,
    loginMs,
    turnCompleted: false,
    turnFailed: false,
    failureMessage: undefined,
    stderrTail: '',
    sandbox,
    model,
  };
  // What codex writes from now on is scanned for secrets: "now" by the file systems' own clocks.
  const gitDir = join(workspace, '.git');
  // In the read-only sandbox nothing codex runs can write the workspace: only CODEX_HOME, where
  // codex itself keeps its session logs, can take a secret. (A planning run in ship is read-only.)
  const writable = sandbox === 'read-only' ? [config.home] : [config.home, workspace];
  // A marker is written in each: in the workspace it goes under .git, which is never committed.
  const markIn = statSync(gitDir, { throwIfNoEntry: false })?.isDirectory() ? gitDir : workspace;
  const since = await fileSystemNow(writable.map((root) => (root === workspace ? markIn : root)));
  // The login's settings, to put back should the agent write a secret into them.
  const kept = [await keepFile(join(config.home, 'config.toml'))];
  const started = Date.now();
  const debug = context.settings.get('JGO_DEBUG') === '1';

  let stopped: 'wall' | 'idle' | 'signal' | undefined;
  let stopping: Promise<void> | undefined;
  const group = spawnGroup(bin, args, { cwd, env });
  const stop = (why: 'wall' | 'idle' | 'signal') => {
    if (stopped !== undefined) return;
    stopped = why;
    stopping = group.stop();
  };
  const wall = setTimeout(() => stop('wall'), config.timeoutMs);
  let idle = setTimeout(() => stop('idle'), config.idleMs);
  const onAbort = () => stop('signal');
  context.signal.addEventListener('abort', onAbort, { once: true });
  if (context.signal.aborted) onAbort();

  let stderr = '';
  try {
    const { child } = group;
    child.stdin?.on('error', () => {}); // codex may exit before reading it all
    // codex reads stdin to its end: a pipe left open hangs it. The prompt never goes in the argv.
    child.stdin?.end(options.prompt);

    const onEvent = (event: CodexEvent) => {
      run.events.push(event);
      record(run, event, cwd);
      for (const line of renderEvent(event, cwd)) say(line);
      options.onEvent?.(event);
    };
    if (child.stdout) {
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
        if (line.trim() === '') return;
        clearTimeout(idle);
        if (stopped === undefined) idle = setTimeout(() => stop('idle'), config.idleMs);
        const event = parseEvent(line);
        if (event) onEvent(event);
        else say(`codex: ${oneLine(line, 300)}`);
      });
    }
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        stderr = (stderr + line + '\n').slice(-STDERR_TAIL);
        // codex's own diagnostics: errors are worth a line, the rest only when debugging.
        if (debug || /\bERROR\b/.test(line)) say(`codex stderr: ${oneLine(line, 300)}`);
      });
    }

    let outcome: { code: number | null; signal: NodeJS.Signals | null };
    try {
      outcome = await group.done;
    } catch (error) {
      throw new UsageError('codex_missing', `cannot run ${bin}: ${messageOf(error)}`, {
        hint: 'Check CODEX_BIN, and that it is executable.',
      });
    }
    run.exitCode = outcome.code;
    run.signal = outcome.signal;
    // Whatever codex left running in its group goes too: a run leaves no process behind.
    if (stopping) await stopping;
    else if (group.alive()) await group.stop();
  } finally {
    clearTimeout(wall);
    clearTimeout(idle);
    context.signal.removeEventListener('abort', onAbort);
    group.release();
    const execMs = Date.now() - started;
    trace('codex exec', performance.now() - execMs);
    run.durationMs = loginMs + execMs;
    run.lastMessage = await readFile(lastMessageFile, 'utf8').catch(() => '');
    await rm(outDir, { recursive: true, force: true });
  }
  run.stderrTail = redact.text(stderr);
  run.lastMessage = redact.text(run.lastMessage);
  run.failedCommands = run.failedCommands.map((c) => ({ ...c, command: redact.text(c.command) }));
  run.commands = run.commands.map((c) => ({ ...c, command: redact.text(c.command) }));
  if (run.failureMessage === undefined && (run.turnFailed || run.exitCode !== 0 || !run.turnCompleted)) {
    const lastStderr = run.stderrTail.trim().split('\n').filter((l) => !/^(WARNING|Reading (prompt|additional input))/.test(l)).at(-1);
    run.failureMessage = run.notices.at(-1) ?? lastStderr;
  }
  if (run.failureMessage !== undefined) run.failureMessage = redact.text(plainMessage(run.failureMessage));
  const seconds = Math.round(run.durationMs / 1000);

  const finishing = options.afterExit?.();
  await refuseLeaks({ config, writable, workspace, gitDir, secrets, since, kept, finishing, say }, context, run);

  if (stopped === 'signal') {
    const reason: unknown = context.signal.reason;
    const error = reason instanceof JgoError ? reason : new JgoError('interrupted', 'stopped by a signal', EXIT.failed);
    throw new CodexRunError(error.code, `${error.message}; codex stopped after ${seconds} s`, error.exitCode, run);
  }
  if (stopped === 'idle') {
    throw new CodexRunError('codex_timeout', `codex sent no event for ${config.idleMs / 1000} s (JGO_CODEX_IDLE_S); stopped it and its processes`, EXIT.failed, run,
      'Raise JGO_CODEX_IDLE_S for tasks with long silent commands.');
  }
  if (stopped === 'wall') {
    throw new CodexRunError('codex_timeout', `codex ran for more than ${config.timeoutMs / 1000} s (JGO_CODEX_TIMEOUT_S); stopped it and its processes`, EXIT.failed, run,
      'Raise JGO_CODEX_TIMEOUT_S, or split the request.');
  }
  return run;
}

/**
 * Secrets first: a leak matters whatever else happened, and must stop the run's output going on.
 * What holds one is taken off the cache (lib/codex/leaks.ts) before secret_on_disk is thrown, so
 * that neither the cache nor the next run keeps it.
 */
async function refuseLeaks(
  scan: { config: CodexConfig; writable: string[]; workspace: string; gitDir: string; secrets: string[]; since: number; kept: KeptFile[]; finishing: Promise<unknown> | void; say: (line: string) => void },
  context: RunContext,
  run: CodexRun,
): Promise<void> {
  const { config, writable, workspace, gitDir, secrets, since } = scan;
  const scanBegan = performance.now();
  const options = {
    roots: writable,
    secrets,
    since,
    // auth.json is codex's own credential store. Git's objects are zlib-compressed, so no byte
    // scan can see a secret in them; what gets committed is scanned by jgo-ship before it is.
    skip: [join(config.home, 'auth.json'), join(gitDir, 'objects')],
  };
  const found = await scanForSecrets(options);
  trace(`secret scan read ${found.read} files`, scanBegan);
  if (found.truncated) scan.say(`secret scan stopped after 500000 entries under ${workspace}`);
  if (found.files.length === 0) return;
  await scan.finishing;
  const cleanup = await removeLeaks(found.files, { home: config.home, workspace, cache: cacheDir(context), kept: scan.kept });
  // Whatever is still there after the cleanup (a file that could not be removed) is named.
  const again = await scanForSecrets({ ...options, roots: [config.home] });
  const left = again.files.filter((f) => !cleanup.notOurs.includes(f));
  const [first] = found.files;
  const more = found.files.length > 1 ? ` (and ${found.files.length - 1} more: ${found.files.slice(1, 5).join(', ')})` : '';
  const done = cleanupSummary(cleanup, left);
  throw new CodexRunError('secret_on_disk', `a secret value in use was written to ${first}${more}${done ? `; jgo ${done}` : ''}`, EXIT.failed, run,
    `Rotate the secret: it was on disk while codex ran. Nothing was shipped, and the login in CODEX_HOME is kept${cleanup.workingCopy ? '; start a new run (jgo run), the working copy is gone' : ''}.`);
}

function addUsage(total: Usage | undefined, usage: TurnUsage): Usage {
  const sum = (a: number | undefined, b: number | undefined) => (a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0));
  const next: Usage = { ...(total ?? {}) };
  for (const key of ['input_tokens', 'cached_input_tokens', 'cache_write_input_tokens', 'output_tokens', 'reasoning_output_tokens'] as const) {
    const value = sum(total?.[key] as number | undefined, usage[key]);
    if (value !== undefined) next[key] = value;
  }
  next.total_tokens = (next.input_tokens ?? 0) + (next.output_tokens ?? 0);
  return next;
}

/** Folds one event into the run's summary. */
function record(run: CodexRun, event: CodexEvent, cwd: string): void {
  switch (event.type) {
    case 'thread.started': {
      const id = (event as { thread_id?: unknown }).thread_id;
      if (typeof id === 'string') run.threadId = id;
      return;
    }
    case 'turn.completed': {
      run.turnCompleted = true;
      const usage = TurnUsage.safeParse((event as { usage?: unknown }).usage);
      if (usage.success) run.usage = addUsage(run.usage, usage.data);
      return;
    }
    case 'turn.failed':
      run.turnFailed = true;
      run.failureMessage = eventMessage(event) || 'turn failed';
      return;
    case 'error':
      run.notices.push(eventMessage(event));
      return;
  }
  if (!isItemEvent(event) || event.type !== 'item.completed') return;
  const command = asCommand(event.item);
  if (command) {
    const failed = failedCommand(command);
    if (failed) run.failedCommands.push(failed);
    run.commands.push({ command: unwrapCommand(command.command), exit_code: command.exit_code ?? null });
    return;
  }
  const change = asFileChange(event.item);
  if (change && change.status !== 'failed') {
    for (const c of change.changes) {
      const rel = isAbsolute(c.path) ? relative(cwd, c.path) : c.path;
      run.fileChanges.push({ path: rel.startsWith('..') ? c.path : rel, kind: c.kind });
    }
  }
}
