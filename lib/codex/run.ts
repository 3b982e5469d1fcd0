/**
 * The codex runner every stage shares, as a sequence: check the login, start `codex exec --json`
 * with the prompt on stdin and watch it (watch.ts), fold its events into what the run did
 * (summary.ts), note which codex and which model ran (session.ts), check what it wrote for
 * secrets (leaks.ts), and refuse a run jgo had to stop. jgo-codex edits with it; jgo-ship asks
 * it for a commit plan.
 *
 * It returns what codex did and leaves the verdict to the caller: a failed turn or a non-zero
 * exit is reported (`turnFailed`, `exitCode`), not thrown. It throws only when the run itself
 * could not be trusted or finished: codex_missing / codex_login_required (exit 2),
 * codex_timeout, secret_on_disk, interrupted. A secret caught on disk is taken off the cache
 * before the error is thrown (lib/codex/leaks.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { mkdir, readFile, rm } from 'node:fs/promises';
import { dirname, join, isAbsolute } from 'node:path';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { Redactor } from '../redact.js';
import { codexEnv, execArgs, resolveBin, type CodexConfig, type Sandbox } from './args.js';
import type { CodexContext } from './context.js';
import { renderEvent, type CodexEvent } from './events.js';
import { ensureLogin } from './login.js';
import { secretNeedles } from '../needles.js';
import { makeRunTemp, refuseLeaks, watchForLeaks } from './leaks.js';
import { codexVersion, sessionModel } from './session.js';
import { CodexRunError, emptyRun, finishRun, foldEvent, type CodexRun } from './summary.js';
import { watchCodex, type Watched } from './watch.js';
import { trace } from '../trace.js';

export { CodexRunError, type CodexRun, type FailedCommand } from './summary.js';
export type { CodexContext } from './context.js';

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
   * it returns is awaited before a working copy holding a secret is removed; the paths it names
   * as changed in the workspace (`changed`, from one git status) are all the scan reads there.
   */
  afterExit?: () => Promise<{ changed?: string[] } | undefined> | void;
  /** Called for every event, after it was recorded and shown. */
  onEvent?: (event: CodexEvent) => void;
  /**
   * Ask `codex --version` too, alongside the login check and the run (`version` in the result):
   * one more process, so only for a run whose report names the release (jgo-codex's).
   */
  askVersion?: boolean;
  /** codex's thread to continue (`codex exec resume`): its session must be under CODEX_HOME. */
  resume?: string | undefined;
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
async function codexSetup(context: CodexContext, extraEnv: Record<string, string> | undefined) {
  const { config } = context;
  const bin = resolveBin(config.bin, context.env, context.cwd);
  if (bin === undefined) {
    throw new UsageError('codex_missing', `CODEX_BIN=${config.bin}: no such executable${config.bin.includes('/') ? '' : ' on PATH'}`, {
      hint: 'Install codex (npm install -g @openai/codex), or point CODEX_BIN at it.',
    });
  }
  // codex refuses a CODEX_HOME that does not exist; it holds sessions and maybe a login: 0700.
  await mkdir(config.home, { recursive: true, mode: 0o700 });
  return { bin, ...codexEnv(config, context.env, extraEnv) };
}

/**
 * Starts codex's login check ahead of a run that is known to follow, so that it overlaps work the
 * run waits for; pass the result as `login` to runCodex, which reports its failure (it is never
 * an unhandled rejection, even when no run follows). Resolves to the check's duration in ms.
 */
export function startLoginCheck(cwd: string, context: CodexContext): Promise<number> {
  const began = performance.now();
  const check = (async () => {
    const { bin, env, secrets } = await codexSetup(context, undefined);
    const redact = new Redactor(secretNeedles(secrets));
    await ensureLogin(context.config, bin, env, cwd, (line) => context.log(redact.text(line)), context.signal);
    return Math.round(performance.now() - began);
  })();
  check.catch(() => undefined);
  return check;
}

