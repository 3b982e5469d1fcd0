/**
 * The measurement machinery: run a command (or a short sequence of commands) as real processes,
 * time it from spawn to exit in this process, and read its peak memory from GNU time.
 *
 * Peak memory is GNU time's %M, the ru_maxrss that wait4() returns for the wrapped process.
 * On Linux that is the larger of the process's own high-water RSS and that of every descendant
 * it waited for (the kernel keeps the maximum, `cmaxrss`, up the tree as children are reaped).
 * So it covers the git processes jgo spawns, and git's own helpers (remote-http, fetch-pack,
 * index-pack), but as the peak of the single largest process, not the sum of processes that ran
 * at the same time. Without GNU time (`/usr/bin/time -f`), memory is reported as unavailable.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One process to run: the program and its arguments, its whole environment, stdin text. */
export interface Cmd {
  argv: [string, ...string[]];
  env: NodeJS.ProcessEnv;
  cwd: string;
  input?: string;
}

export interface Sample {
  /** Wall-clock milliseconds from the first spawn to the last exit (all commands of the step). */
  ms: number;
  /** Peak RSS in KiB (the largest of the step's commands), or undefined without GNU time. */
  peakKiB: number | undefined;
  /** User + system CPU milliseconds of the step's processes and the children they waited for (GNU time, 10 ms resolution). */
  cpuMs: number | undefined;
  /** The step was killed at the time cap; `ms` is then the cap. */
  capped: boolean;
  /** stdout of the last command. */
  stdout: string;
}

export class CommandFailed extends Error {}

/** GNU time, when /usr/bin/time is it (BSD and busybox time have no -f %M, or differ). */
export function findGnuTime(): string | undefined {
  for (const candidate of ['/usr/bin/time', '/bin/time']) {
    if (!existsSync(candidate)) continue;
    const probe = spawnSync(candidate, ['-f', '%M %U %S', 'true'], { encoding: 'utf8' });
    if (probe.status === 0 && /^\d+ [\d.]+ [\d.]+\s*$/.test(probe.stderr.trim().split('\n').at(-1) ?? '')) return candidate;
  }
  return undefined;
}

export interface Runner {
  /** The GNU time binary used for peak memory, if any. */
  readonly timeBin: string | undefined;
  /** Runs the commands one after the other; throws CommandFailed when one exits non-zero. */
  run(cmds: readonly Cmd[], capMs: number): Promise<Sample>;
  /** Kills the process groups of runs in progress (on SIGINT). */
  killAll(): void;
  close(): Promise<void>;
}

/** `timeBin`: GNU time to wrap runs in (default: found with findGnuTime); undefined: none. */
export async function makeRunner(options: { timeBin: string | undefined } = { timeBin: findGnuTime() }): Promise<Runner> {
  const { timeBin } = options;
  const scratch = await mkdtemp(join(tmpdir(), 'jgo-bench-time-'));
  let n = 0;
  const live = new Set<number>();
  const killGroup = (pid: number) => {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // already gone
    }
  };

  const one = (cmd: Cmd, capMs: number) =>
    new Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; capped: boolean; stdout: string; stderr: string; peakFile?: string }>(
      (resolve, reject) => {
        const peakFile = timeBin ? join(scratch, `peak-${n++}`) : undefined;
        const [program, ...args] = timeBin && peakFile ? [timeBin, '-f', '%M %U %S', '-o', peakFile, ...cmd.argv] : cmd.argv;
        const started = process.hrtime.bigint();
        // Its own process group, so that a run over the cap is killed with all it started.
        const child = spawn(program as string, args, { cwd: cmd.cwd, env: cmd.env, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
        if (child.pid !== undefined) live.add(child.pid);
        const out: Buffer[] = [];
        let err = '';
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => {
          if (err.length < 16384) err += d.toString('utf8');
        });
        let capped = false;
        const timer = setTimeout(() => {
          capped = true;
          if (child.pid !== undefined) killGroup(child.pid);
        }, capMs);
        child.once('error', (error) => {
          clearTimeout(timer);
          reject(error);
        });
        child.once('close', (code, signal) => {
          clearTimeout(timer);
          if (child.pid !== undefined) live.delete(child.pid);
          const ms = Number(process.hrtime.bigint() - started) / 1e6;
          resolve({ code, signal, ms, capped, stdout: Buffer.concat(out).toString('utf8'), stderr: err, ...(peakFile ? { peakFile } : {}) });
        });
        child.stdin.on('error', () => {});
        child.stdin.end(cmd.input ?? '');
      },
    );

  return {
    timeBin,
    async run(cmds, capMs) {
      let ms = 0;
      let peak: number | undefined;
      let cpu: number | undefined;
      let stdout = '';
      for (const cmd of cmds) {
        const r = await one(cmd, Math.max(1, capMs - ms));
        ms += r.ms;
        if (r.capped) return { ms: capMs, peakKiB: undefined, cpuMs: undefined, capped: true, stdout: '' };
        if (r.peakFile) {
          // "Command exited with non-zero status N" may precede the numbers.
          const text = await readFile(r.peakFile, 'utf8').catch(() => '');
          await rm(r.peakFile, { force: true });
          const [kib, user, system] = (text.trim().split('\n').at(-1) ?? '').split(' ').map(Number);
          if (kib !== undefined && Number.isFinite(kib) && kib > 0) peak = Math.max(peak ?? 0, kib);
          if (user !== undefined && system !== undefined && Number.isFinite(user + system)) cpu = (cpu ?? 0) + (user + system) * 1000;
        }
        if (r.code !== 0) {
          throw new CommandFailed(
            `${cmd.argv.join(' ')} exited ${r.code ?? r.signal}${r.stdout.trim() ? `\n  stdout: ${r.stdout.trim().slice(0, 2000)}` : ''}\n  stderr: ${r.stderr.trim().slice(-2000)}`,
          );
        }
        stdout = r.stdout;
      }
      return { ms, peakKiB: peak, cpuMs: cpu, capped: false, stdout };
    },
    killAll: () => {
      for (const pid of live) killGroup(pid);
    },
    close: () => rm(scratch, { recursive: true, force: true }),
  };
}

export function median(values: readonly number[]): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid] : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}
