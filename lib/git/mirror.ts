/**
 * The repository mirror: a bare repository per remote URL under $JGO_CACHE_DIR/repos, holding
 * the remote's branches and tags. Built once at a temporary path and renamed into place (a sync
 * killed mid-clone leaves nothing half-made where the next one looks), then kept current with
 * incremental fetches under a per-mirror lock. The warm path reads the remote's refs and fetches
 * only when they differ from the mirror's.
 */
import { copyFile, link, mkdir, open, readdir, rename, rm, stat, writeFile, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { JgoError, EXIT } from '../errors.js';
import { credentialsFor, type GitCredentials } from './auth.js';
import type { Engine, EngineChooser } from './engine.js';
import { classifyGitFailure, runGit } from './native.js';
import { classifyIsoFailure, fs, iso, isoAuth } from './iso.js';
import { readHeadBranch, readLocalRefs, sameRefs, type RefMap, type RefStats } from './refs.js';
import { acquireLock, withLock } from './lock.js';
import { Progress } from './progress.js';
import { formatBytes } from '../format.js';
import { trace } from '../trace.js';
import { mirrorName, mirrorPath } from '../cache.js';

export interface RemoteState {
  /** refs/heads/* and refs/tags/* as the remote advertises them (tags unpeeled). */
  refs: RefMap;
  /** The branch the remote's HEAD points at. */
  defaultBranch: string | undefined;
}

export interface GitContext {
  engines: EngineChooser;
  credentials: GitCredentials | undefined;
  /** Progress and notices for people. */
  log: (line: string) => void;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  signal?: AbortSignal;
  env?: NodeJS.ProcessEnv;
}

export interface MirrorResult {
  path: string;
  defaultBranch: string;
  headSha: string;
  /** A mirror existed but could not be opened or verified, and was built anew. */
  rebuilt: boolean;
  /** Whether anything was fetched (false on the warm no-change path). */
  fetched: boolean;
}

const REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];
const MARKER = 'jgo-mirror.json';

// Where a mirror lives is the cache's to say (lib/cache.ts): every stage derives it the same way.
export { mirrorName, mirrorPath } from '../cache.js';

/**
 * The remote's branches, tags and default branch, no pack: isomorphic-git's listServerRefs, the
 * one way jgo reads a remote's refs (a sync's comparison, doctor's read check, the proof of a
 * push). Without `prefix` this is one request (protocol v1's ref advertisement: every ref and
 * HEAD's target, which is what the mirror compares); with one, protocol v2's ls-refs asks the
 * server for only the refs under it (a remote's full list can run to thousands of refs/pull/*).
 * The token goes along only when `url` is one of its origins (isoAuth).
 */
