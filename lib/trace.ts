/**
 * JGO_TRACE=1: where a process's time goes, on stderr. Each line is the process, the
 * time of day, the milliseconds since it started, and what happened, so the lines of a whole `jgo run` (every
 * stage inherits the variable) can be read side by side:
 *
 *   jgo-ship 20:25:01.412 +412ms git push (231 ms)
 *
 * Off, it costs one comparison per call.
 */
import { basename } from 'node:path';

const enabled = process.env.JGO_TRACE === '1';
const who = basename(process.argv[1] ?? 'jgo').replace(/\.[cm]?js$/, '');

export function tracing(): boolean {
  return enabled;
}

/**
 * JGO_DEBUG=1: stack traces of unexpected failures, and codex's own stderr as it comes. Read from
 * the process environment, as JGO_TRACE is: it must work before (and when) the settings fail.
 */
export function debugging(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.JGO_DEBUG === '1';
}

/** Writes one trace line (never anything secret: callers pass labels, not values). */
export function trace(what: string, sinceMs?: number): void {
  if (!enabled) return;
  const now = performance.now();
  const took = sinceMs === undefined ? '' : ` (${Math.round(now - sinceMs)} ms)`;
  const clock = new Date(performance.timeOrigin + now).toISOString().slice(11, 23);
  process.stderr.write(`${who} ${clock} +${Math.round(now)}ms ${what}${took}\n`);
}

/**
 * The CPU this process has used so far, user and system, and the page faults it took, for the last
 * trace line of a process (a first touch of a page cost 13-14 µs on the 2-core development VM).
 */
function cpuSpent(): string {
  const { userCPUTime, systemCPUTime, minorPageFault, maxRSS } = process.resourceUsage();
  // maxRSS is this process's own peak (KiB), not its children's: what jgo itself held.
  return `${Math.round(userCPUTime / 1000)} ms user, ${Math.round(systemCPUTime / 1000)} ms system CPU, ${minorPageFault} page faults, peak ${Math.round(maxRSS / 1024)} MiB`;
}

/** The last trace line of a process: its exit, with the CPU and memory it used (computed only when tracing). */
export function traceExit(): void {
  if (enabled) trace(`exit, ${cpuSpent()}`);
}
