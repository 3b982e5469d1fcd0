/**
 * Spawning codex in a process group of its own, and ending that whole group. On Node 20 the npm
 * wrapper (`bin/codex.js`) spawns the native binary as a child and forwards only SIGINT, SIGTERM
 * and SIGHUP, so signalling the wrapper alone can orphan the real codex; signalling the group
 * (`kill(-pgid)`) reaches both, and whatever they started that stayed in the group.
 */
import spawn from 'cross-spawn';
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** How long a group gets to end after SIGTERM before SIGKILL. */
export const KILL_GRACE_MS = 2000;

export interface GroupChild {
  child: ChildProcess;
  /** The process group id (the leader's pid). */
  pgid: number;
  /** Signals every process still in the group; false when none is left. */
  signal: (signal: NodeJS.Signals | 0) => boolean;
  /** True while any process of the group is alive. */
  alive: () => boolean;
  /** SIGTERM, then SIGKILL after the grace period if anything is left; resolves when done. */
  stop: (graceMs?: number) => Promise<void>;
  /** Drops the exit hook once the group is known to be gone. */
  release: () => void;
  /** Settles when the leader has exited and its output streams have ended; rejects if it never started. */
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/**
 * Whether a process group still has a living member, from /proc (Linux): a zombie counts as gone,
 * since it has ended and only waits for a parent to reap it (an init that does not reap, as in a
 * bare container, would otherwise make every group look alive). Undefined without /proc.
 */
export function groupHasLiveMember(pgid: number): boolean | undefined {
  let names: string[];
  try {
    names = readdirSync('/proc');
  } catch {
    return undefined;
  }
  for (const name of names) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue;
    }
    // pid (comm) state ppid pgrp …; comm may hold spaces and parentheses.
    const [state, , pgrp] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (Number(pgrp) === pgid && state !== 'Z' && state !== 'X') return true;
  }
  return false;
}

export function spawnGroup(
  bin: string,
  args: string[],
  options: { cwd: string; env: Record<string, string> },
): GroupChild {
  const child = spawn(bin, args, {
    cwd: options.cwd,
    env: options.env,
    stdio: ['pipe', 'pipe', 'pipe'],
    detached: true,
  });
  const pgid = child.pid;
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', (error) => {
      if (pgid === undefined) reject(error);
    });
    child.once('close', (code, sig) => resolve({ code, signal: sig }));
  });
  // A child that never started also emits close; the rejection above is the answer then.
  done.catch(() => {});
  const signal = (sig: NodeJS.Signals | 0): boolean => {
    if (pgid === undefined) return false;
    try {
      process.kill(-pgid, sig);
      return true;
    } catch {
      return false;
    }
  };
  // If jgo itself exits while codex runs (a second Ctrl-C, an uncaught error), take codex along.
  const onExit = () => signal('SIGKILL');
  process.on('exit', onExit);
  const release = () => process.off('exit', onExit);
  const alive = () => signal(0) && (groupHasLiveMember(pgid ?? -1) ?? true);
  const stop = async (graceMs = KILL_GRACE_MS) => {
    if (!signal('SIGTERM')) return;
    const until = Date.now() + graceMs;
    while (Date.now() < until) {
      await sleep(25);
      if (!alive()) return;
    }
    signal('SIGKILL');
    // SIGKILL cannot be ignored; give the kernel a moment so callers see the group gone.
    const hard = Date.now() + 1000;
    while (alive() && Date.now() < hard) await sleep(10);
  };
  // The leader gone but its output still open: something it started holds the pipes. A run
  // leaves nothing behind, so the rest of the group is stopped and the streams can end.
  let closedYet = false;
  child.once('close', () => (closedYet = true));
  child.once('exit', () => {
    const timer = setTimeout(() => {
      if (!closedYet) void stop();
    }, 1000);
    child.once('close', () => clearTimeout(timer));
  });
  return { child, pgid: pgid ?? -1, signal, alive, stop, release, done };
}
