/**
 * A chat turn is a `jgo run`: the server starts the same command a person would (`jgo run --json
 * [--continue <run>] <request>`) as a process of its own, reads its progress lines from stderr
 * and its final envelope from stdout. The pipeline, its journal and its locks are jgo run's; a
 * server that dies leaves runs `jgo resume` can continue.
 */
import spawn from 'cross-spawn';
import { Envelope, RUN_ID_FORMAT } from '../envelope.js';
import type { Redactor } from '../redact.js';

export interface RunRequest {
  /** The new run's id, named by the server so that its response can carry it from the start. */
  runId?: string | undefined;
  request: string;
  /** The run this one follows up (`--continue`). */
  follows?: string | undefined;
  /** `jgo resume <run_id>` instead of a new run. */
  resume?: string | undefined;
}

export interface RunOutcome {
  runId: string | undefined;
  exitCode: number;
  /** The final envelope (`--json`); undefined when jgo printed none (it was killed). */
  envelope: Envelope | undefined;
}

export interface RunnerOptions {
  /** The jgo executable: this process's own script. */
  jgo: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  redact: Redactor;
}

/** The line people see for a line of jgo's stderr: `jgo-gate: …` becomes `gate: …`. */
function shown(line: string): string | undefined {
  const m = /^jgo(?:-(gate|sync|worktree|codex|ship))?: (.*)$/.exec(line);
  if (!m) return undefined;
  return m[1] ? `${m[1]}: ${m[2]}` : m[2];
}

export interface RunHandle {
  done: Promise<RunOutcome>;
  /** Stops the run as a Ctrl-C would: jgo run records it interrupted, for `jgo resume`. */
  interrupt(): void;
}

/** Starts the run; `onLine` gets each progress line, `onRunId` the run's id once jgo says it. */
export function startRun(req: RunRequest, options: RunnerOptions, onLine: (line: string) => void, onRunId: (id: string) => void): RunHandle {
  const args = req.resume !== undefined
    ? ['resume', '--json', req.resume]
    // The request after a space: a word that starts with one is never read as a flag, whatever
    // the chat said ("--continue …" is text); jgo run trims it.
    : ['run', '--json', ...(req.runId !== undefined ? ['--run-id', req.runId] : []), ...(req.follows !== undefined ? ['--continue', req.follows] : []), ` ${req.request}`];
  const child = spawn(process.execPath, [options.jgo, ...args], { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
  let runId = req.resume ?? req.runId;
  let stdout = '';
  let pending = '';
  child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  child.stderr!.setEncoding('utf8').on('data', (d: string) => {
    pending += d;
    const lines = pending.split('\n');
    pending = lines.pop() ?? '';
    for (const raw of lines) {
      const line = options.redact.text(raw);
      const id = /^jgo: run (\S+?),?(?: |$)/.exec(line)?.[1];
      if (id !== undefined && RUN_ID_FORMAT.test(id) && (runId === undefined || runId === id)) {
        runId = id;
        onRunId(id);
      }
      const text = shown(line);
      if (text !== undefined) onLine(text);
    }
  });
  const done = new Promise<RunOutcome>((resolve) => {
    child.on('error', () => resolve({ runId, exitCode: 1, envelope: undefined }));
    child.on('close', (code) => {
      const parsed = Envelope.safeParse(lastJson(stdout));
      const envelope = parsed.success ? parsed.data : undefined;
      resolve({ runId: runId ?? envelope?.run_id, exitCode: code ?? 1, envelope });
    });
  });
  return { done, interrupt: () => child.kill('SIGTERM') };
}

function lastJson(text: string): unknown {
  const line = text.trim().split('\n').at(-1) ?? '';
  try {
    return JSON.parse(line);
  } catch {
    return undefined;
  }
}