export async function runCodex(options: RunCodexOptions, context: CodexContext): Promise<CodexRun> {
  const { config } = context;
  const sandbox = options.sandbox ?? config.sandbox;
  const { cwd } = options;
  if (!isAbsolute(cwd) || !statSync(cwd, { throwIfNoEntry: false })?.isDirectory()) {
    throw new UsageError('bad_cwd', `codex cannot work in ${cwd}: not an existing directory`);
  }
  const gitRoot = findGitRoot(cwd);
  const skipGitRepoCheck = options.skipGitRepoCheck ?? gitRoot === undefined;
  const workspace = options.workspace ?? gitRoot ?? cwd;

  const { bin, env, secrets } = await codexSetup(context, options.extraEnv);
  // Encoded forms too: a command line or its echo can carry the token base64-encoded.
  const redact = new Redactor(secretNeedles(secrets));
  const say = (line: string) => context.log(redact.text(line));
  // Asked while the login is checked and codex runs; it never fails the run.
  const version = options.askVersion ? codexVersion(bin, { PATH: env.PATH, HOME: env.HOME, CODEX_HOME: config.home }) : undefined;

  const loginBegan = performance.now();
  const loginMs = await (options.login ?? ensureLogin(config, bin, env, cwd, say, context.signal).then(() => Math.round(performance.now() - loginBegan)));
  await options.ready;
  trace('codex login check', loginBegan);
  context.signal.throwIfAborted();

  // Temp files stay on the cache and go with the run: beside the working copy, outside its tree.
  const outDir = await makeRunTemp(context.cache, workspace, 'codex-');
  const lastMessageFile = join(outDir, 'last-message.txt');
  const args = execArgs({ config, sandbox, lastMessageFile, skipGitRepoCheck, outputSchema: options.outputSchema, resume: options.resume });
  say(`${describeRun(cwd, sandbox, config)}${options.resume !== undefined ? `, resuming thread ${options.resume}` : ''}`);

  const run = emptyRun(sandbox, loginMs, config.provider.model);
  const leakWatch = await watchForLeaks(config.home, workspace, sandbox);
  const started = Date.now();
  let watched: Watched | undefined;
  try {
    watched = await watchCodex(bin, args, {
      cwd,
      env,
      prompt: options.prompt,
      timeoutMs: config.timeoutMs,
      idleMs: config.idleMs,
      signal: context.signal,
      debug: context.debug,
      say,
      onEvent: (event: CodexEvent) => {
        run.events.push(event);
        foldEvent(run, event, cwd);
        for (const line of renderEvent(event, cwd)) say(line);
        options.onEvent?.(event);
      },
    });
    run.exitCode = watched.code;
    run.signal = watched.signal;
  } finally {
    const execMs = Date.now() - started;
    trace('codex exec', performance.now() - execMs);
    run.durationMs = loginMs + execMs;
    run.lastMessage = await readFile(lastMessageFile, 'utf8').catch(() => '');
    await rm(outDir, { recursive: true, force: true });
  }
  run.model = (await sessionModel(config.home, run.threadId, started)) ?? run.model;
  run.version = await version;
  finishRun(run, watched.stderr, redact);

  const finishing = options.afterExit?.();
  const changed = finishing?.then((after) => after?.changed);
  await refuseLeaks(leakWatch, { cache: context.cache, secrets, finishing, changed, say }, run);
  refuseStopped(watched.stopped, run, config, context.signal);
  return run;
}

/** The line that says how codex is run: where, sandbox, provider, model, environment. */
function describeRun(cwd: string, sandbox: Sandbox, config: CodexConfig): string {
  const p = config.provider;
  const network = sandbox === 'workspace-write' ? `, network ${config.network ? 'on' : 'off'}` : '';
  const provider = p.kind === 'openai-compatible' ? `provider ${withoutCredentials(p.baseURL)}` : 'provider codex';
  return `codex exec in ${cwd} (sandbox ${sandbox}${network}, ${provider}${p.model ? `, model ${p.model}` : ''}, env ${config.envMode})`;
}

/** A run jgo stopped is an error, whatever codex said before it went. */
function refuseStopped(stopped: Watched['stopped'], run: CodexRun, config: CodexConfig, signal: AbortSignal): void {
  const seconds = Math.round(run.durationMs / 1000);
  if (stopped === 'signal') {
    const reason: unknown = signal.reason;
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
}