export async function remoteState(url: string, ctx: Pick<GitContext, 'credentials' | 'signal'>, options: { prefix?: string } = {}): Promise<RemoteState> {
  const refs: RefMap = new Map();
  let defaultBranch: string | undefined;
  const { prefix } = options;
  const credentials = credentialsFor(ctx.credentials, url);
  const { git, http } = await iso();
  try {
    const advertised = await git.listServerRefs({ http, url, protocolVersion: prefix ? 2 : 1, symrefs: true, ...(prefix ? { prefix } : {}), ...isoAuth(url, credentials) });
    for (const r of advertised) {
      if (prefix && !r.ref.startsWith(prefix)) continue; // a v1 server does not filter
      if (r.ref === 'HEAD' && r.target?.startsWith('refs/heads/')) defaultBranch = r.target.slice('refs/heads/'.length);
      else if (/^refs\/(heads|tags)\//.test(r.ref) && !r.ref.endsWith('^{}')) refs.set(r.ref, r.oid);
    }
  } catch (error) {
    throw classifyIsoFailure(error, url, credentials);
  }
  return { refs, defaultBranch };
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The last `n` bytes of a file, or undefined when it is shorter or unreadable. */
async function tail(file: string, n: number): Promise<Buffer | undefined> {
  let handle;
  try {
    handle = await open(file, 'r');
    const { size } = await handle.stat();
    if (size < n) return undefined;
    const buffer = Buffer.alloc(n);
    await handle.read(buffer, 0, n, size - n);
    return buffer;
  } catch {
    return undefined;
  } finally {
    await handle?.close();
  }
}

/**
 * Every pack ends with its own checksum, and its index repeats that checksum just before its
 * own: a pack cut short or replaced no longer matches. A few small reads per pack, so the check
 * runs on every sync.
 */
async function packsIntact(path: string): Promise<boolean> {
  const dir = join(path, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  for (const name of names.filter((n) => n.endsWith('.idx'))) {
    const [idx, pack] = await Promise.all([tail(join(dir, name), 40), tail(join(dir, name.replace(/\.idx$/, '.pack')), 20)]);
    if (!idx || !pack || !idx.subarray(0, 20).equals(pack)) return false;
  }
  return true;
}

/** A mirror is usable when our marker, HEAD, config and objects are there and its packs intact. */
async function looksUsable(path: string): Promise<boolean> {
  const checks = await Promise.all([MARKER, 'HEAD', 'config', 'objects'].map((f) => exists(join(path, f))));
  return checks.every(Boolean) && (await packsIntact(path));
}

/** Whether the commit is readable from the mirror: the deep check after every fetch. */
async function hasCommit(path: string, sha: string, ctx: GitContext): Promise<boolean> {
  if (ctx.engines.for('fetchMirror') === 'native') {
    const result = await runGit(['cat-file', '-e', `${sha}^{commit}`], { cwd: path, env: ctx.env });
    return result.code === 0;
  }
  const { git } = await iso();
  try {
    await git.readCommit({ fs, gitdir: path, oid: sha });
    return true;
  } catch {
    return false;
  }
}

/**
 * Loose objects are what jgo-ship leaves in the mirror (recordPushed): 5-15 per run. Each working
 * copy hardlinks every one of them (2,048 of them took 82-191 ms here), so once there are a few
 * hundred they are packed, in a `git repack -d` of the loose ones alone. The count is estimated
 * as git estimates it, from a sample of the fan-out directories: sixteen of them, 1/16th.
 */
async function packLooseObjects(path: string, ctx: GitContext): Promise<void> {
  const sample = await Promise.all(SAMPLE_DIRS.map((d) => readdir(join(path, 'objects', d)).then((names) => names.length, () => 0)));
  if (sample.reduce((a, b) => a + b, 0) * 16 < LOOSE_LIMIT) return;
  if (ctx.engines.for('fetchMirror') === 'native') {
    await runGit(['repack', '-d', '-q'], { cwd: path, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  }
}

/** The fan-out directories the loose-object count is estimated from (00 to 0f). */
export const SAMPLE_DIRS = Array.from({ length: 16 }, (_, i) => `0${i.toString(16)}`);

/** Loose objects a mirror may hold before they are packed (about 20-50 runs' worth). */
export const LOOSE_LIMIT = 256;

/**
 * Loose refs a mirror may hold before they are packed into packed-refs. Each is a file that
 * every sync reads to compare with the remote, and every run's pushed branch adds one (ship
 * records it, a fetch writes it): after a few hundred runs a warm sync was opening hundreds
 * of files. Git itself packs them only in `gc`, which a mirror never gets.
 */
export const LOOSE_REFS_LIMIT = 64;

async function packLooseRefs(path: string, loose: number, ctx: GitContext): Promise<void> {
  if (loose <= LOOSE_REFS_LIMIT || ctx.engines.for('fetchMirror') !== 'native') return;
  await runGit(['pack-refs', '--all', '--prune'], { cwd: path, env: ctx.env, ...(ctx.signal ? { signal: ctx.signal } : {}) });
}

/** Sum of pack sizes: how much a fetch brought, for the summary line. */
async function packBytes(path: string): Promise<number> {
  const dir = join(path, 'objects', 'pack');
  const names = await readdir(dir).catch(() => [] as string[]);
  const sizes = await Promise.all(names.filter((n) => n.endsWith('.pack')).map((n) => stat(join(dir, n)).then((s) => s.size, () => 0)));
  return sizes.reduce((a, b) => a + b, 0);
}

/** A git process killed mid-fetch leaves *.lock files; we hold the mirror lock, so they are dead. */
async function removeStaleGitLocks(dir: string): Promise<void> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (entry) => {
      const p = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'objects') return removeStaleGitLocks(p);
      if (entry.isFile() && entry.name.endsWith('.lock')) await rm(p, { force: true });
    }),
  );
}

async function fetchInto(path: string, url: string, ctx: GitContext, progress: Progress, engine: Engine): Promise<void> {
  const credentials = credentialsFor(ctx.credentials, url);
  if (engine === 'native') {
    const args = ['fetch', '--prune', '--no-write-fetch-head', ctx.stderr.isTTY ? '--progress' : '--quiet', url, ...REFSPECS];
    const result = await runGit(args, { cwd: path, credentials, env: ctx.env, signal: ctx.signal, stderr: ctx.stderr.isTTY ? ctx.stderr : undefined });
    if (result.code !== 0) throw classifyGitFailure(result.stderr, url, credentials);
    return;
  }
  const { git, http } = await iso();
  try {
    await git.fetch({
      fs,
      http,
      gitdir: path,
      url,
      remote: 'origin',
      singleBranch: false,
      tags: true,
      prune: true,
      pruneTags: true,
      onProgress: progress.callback(),
      ...isoAuth(url, credentials),
    });
  } catch (error) {
    throw classifyIsoFailure(error, url, credentials);
  }
}

/** A new, empty bare repository set up as a mirror of `url` (no credentials anywhere in it). */
async function initMirror(path: string, url: string, defaultBranch: string, ctx: GitContext): Promise<void> {
  if (ctx.engines.for('cloneMirror') === 'native') {
    const init = await runGit(['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, path], { env: ctx.env });
    if (init.code !== 0) throw new JgoError('git_failed', `git init failed: ${init.stderr.trim()}`, EXIT.failed);
  } else {
    const { git } = await iso();
    await git.init({ fs, dir: path, gitdir: path, bare: true, defaultBranch });
  }
  // Written as a file rather than through either engine: both read it, and it is the same text.
  const config = await readFile(join(path, 'config'), 'utf8');
  await writeFile(
    join(path, 'config'),
    // Only the heads refspec: isomorphic-git applies configured refspecs to peeled tag entries
    // (refs/tags/v1^{}) and fails; tags arrive through its `tags` option, and native git gets
    // both refspecs on its command line.
    // Packs are kept as they arrive (unpackLimit 1): a few files to verify and to hardlink into
    // working copies, instead of thousands of loose objects. No automatic gc: it could delete a
    // pack while a working copy is being linked from it.
    `${config.trimEnd()}\n[remote "origin"]\n\turl = ${url}\n\tfetch = ${REFSPECS[0]}\n[gc]\n\tauto = 0\n[transfer]\n\tunpackLimit = 1\n`,
  );
}

async function setHead(path: string, branch: string): Promise<void> {
  if ((await readHeadBranch(path)) !== branch) await writeFile(join(path, 'HEAD'), `ref: refs/heads/${branch}\n`);
}

/** Builds a mirror at a temporary path and renames it into place. */
async function build(path: string, url: string, remote: RemoteState, ctx: GitContext, progress: Progress): Promise<void> {
  const tmp = join(path, '..', '.tmp', `${mirrorName(url)}-${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    await initMirror(tmp, url, remote.defaultBranch ?? 'main', ctx);
    await fetchInto(tmp, url, ctx, progress, ctx.engines.for('cloneMirror'));
    await writeFile(join(tmp, MARKER), JSON.stringify({ url, created: new Date().toISOString() }) + '\n');
    if (await exists(path)) {
      const trash = `${path}.trash-${process.pid}-${Date.now()}`;
      await rename(path, trash);
      await rename(tmp, path);
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(tmp, path);
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}

/** Temporary builds left by syncs that were killed (we hold the lock: none is in progress). */
async function removeAbandoned(reposDir: string, name: string): Promise<void> {
  const tmpDir = join(reposDir, '.tmp');
  const entries = await readdir(tmpDir).catch(() => [] as string[]);
  await Promise.all(entries.filter((e) => e.startsWith(`${name}-`)).map((e) => rm(join(tmpDir, e), { recursive: true, force: true })));
  const siblings = await readdir(reposDir).catch(() => [] as string[]);
  await Promise.all(siblings.filter((e) => e.startsWith(`${name}.trash-`)).map((e) => rm(join(reposDir, e), { recursive: true, force: true })));
}

export function mirrorLockPath(path: string): string {
  return `${path}.lock`;
}

export async function syncMirror(url: string, cacheDir: string, ctx: GitContext): Promise<MirrorResult> {
  const path = mirrorPath(cacheDir, url);
  const reposDir = join(cacheDir, 'repos');
  // A stat on this thread, not a mkdir's two round trips through libuv's pool: on the warm path
  // the directory is there.
  if (!existsSync(reposDir)) await mkdir(reposDir, { recursive: true });
  const started = Date.now();
  const progress = new Progress(ctx.stderr);
  return withLock(
    mirrorLockPath(path),
    { signal: ctx.signal, onWait: (holder) => ctx.log(`waiting for another sync of this repository (${holder})`) },
    async () => {
      trace('mirror locked');
      const asked = performance.now();
      // The local side is looked at while the remote answers: on the warm path that wait is most
      // of a sync, and the checks below are a dozen small file reads. Both are settled before
      // anything goes on (the lock must not be released under a pending read of the mirror).
      const [answer, looked] = await Promise.allSettled([
        remoteState(url, ctx).finally(() => trace("remote's refs read", asked)),
        (async () => {
          await removeAbandoned(reposDir, mirrorName(url));
          const existed = await exists(path);
          if (!existed || !(await looksUsable(path))) return { existed, usable: false, local: undefined, before: 0, loose: 0 };
          await removeStaleGitLocks(path);
          const stats: RefStats = { loose: 0 };
          // Loose objects are packed here too: a fetch brings packs, never loose objects.
          const [local, before] = await Promise.all([readLocalRefs(path, stats), packLooseObjects(path, ctx).then(() => packBytes(path))]);
          return { existed, usable: true, local, before, loose: stats.loose };
        })(),
      ]);
      if (answer.status === 'rejected') throw answer.reason;
      if (looked.status === 'rejected') throw looked.reason;
      const remote = answer.value;
      const { existed, usable, local, before } = looked.value;
      let loose = looked.value.loose;
      if (remote.refs.size === 0) {
        throw new JgoError('repo_empty', `${url} has no branches yet`, EXIT.failed, { hint: 'Push a first commit to the repository.' });
      }
      const defaultBranch = remote.defaultBranch ?? (remote.refs.has('refs/heads/main') ? 'main' : [...remote.refs.keys()].find((r) => r.startsWith('refs/heads/'))?.slice(11));
      if (defaultBranch === undefined) throw new JgoError('repo_empty', `${url} has no branches`, EXIT.failed);
      let rebuilt = false;
      let fetched = true;
      if (!usable || local === undefined) {
        if (existed) {
          rebuilt = true;
          ctx.log(`the cached mirror ${path} is incomplete or damaged: building it anew`);
        }
        await build(path, url, remote, ctx, progress);
      } else {
        trace('mirror checked');
        if (sameRefs(local, remote.refs)) {
          fetched = false;
        } else {
          try {
            await fetchInto(path, url, ctx, progress, ctx.engines.for('fetchMirror'));
          } catch (error) {
            if (error instanceof JgoError && ['auth_failed', 'repo_not_found', 'network_error', 'interrupted'].includes(error.code)) throw error;
            ctx.log(`fetching into the cached mirror failed (${(error as Error).message}): building it anew`);
            rebuilt = true;
            await build(path, url, remote, ctx, progress);
          }
        }
      }
      await setHead(path, defaultBranch);
      // A mirror just built holds packs only; one that existed had its loose objects packed above.
      // Unfetched, the refs are the ones just read.
      let now = local;
      if (fetched || rebuilt || now === undefined) {
        const stats: RefStats = { loose: 0 };
        now = await readLocalRefs(path, stats);
        loose = stats.loose;
      }
      await packLooseRefs(path, loose, ctx);
      let headSha = now.get(`refs/heads/${defaultBranch}`);
      if (headSha === undefined || (fetched && !(await hasCommit(path, headSha, ctx)))) {
        if (rebuilt) throw new JgoError('mirror_broken', `the mirror ${path} does not hold ${defaultBranch} after a fresh build`, EXIT.failed);
        ctx.log(`the cached mirror does not hold ${defaultBranch}: building it anew`);
        await build(path, url, remote, ctx, progress);
        await setHead(path, defaultBranch);
        rebuilt = true;
        fetched = true;
        headSha = (await readLocalRefs(path)).get(`refs/heads/${defaultBranch}`);
        if (headSha === undefined) throw new JgoError('mirror_broken', `the mirror ${path} does not hold ${defaultBranch}`, EXIT.failed);
      }
      const bytes = fetched ? (await packBytes(path)) - (rebuilt ? 0 : before) : 0;
      progress.done();
      const what = !existed ? 'cloned' : rebuilt ? 'rebuilt' : fetched ? 'fetched' : 'up to date,';
      ctx.log(
        `${what} ${remote.refs.size} refs${fetched ? `, ${formatBytes(Math.max(bytes, 0))} of packs` : ''}, ${defaultBranch} at ${headSha.slice(0, 12)}, in ${Date.now() - started} ms`,
      );
      return { path, defaultBranch, headSha, rebuilt, fetched };
    },
  );
}

/**
 * Objects of `from` that `to` lacks, hardlinked (else copied) into it: loose objects, then any
 * pack (its .pack before its .idx, which is what makes git see it). Objects never change once
 * written, so sharing an inode is safe; each lands under a temporary name and is renamed into
 * place, so no reader sees half a file.
 */
async function shareObjects(from: string, to: string): Promise<void> {
  const put = async (src: string, dst: string) => {
    if (await exists(dst)) return;
    const tmp = `${dst}.${process.pid}.tmp`;
    await link(src, tmp).catch(() => copyFile(src, tmp));
    await rename(tmp, dst);
  };
  const dirs = (await readdir(join(from, 'objects')).catch(() => [] as string[])).filter((d) => /^[0-9a-f]{2}$/.test(d));
  for (const dir of dirs) {
    const names = (await readdir(join(from, 'objects', dir)).catch(() => [] as string[])).filter((n) => /^[0-9a-f]{38,62}$/.test(n));
    if (names.length === 0) continue;
    await mkdir(join(to, 'objects', dir), { recursive: true });
    for (const name of names) await put(join(from, 'objects', dir, name), join(to, 'objects', dir, name));
  }
  const packs = (await readdir(join(from, 'objects', 'pack')).catch(() => [] as string[])).filter((n) => /^pack-[0-9a-f]+\.pack$/.test(n));
  for (const pack of packs) {
    const idx = pack.replace(/\.pack$/, '.idx');
    if (!(await exists(join(from, 'objects', 'pack', idx)))) continue;
    await put(join(from, 'objects', 'pack', pack), join(to, 'objects', 'pack', pack));
    await put(join(from, 'objects', 'pack', idx), join(to, 'objects', 'pack', idx));
  }
}

export interface RecordPushedRequest {
  /** The mirror the working copy was made from. */
  mirror: string;
  /** The working copy holding the pushed commits. */
  dir: string;
  branch: string;
  /** What the remote was shown to hold at refs/heads/<branch>, after the push. */
  sha: string;
}

/**
 * After a verified push, the mirror gets the same branch from the working copy: the objects the
 * working copy made (it was cloned from the mirror, so those are all it lacks) and the ref.
 * Without it every run's own push makes the next sync see a new ref and fetch it back over the
 * network. No process is started: the objects are shared as files, as `git clone --local` shares
 * them the other way. Best effort: a mirror busy with another sync, or any failure, leaves the
 * work to that next sync. Returns whether the mirror now holds the branch.
 */
export async function recordPushed(req: RecordPushedRequest, ctx: Pick<GitContext, 'signal'>): Promise<boolean> {
  const gitdir = join(req.dir, '.git');
  if (!(await stat(gitdir).then((s) => s.isDirectory(), () => false))) return false;
  let lock;
  try {
    lock = await acquireLock(mirrorLockPath(req.mirror), { timeoutMs: 1000, ...(ctx.signal ? { signal: ctx.signal } : {}) });
  } catch {
    return false;
  }
  try {
    if (!(await looksUsable(req.mirror))) return false;
    await shareObjects(gitdir, req.mirror);
    const ref = join(req.mirror, 'refs', 'heads', ...req.branch.split('/'));
    await mkdir(dirname(ref), { recursive: true });
    await writeFile(`${ref}.${process.pid}.tmp`, `${req.sha}\n`);
    await rename(`${ref}.${process.pid}.tmp`, ref);
    return (await readLocalRefs(req.mirror)).get(`refs/heads/${req.branch}`) === req.sha;
  } catch {
    return false;
  } finally {
    await lock.release();
  }
}
