/**
 * What every benchmark row works with: the served repository, the commands that run jgo stages
 * and native git as processes (each with its own, minimal environment), and untimed helpers that
 * bring a mirror up to date or move the remote, so rows only say what they time.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { commitToBare, type GitServer } from '../../test/helpers/git-server.js';
import type { Cmd, Runner } from './measure.js';
import type { PushProxy } from './proxy.js';
import { newFileText, prng, type BenchRepo } from './repo.js';

/** The `mirror` of an envelope, as jgo-sync wrote it. */
export interface MirrorField {
  path: string;
  default_branch: string;
  head_sha: string;
  fetched?: boolean;
  [key: string]: unknown;
}

export interface BenchContext {
  /** The benchmark's scratch directory (removed at the end). */
  root: string;
  /** The built dist/ directory. */
  dist: string;
  /** The repository root (test/helpers/fake-codex.mjs is under it). */
  repoRoot: string;
  server: GitServer;
  /** The proxy in front of the server that counts what pushes send, and the served repository's URL through it. */
  proxy: PushProxy;
  pushUrl: string;
  /** The served repository's name under the server root, its URL and envelope ref. */
  repoName: string;
  url: string;
  ref: string;
  repo: BenchRepo;
  runner: Runner;
  /** Milliseconds after which one timed run is killed and recorded as over the cap. */
  capMs: number;
  log: (line: string) => void;
  /** A fresh path under root (not created). */
  tmp(prefix: string): string;
  /** A run id no other run of this benchmark has (distinct work dirs and branch names). */
  runId(): string;
  /** node dist/cmd/<name>.js with an envelope on stdin; env is PATH, HOME, JGO_CACHE_DIR and the git hosts. */
  stage(name: string, cacheDir: string, envelope: Record<string, unknown>, args?: string[]): Cmd;
  /** node with these arguments, with PATH and HOME only. */
  node(args: string[]): Cmd;
  /** Native git with an isolated environment (no system config, temporary HOME). */
  git(args: string[], cwd?: string): Cmd;
  /** The envelope jgo-sync reads for the served repository. */
  envelope(extra?: Record<string, unknown>): Record<string, unknown>;
  /** A cache directory with a mirror (made by the cold row, or on demand). */
  warm: WarmCache | undefined;
  /** Bumped by every change to the served repository: a warm cache synced at this version is current. */
  remoteVersion: number;
  /** Records that a jgo-sync run (its stdout) left the warm cache current. */
  noteSynced(cacheDir: string, stdout: string): void;
  /** A `git clone --mirror` of the served repository, once made. */
  nativeMirror: string | undefined;
  /** Untimed: the warm cache, synced now; returns the mirror field. */
  ensureWarm(): Promise<{ cacheDir: string; mirror: MirrorField }>;
  /** Seconds-long untimed work (syncs, working copies) is allowed this long. */
  setupCapMs: number;
  /** Untimed: the native mirror, fetched now. */
  ensureNativeMirror(): Promise<string>;
  /** Untimed: one new commit on the served default branch (a few files edited); returns its sha. */
  newCommit(): Promise<string>;
}

export interface WarmCache {
  cacheDir: string;
  /** The mirror as the last sync reported it, and the remote version it was synced at. */
  mirror: MirrorField | undefined;
  version: number;
}

export interface ContextOptions {
  root: string;
  dist: string;
  repoRoot: string;
  server: GitServer;
  proxy: PushProxy;
  repoName: string;
  repo: BenchRepo;
  runner: Runner;
  capMs: number;
  log: (line: string) => void;
}

/** Parses a stage's stdout: one JSON object without `error`. */
export function parseEnvelope(stdout: string): Record<string, unknown> {
  const value: unknown = JSON.parse(stdout);
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error(`not an envelope: ${stdout.slice(0, 200)}`);
  const envelope = value as Record<string, unknown>;
  if (envelope.error !== undefined) throw new Error(`the stage reported an error: ${JSON.stringify(envelope.error)}`);
  return envelope;
}

export function mirrorOf(envelope: Record<string, unknown>): MirrorField {
  const mirror = envelope.mirror as MirrorField | undefined;
  if (!mirror || typeof mirror.path !== 'string' || typeof mirror.head_sha !== 'string') throw new Error('the envelope has no mirror');
  return mirror;
}

