/**
 * A per-mirror lock that works on network file systems and recovers from a holder that died.
 *
 * `mkdir` is atomic on local disks and on NFS (unlike O_EXCL on old NFS, and unlike flock, which
 * many network file systems do not carry between hosts). The holder writes who it is into the
 * directory and refreshes its mtime every few seconds; a lock whose heartbeat is older than
 * `staleMs` belongs to a holder that died (SIGKILL, a lost pod) and is broken. On the same host a
 * holder whose pid is gone is recognised at once, without waiting for the heartbeat to age.
 */
import { mkdir, readFile, rm, stat, utimes, writeFile, rename } from 'node:fs/promises';
import { hostname } from 'node:os';
import { JgoError, EXIT } from '../errors.js';
import { pidAlive } from '../proc.js';

export interface LockOptions {
  /** Heartbeat age after which the lock is taken over. */
  staleMs?: number;
  /** How long to wait for a live holder before giving up. */
  timeoutMs?: number;
  /** Told once when the lock is busy, so people know why nothing happens. */
  onWait?: (holder: string) => void;
  signal?: AbortSignal;
}

export interface Lock {
  release: () => Promise<void>;
}

interface Owner {
  host: string;
  pid: number;
  since: string;
}

const HEARTBEAT_MS = 5_000;

async function readOwner(dir: string): Promise<Owner | undefined> {
  try {
    return JSON.parse(await readFile(`${dir}/owner.json`, 'utf8')) as Owner;
  } catch {
    return undefined;
  }
}

/** Whether the lock at `dir` was left by a holder that is gone. */
async function isStale(dir: string, staleMs: number): Promise<boolean> {
  let mtime: number;
  try {
    mtime = (await stat(dir)).mtimeMs;
  } catch {
    return false; // released meanwhile: not stale, just free
  }
  const owner = await readOwner(dir);
  if (owner && owner.host === hostname() && !pidAlive(owner.pid)) return true;
  // No owner file yet: the holder may be between mkdir and writeFile; only age decides.
  return Date.now() - mtime > staleMs;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * One try at the lock: `taken`, `busy` (a live holder has it), or `broken` (a dead holder's lock
 * was just removed: try again).
 */
async function attempt(dir: string, staleMs: number): Promise<'taken' | 'busy' | 'broken'> {
  try {
    await mkdir(dir);
    return 'taken';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  if (!(await isStale(dir, staleMs))) return 'busy';
  // Move it aside first so that two waiters cannot both break it and both win.
  const aside = `${dir}.stale-${process.pid}-${Date.now()}`;
  try {
    await rename(dir, aside);
    await rm(aside, { recursive: true, force: true });
  } catch {
    /* someone else broke it first */
  }
  return 'broken';
}

export async function acquireLock(dir: string, options: LockOptions = {}): Promise<Lock> {
  const staleMs = options.staleMs ?? 60_000;
  const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
  let told = false;
  let delay = 25;
  for (;;) {
    options.signal?.throwIfAborted();
    const outcome = await attempt(dir, staleMs);
    if (outcome === 'taken') break;
    if (outcome === 'broken') continue;
    if (Date.now() > deadline) {
      const owner = await readOwner(dir);
      throw new JgoError('lock_timeout', `gave up waiting for the lock ${dir}${owner ? ` held by pid ${owner.pid} on ${owner.host}` : ''}`, EXIT.failed);
    }
    if (!told && options.onWait) {
      const owner = await readOwner(dir);
      options.onWait(owner ? `pid ${owner.pid} on ${owner.host} since ${owner.since}` : 'another process');
      told = true;
    }
    await sleep(delay);
    delay = Math.min(delay * 2, 500);
  }
  return hold(dir);
}

/**
 * The lock at once, or who holds it (`pid 42 on host-a`, or `another process` while its holder
 * has not yet said who it is). Never waits for a live holder.
 */
export async function tryLock(dir: string, options: Pick<LockOptions, 'staleMs'> = {}): Promise<Lock | { holder: string }> {
  // A dead holder's lock is broken and tried again; someone else may break it first.
  for (let n = 0; n < 3; n++) {
    const outcome = await attempt(dir, options.staleMs ?? 60_000);
    if (outcome === 'taken') return hold(dir);
    if (outcome === 'busy') break;
  }
  const owner = await readOwner(dir);
  return { holder: owner ? `pid ${owner.pid} on ${owner.host}` : 'another process' };
}

/** A lock just made: its owner written (or the lock removed again), its heartbeat started. */
async function hold(dir: string): Promise<Lock> {
  const owner: Owner = { host: hostname(), pid: process.pid, since: new Date().toISOString() };
  try {
    await writeFile(`${dir}/owner.json`, JSON.stringify(owner));
  } catch (error) {
    // A lock without an owner looks held until it ages (a full disk): it is not left behind.
    await rm(dir, { recursive: true, force: true }).catch(() => {});
    throw error;
  }
  const beat = setInterval(() => {
    const now = new Date();
    utimes(dir, now, now).catch(() => {});
  }, HEARTBEAT_MS);
  beat.unref();
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      clearInterval(beat);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Runs `fn` holding the lock, and always releases it. */
export async function withLock<T>(dir: string, options: LockOptions, fn: () => Promise<T>): Promise<T> {
  const lock = await acquireLock(dir, options);
  try {
    return await fn();
  } finally {
    await lock.release();
  }
}
