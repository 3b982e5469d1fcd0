/**
 * What a codex run did, as jgo reports it: the summary folded from codex's events one at a time,
 * finished (redacted, its failure put in words) once codex is gone, and the error that carries it
 * when the run could not be finished or trusted.
 */
import { isAbsolute, relative } from 'node:path';
import { addUsage, type Usage } from '../envelope.js';
import { JgoError, type ErrorCode, type FailureExit } from '../errors.js';
import type { Redactor } from '../redact.js';
import type { Sandbox } from './args.js';
import { asCommand, asFileChange, eventMessage, failedCommand, isItemEvent, plainMessage, TurnUsage, unwrapCommand, type CodexEvent } from './events.js';

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
  /**
   * The model codex used: what its session record names for this run's last turn, else the one
   * jgo asked for (`-m`). codex's own default changes between releases, so it is read, not assumed.
   */
  model: string | undefined;
  /** What `codex --version` said (`0.171.0`), when it answered. */
  version: string | undefined;
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

/** A run before its first event. */
export function emptyRun(sandbox: Sandbox, loginMs: number, model: string | undefined): CodexRun {
  return {
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
    version: undefined,
  };
}

/** Folds one event into the run's summary. */
export function foldEvent(run: CodexRun, event: CodexEvent, cwd: string): void {
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

/**
 * The summary once codex is gone: what it wrote redacted, and a failure put in codex's words
 * (turn.failed, else its last notice, else the last line of stderr that is not chatter).
 */
export function finishRun(run: CodexRun, stderr: string, redact: Redactor): void {
  run.stderrTail = redact.text(stderr);
  run.lastMessage = redact.text(run.lastMessage);
  run.failedCommands = run.failedCommands.map((c) => ({ ...c, command: redact.text(c.command) }));
  run.commands = run.commands.map((c) => ({ ...c, command: redact.text(c.command) }));
  if (run.model !== undefined) run.model = redact.text(run.model);
  if (run.failureMessage === undefined && (run.turnFailed || run.exitCode !== 0 || !run.turnCompleted)) {
    const lastStderr = run.stderrTail.trim().split('\n').filter((l) => !/^(WARNING|Reading (prompt|additional input))/.test(l)).at(-1);
    run.failureMessage = run.notices.at(-1) ?? lastStderr;
  }
  if (run.failureMessage !== undefined) run.failureMessage = redact.text(plainMessage(run.failureMessage));
}
