/**
 * Starting a stage process, kept free of heavy imports so that `jgo run` can start jgo-gate
 * before jgo's own bundle is even read (lib/boot.ts calls startGateEarly): the gate's Node start
 * then overlaps jgo's. compose.ts feeds the process its envelope and reads the answer.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

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

// Shared through globalThis: lib/boot.ts (its own bundle) starts the gate, jgo's bundle takes it.
const EARLY = Symbol.for('jgo.earlyGate');
const slot = globalThis as { [EARLY]?: StageProcess | undefined };

/**
 * `jgo run`: starts jgo-gate as the very first thing, before jgo's own code is even compiled, so
 * that the two Node start-ups overlap. It is a guess (jgo's own gate, --quiet or not) that
 * runCommand checks before using it; JGO_STAGE_GATE in the environment means a replaced gate,
 * started in its turn. Until taken, it is stopped by SIGKILL when jgo exits: it has read nothing
 * and done nothing.
 */
export function startGateEarly(binDir: string, argv: readonly string[] = process.argv): void {
  if (argv[2] !== 'run' || process.env.JGO_STAGE_GATE !== undefined || argv.some((a) => a === '--help' || a === '-h')) return;
  const quiet = argv.slice(3).some((a) => a === '--quiet' || a === '-q');
  const started = spawnStageProcess([process.execPath, join(binDir, 'jgo-gate.js')], { cwd: process.cwd(), env: process.env, quiet });
  slot[EARLY] = started;
  process.once('exit', () => {
    if (slot[EARLY] === started) started.child.kill('SIGKILL');
  });
}

/** The early gate, if it was started exactly as now wanted; otherwise it is stopped. */
export function takeEarlyGate(command: string[], cwd: string, quiet: boolean): StageProcess | undefined {
  const proc = slot[EARLY];
  slot[EARLY] = undefined;
  if (!proc) return undefined;
  if (proc.command.join('\0') === command.join('\0') && proc.cwd === cwd && proc.quiet === quiet && !proc.spawnError) return proc;
  proc.child.kill('SIGKILL');
  return undefined;
}
