/**
 * What a codex run leaves on the cache, how its writes are scanned for secrets, and how a caught
 * secret is taken off the cache again: a secret the agent wrote stays on the persistent cache
 * otherwise, and every later run that touches the same file (codex's sqlite state, its history)
 * would fail on it too.
 *
 * - In CODEX_HOME, each file holding a secret is removed, with its sqlite companions (-wal, -shm,
 *   -journal): session files, logs and state databases are codex's own records, which it makes
 *   anew. The login stays: auth.json is never scanned nor removed, and config.toml, if the agent
 *   put a secret in it, is put back as it was before the run.
 * - A run's working copy ($JGO_CACHE_DIR/work/<run_id>/repo) is removed whole: git keeps what the
 *   agent staged or committed compressed, where no byte scan sees it, and the run is failed anyway.
 * - Anything else (the current directory of the ad-hoc chain) is not the cache's: it is named and
 *   left to its owner.
 */
import { lstatSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { EXIT } from '../errors.js';
import { trace } from '../trace.js';
import type { Sandbox } from './args.js';
import { fileSystemNow, scanForSecrets } from './secrets.js';
import { CodexRunError, type CodexRun } from './summary.js';

/** `$JGO_CACHE_DIR/work/<run_id>` when `workspace` is that run's working copy, else undefined. */
export function runDirOf(cache: string, workspace: string): string | undefined {
  const run = dirname(workspace);
  if (basename(workspace) !== 'repo' || dirname(run) !== join(cache, 'work') || basename(run).startsWith('.')) return undefined;
  return run;
}

/**
 * A fresh directory for a run's temp files (codex's last-message file, output schemas): under
 * `$JGO_CACHE_DIR/work/<run_id>/tmp` beside the working copy (outside its git tree, and removed
 * with the run's directory), or `$JGO_CACHE_DIR/tmp` for a run without one. Its creator removes it.
 */
export async function makeRunTemp(cache: string, workspace: string, prefix: string): Promise<string> {
  const run = runDirOf(cache, workspace);
  const root = run !== undefined ? join(run, 'tmp') : join(cache, 'tmp');
  await mkdir(root, { recursive: true, mode: 0o700 });
  return mkdtemp(join(root, prefix));
}

/** A file codex's login depends on, read before the run so it can be put back. */
export interface KeptFile {
  path: string;
  content: Buffer | undefined;
}

export async function keepFile(path: string): Promise<KeptFile> {
  return { path, content: await readFile(path).catch(() => undefined) };
}

export interface LeakCleanup {
  /** Files removed from CODEX_HOME (companions included). */
  removed: string[];
  /** Files put back as they were before the run. */
  restored: string[];
  /** The working copy, when it was removed. */
  workingCopy: string | undefined;
  /** Files holding a secret that jgo does not own (outside the cache): left where they are. */
  notOurs: string[];
}

const SQLITE_COMPANIONS = ['-wal', '-shm', '-journal'];

/** A database and its companions, from any one of them. */
function withCompanions(path: string): string[] {
  const suffix = SQLITE_COMPANIONS.find((s) => path.endsWith(s));
  const base = suffix ? path.slice(0, -suffix.length) : path;
  return [base, ...SQLITE_COMPANIONS.map((s) => base + s)];
}

function inside(dir: string, path: string): boolean {
  const rel = relative(dir, path);
  return rel !== '' && !rel.startsWith(`..${sep}`) && rel !== '..';
}

/**
 * Takes the files that hold a secret off the cache. `workspace` is where codex worked;
 * `cache` tells whether that is a run's working copy (removed) or not jgo's (left).
 */
export async function removeLeaks(files: readonly string[], where: { home: string; workspace: string; cache: string; kept: readonly KeptFile[] }): Promise<LeakCleanup> {
  const result: LeakCleanup = { removed: [], restored: [], workingCopy: undefined, notOurs: [] };
  const run = runDirOf(where.cache, where.workspace);
  for (const file of files) {
    const kept = where.kept.find((k) => k.path === file);
    if (kept) {
      if (kept.content !== undefined) await writeFile(file, kept.content);
      else await rm(file, { force: true });
      result.restored.push(file);
    } else if (inside(where.home, file)) {
      for (const path of withCompanions(file)) {
        if (lstatSync(path, { throwIfNoEntry: false }) === undefined) continue;
        await rm(path, { force: true });
        result.removed.push(path);
      }
    } else if (run !== undefined && inside(where.workspace, file)) {
      result.workingCopy = where.workspace;
    } else result.notOurs.push(file);
  }
  // Never through a symlink: a link in the working copy's place is unlinked, not followed.
  if (result.workingCopy !== undefined && lstatSync(result.workingCopy, { throwIfNoEntry: false })?.isDirectory()) {
    // Retried: git may still be finishing a status in it (jgo-codex's second snapshot).
    await rm(result.workingCopy, { recursive: true, force: true, maxRetries: 5 });
  } else if (result.workingCopy !== undefined) await rm(result.workingCopy, { force: true });
  return result;
}

/** The sentence that says what became of the files, for the error's message. */
export function cleanupSummary(cleanup: LeakCleanup, left: readonly string[]): string {
  const parts: string[] = [];
  const n = cleanup.removed.length;
  if (n > 0) parts.push(`removed ${n} file${n === 1 ? '' : 's'} of codex's from CODEX_HOME`);
  if (cleanup.restored.length > 0) parts.push(`put back ${cleanup.restored.map((p) => basename(p)).join(', ')} as it was`);
  if (cleanup.workingCopy !== undefined) parts.push('removed the working copy');
  if (cleanup.notOurs.length > 0) parts.push(`left ${cleanup.notOurs.length} file${cleanup.notOurs.length === 1 ? '' : 's'} outside the cache to you`);
  if (left.length > 0) parts.push(`could not remove ${left.slice(0, 5).join(', ')}`);
  return parts.join('; ');
}

/** Where and since when a run's writes are scanned, and what is put back should a secret be in it. */
export interface LeakWatch {
  home: string;
  workspace: string;
  gitDir: string;
  writable: string[];
  /** "Now" by the file systems' own clocks, taken before codex starts. */
  since: number;
  kept: KeptFile[];
}

/** Taken just before codex starts: from then on, what it writes is scanned for secrets. */
export async function watchForLeaks(home: string, workspace: string, sandbox: Sandbox): Promise<LeakWatch> {
  const gitDir = join(workspace, '.git');
  // In the read-only sandbox nothing codex runs can write the workspace: only CODEX_HOME, where
  // codex itself keeps its session logs, can take a secret. (A planning run in ship is read-only.)
  const writable = sandbox === 'read-only' ? [home] : [home, workspace];
  // A marker is written in each: in the workspace it goes under .git, which is never committed.
  const markIn = statSync(gitDir, { throwIfNoEntry: false })?.isDirectory() ? gitDir : workspace;
  const since = await fileSystemNow(writable.map((root) => (root === workspace ? markIn : root)));
  // The login's settings, to put back should the agent write a secret into them.
  const kept = [await keepFile(join(home, 'config.toml'))];
  return { home, workspace, gitDir, writable, since, kept };
}

/**
 * Secrets first: a leak matters whatever else happened, and must stop the run's output going on.
 * What holds one is taken off the cache before secret_on_disk is thrown, so that neither the
 * cache nor the next run keeps it. `finishing` (work that needed codex gone) is awaited first.
 */
export async function refuseLeaks(
  watch: LeakWatch,
  scan: { cache: string; secrets: string[]; finishing: Promise<unknown> | void; changed?: Promise<string[] | undefined> | undefined; say: (line: string) => void },
  run: CodexRun,
): Promise<void> {
  const scanBegan = performance.now();
  // In jgo's own working copy git status, taken once after the run, names what changed there
  // (ignored files and directories too): only that, and .git, is read, not the whole tree.
  const changed = scan.changed !== undefined ? await scan.changed.catch(() => undefined) : undefined;
  const inCopy = changed !== undefined && watch.writable.includes(watch.workspace);
  const listed = inCopy ? changed.map((path) => join(watch.workspace, path)) : [];
  const options = {
    roots: inCopy ? [...watch.writable.filter((root) => root !== watch.workspace), watch.gitDir, ...listed.filter((p) => p.endsWith('/'))] : watch.writable,
    files: listed.filter((p) => !p.endsWith('/')),
    secrets: scan.secrets,
    since: watch.since,
    // auth.json is codex's own credential store. Git's objects are zlib-compressed, so no byte
    // scan can see a secret in them; what gets committed is scanned by jgo-ship before it is.
    skip: [join(watch.home, 'auth.json'), join(watch.gitDir, 'objects')],
  };
  const found = await scanForSecrets(options);
  trace(`secret scan read ${found.read} files`, scanBegan);
  if (found.truncated) scan.say(`secret scan stopped after 500000 entries under ${watch.workspace}`);
  if (found.files.length === 0) return;
  await scan.finishing;
  const cleanup = await removeLeaks(found.files, { home: watch.home, workspace: watch.workspace, cache: scan.cache, kept: watch.kept });
  // Whatever is still there after the cleanup (a file that could not be removed) is named.
  const again = await scanForSecrets({ ...options, roots: [watch.home], files: [] });
  const left = again.files.filter((f) => !cleanup.notOurs.includes(f));
  const [first] = found.files;
  const more = found.files.length > 1 ? ` (and ${found.files.length - 1} more: ${found.files.slice(1, 5).join(', ')})` : '';
  const done = cleanupSummary(cleanup, left);
  throw new CodexRunError('secret_on_disk', `a secret value in use was written to ${first}${more}${done ? `; jgo ${done}` : ''}`, EXIT.failed, run,
    `Rotate the secret: it was on disk while codex ran. Nothing was shipped, and the login in CODEX_HOME is kept${cleanup.workingCopy ? '; start a new run (jgo run), the working copy is gone' : ''}.`);
}
