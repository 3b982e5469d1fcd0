/**
 * Starting a stage process and collecting what it writes on stdout. compose.ts feeds the process
 * its envelope and reads the answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface StageProcess {
  command: string[];
  cwd: string;
  /** Whether its stderr is discarded (--quiet) rather than passed through. */
  quiet: boolean;
  child: ChildProcess & { stdin: NodeJS.WritableStream; stdout: NodeJS.ReadableStream };
  out: Buffer[];
  /** Set once the stage wrote more than MAX_STAGE_OUTPUT on stdout: it is then stopped. */
  overflowed: boolean;
  spawnError: Error | undefined;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a whole line is on stdout (a stage's one envelope), or at close. */
  answered: Promise<void>;
}

/** The most a stage may write on stdout: one envelope, which is at most 16 MiB (lib/stage.ts). */
export const MAX_STAGE_OUTPUT = 16 * 1024 * 1024;

export function spawnStageProcess(command: string[], options: { cwd: string; env: NodeJS.ProcessEnv; quiet: boolean }): StageProcess {
  const [file, ...args] = command as [string, ...string[]];
  const child = spawn(file, args, { cwd: options.cwd, env: options.env, stdio: ['pipe', 'pipe', options.quiet ? 'ignore' : 'inherit'] });
  let answer: () => void = () => {};
  const proc: StageProcess = {
    command,
    cwd: options.cwd,
    quiet: options.quiet,
    child: child as StageProcess['child'],
    out: [],
    overflowed: false,
    spawnError: undefined,
    closed: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    answered: new Promise((resolve) => (answer = resolve)),
  };
  void proc.closed.then(() => answer());
  let size = 0;
  child.stdout.on('data', (d: Buffer) => {
    if (proc.overflowed) return;
    size += d.length;
    if (size > MAX_STAGE_OUTPUT) {
      // A stage that floods stdout would fill jgo's memory: what it said is dropped, it is stopped.
      proc.overflowed = true;
      proc.out = [];
      child.kill('SIGKILL');
      return;
    }
    proc.out.push(d);
    if (d.includes(0x0a)) answer();
  });
  child.on('error', (error) => (proc.spawnError = error));
  child.stdin.on('error', () => {});
  return proc;
}
