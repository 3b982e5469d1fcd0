/**
 * Starting a stage process, kept free of heavy imports so that `jgo run` can start jgo-gate
 * before it has even loaded its own flag parser (see cmd/jgo.ts): the gate's Node start then
 * overlaps jgo's. compose.ts feeds the process its envelope and reads the answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';

export interface StageProcess {
  command: string[];
  cwd: string;
  /** Whether its stderr is discarded (--quiet) rather than passed through. */
  quiet: boolean;
  child: ChildProcess & { stdin: NodeJS.WritableStream; stdout: NodeJS.ReadableStream };
  out: Buffer[];
  spawnError: Error | undefined;
  closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Resolves once a whole line is on stdout (a stage's one envelope), or at close. */
  answered: Promise<void>;
}

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
    spawnError: undefined,
    closed: new Promise((resolve) => child.on('close', (code, signal) => resolve({ code, signal }))),
    answered: new Promise((resolve) => (answer = resolve)),
  };
  void proc.closed.then(() => answer());
  child.stdout.on('data', (d: Buffer) => {
    proc.out.push(d);
    if (d.includes(0x0a)) answer();
  });
  child.on('error', (error) => (proc.spawnError = error));
  child.stdin.on('error', () => {});
  return proc;
}

let early: StageProcess | undefined;

/**
 * Starts jgo-gate as the very first thing `jgo run` does, on a guess (default command, --quiet
 * or not) that runCommand later checks. Until taken it is stopped by SIGKILL when jgo exits: it
 * has read nothing and done nothing.
 */
export function startGateEarly(command: string[], cwd: string, env: NodeJS.ProcessEnv, quiet: boolean): void {
  early = spawnStageProcess(command, { cwd, env, quiet });
  const started = early;
  process.once('exit', () => {
    if (early === started) started.child.kill('SIGKILL');
  });
}

/** The early gate, if it was started exactly as now wanted; otherwise it is stopped. */
export function takeEarlyGate(command: string[], cwd: string, quiet: boolean): StageProcess | undefined {
  const proc = early;
  early = undefined;
  if (!proc) return undefined;
  if (proc.command.join('\0') === command.join('\0') && proc.cwd === cwd && proc.quiet === quiet && !proc.spawnError) return proc;
  proc.child.kill('SIGKILL');
  return undefined;
}