export function makeContext(options: ContextOptions): BenchContext {
  const { root, dist, repoRoot, server, proxy, repoName, repo, runner, capMs, log } = options;
  const home = join(root, 'home');
  const url = server.repoUrl(repoName);
  const ref = repoName.replace(/\.git$/, '');
  const PATH = process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin';
  let counter = 0;
  let runs = 0;
  const rand = prng(4242);
  // Setup work is allowed longer than a timed run: it is needed for the rows that follow.
  const setupCap = Math.max(capMs * 4, 600_000);

  const ctx: BenchContext = {
    root,
    dist,
    repoRoot,
    server,
    proxy,
    pushUrl: `${proxy.url}/${repoName}`,
    repoName,
    url,
    ref,
    repo,
    runner,
    capMs,
    log,
    tmp: (prefix) => join(root, `${prefix}-${++counter}`),
    runId: () => {
      // Distinct timestamps, so each run's branch stem (jgo/<stamp>) differs too.
      const d = new Date(Date.UTC(2030, 0, 1) + ++runs * 1000).toISOString();
      const stamp = `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
      return `${stamp}-b${String(runs % 1000).padStart(3, '0')}`;
    },
    stage: (name, cacheDir, envelope, args = []) => ({
      argv: [process.execPath, join(dist, 'cmd', `${name}.js`), ...args],
      // The served repository's host is jgo's git host, as a user configures it; pushes go through the counting proxy, another allowed host.
      env: { PATH, HOME: home, JGO_CACHE_DIR: cacheDir, JGO_GIT_BASE_URL: server.url, JGO_GIT_ALLOWED_HOSTS: new URL(proxy.url).host },
      cwd: home,
      input: `${JSON.stringify(envelope)}\n`,
    }),
    node: (args) => ({ argv: [process.execPath, ...args], env: { PATH, HOME: home }, cwd: home }),
    git: (args, cwd = home) => ({
      argv: ['git', ...args],
      env: { PATH, HOME: home, XDG_CONFIG_HOME: join(home, '.config'), GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' },
      cwd,
    }),
    envelope: (extra = {}) => ({ jgo: 1, run_id: ctx.runId(), repo: { ref, url }, ...extra }),
    warm: undefined,
    remoteVersion: 0,
    noteSynced(cacheDir, stdout) {
      ctx.warm = { cacheDir, mirror: mirrorOf(parseEnvelope(stdout)), version: ctx.remoteVersion };
    },
    nativeMirror: undefined,
    setupCapMs: setupCap,
    async ensureWarm() {
      const known = ctx.warm;
      if (known?.mirror !== undefined && known.version === ctx.remoteVersion) return { cacheDir: known.cacheDir, mirror: known.mirror };
      let cacheDir = known?.cacheDir;
      if (cacheDir === undefined) {
        cacheDir = ctx.tmp('warm');
        await mkdir(cacheDir, { recursive: true });
      }
      const sample = await runner.run([ctx.stage('jgo-sync', cacheDir, ctx.envelope())], setupCap);
      if (sample.capped) throw new Error(`an untimed jgo-sync took over ${setupCap / 1000} s`);
      ctx.noteSynced(cacheDir, sample.stdout);
      const mirror = ctx.warm?.mirror;
      if (mirror === undefined) throw new Error('jgo-sync reported no mirror');
      return { cacheDir, mirror };
    },
    async ensureNativeMirror() {
      if (ctx.nativeMirror === undefined) {
        const dir = ctx.tmp('native-mirror');
        await runner.run([ctx.git(['clone', '--mirror', '--quiet', url, dir])], setupCap);
        ctx.nativeMirror = dir;
      }
      await runner.run([ctx.git(['fetch', '--prune', '--quiet'], ctx.nativeMirror)], setupCap);
      return ctx.nativeMirror;
    },
    async newCommit() {
      const files: Record<string, string> = {};
      const count = 1 + Math.floor(rand() * 3);
      for (let i = 0; i < count; i++) {
        const path = repo.paths[Math.floor(rand() * repo.paths.length)];
        if (path !== undefined) files[path] = newFileText(rand);
      }
      ctx.remoteVersion++;
      return commitToBare(server, repoName, { branch: repo.branch, files, message: `bench: change ${Object.keys(files).length} files\n` });
    },
  };
  return ctx;
}

export async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => {});
}
