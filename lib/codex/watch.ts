/**
 * Running `codex exec` and watching it: the prompt on stdin (then closed), codex in a process
 * group of its own, each stdout line an event, a wall-clock and an idle limit, and the whole
 * group stopped on a limit or a signal. What the events mean is the caller's (summary.ts).
 */
import { createInterface } from 'node:readline';
import { UsageError, messageOf } from '../errors.js';
import { oneLine, parseEvent, type CodexEvent } from './events.js';
import { spawnGroup } from './process.js';

const STDERR_TAIL = 8192;

export interface WatchOptions {
  cwd: string;
  env: Record<string, string>;
  prompt: string;
  timeoutMs: number;
  idleMs: number;
  signal: AbortSignal;
  /** Every stderr line is shown, not only codex's errors. */
  debug: boolean;
  say: (line: string) => void;
  onEvent: (event: CodexEvent) => void;
}

export interface Watched {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** Why jgo stopped codex, when it did. */
  stopped: 'wall' | 'idle' | 'signal' | undefined;
  /** The last few KB of codex's stderr, as it wrote them. */
  stderr: string;
  /** From the spawn to the group's end. */
  execMs: number;
}

/** Runs codex to its end (or jgo's); throws only when it could not be started (codex_missing). */
export async function watchCodex(bin: string, args: string[], options: WatchOptions): Promise<Watched> {
  const started = Date.now();
  let stopped: Watched['stopped'];
  let stopping: Promise<void> | undefined;
  const group = spawnGroup(bin, args, { cwd: options.cwd, env: options.env });
  const stop = (why: 'wall' | 'idle' | 'signal') => {
    if (stopped !== undefined) return;
    stopped = why;
    stopping = group.stop();
  };
  const wall = setTimeout(() => stop('wall'), options.timeoutMs);
  let idle = setTimeout(() => stop('idle'), options.idleMs);
  const onAbort = () => stop('signal');
  options.signal.addEventListener('abort', onAbort, { once: true });
  if (options.signal.aborted) onAbort();

  let stderr = '';
  try {
    const { child } = group;
    child.stdin?.on('error', () => {}); // codex may exit before reading it all
    // codex reads stdin to its end: a pipe left open hangs it. The prompt never goes in the argv.
    child.stdin?.end(options.prompt);
    if (child.stdout) {
      createInterface({ input: child.stdout, crlfDelay: Infinity }).on('line', (line) => {
        if (line.trim() === '') return;
        // Any event is a sign of life: the idle limit starts again.
        clearTimeout(idle);
        if (stopped === undefined) idle = setTimeout(() => stop('idle'), options.idleMs);
        const event = parseEvent(line);
        if (event) options.onEvent(event);
        else options.say(`codex: ${oneLine(line, 300)}`);
      });
    }
    if (child.stderr) {
      createInterface({ input: child.stderr, crlfDelay: Infinity }).on('line', (line) => {
        stderr = (stderr + line + '\n').slice(-STDERR_TAIL);
        // codex's own diagnostics: errors are worth a line, the rest only when debugging.
        if (options.debug || /\bERROR\b/.test(line)) options.say(`codex stderr: ${oneLine(line, 300)}`);
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
    // Whatever codex left running in its group goes too: a run leaves no process behind.
    if (stopping) await stopping;
    else if (group.alive()) await group.stop();
    return { ...outcome, stopped, stderr, execMs: Date.now() - started };
  } finally {
    clearTimeout(wall);
    clearTimeout(idle);
    options.signal.removeEventListener('abort', onAbort);
    group.release();
  }
}
