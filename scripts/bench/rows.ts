/**
 * The benchmark's rows, as data: what jgo runs, what native git runs for the same work, the
 * untimed setup around each run, and the ratio jgo must stay within. A later stage adds its rows
 * here (e.g. ship's "commit" and "push") with `defineRow`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { mirrorOf, parseEnvelope, removeQuietly, type BenchContext, type EngineName, type MirrorField } from './context.js';
import type { Cmd } from './measure.js';

/** The engine a row runs jgo with, or '-' for rows that do not involve git (start-up). */
export type RowEngine = EngineName | '-';

export interface RowSpec<R> {
  /** Stable key for --json and --only, e.g. `sync_cold`. */
  id: string;
  /** What jgo does, for the table. */
  label: string;
  /** What native git (or the baseline) does, for the legend. */
  baseline: string;
  /** jgo's median may be at most this many times the baseline's (the target for the default engine). */
  target: number;
  /** Run once per engine (false: once, engine '-'). */
  perEngine: boolean;
  /** A cold operation: fewer runs (--cold-runs) and no warm-up run. */
  cold?: boolean;
  /** Runs this many times --runs (default 1): for operations of a few tens of ms, where noise dominates. */
  runsFactor?: number;
  /** Whether the peak-memory target (2 x pack + 150 MiB) applies. */
  memory: boolean;
  /** Untimed, once per engine before the runs. */
  prepare?(ctx: BenchContext, engine: RowEngine): Promise<void>;
  /** Untimed, before each run: whatever the run needs (fresh directories, a new remote commit…). */
  setup(ctx: BenchContext, engine: RowEngine, index: number): Promise<R>;
  jgo(ctx: BenchContext, engine: RowEngine, run: R): Cmd[];
  native(ctx: BenchContext, run: R): Cmd[];
  /** Checks jgo's stdout (throw when the run did not do the work). */
  check?(ctx: BenchContext, engine: RowEngine, run: R, stdout: string): void;
  /** Untimed, after each run; `jgoStdout` is undefined when jgo did not complete (killed at the cap). */
  teardown?(ctx: BenchContext, engine: RowEngine, run: R, jgoStdout: string | undefined): Promise<void>;
}

/** One iteration of a row, with its per-run state bound. */
export interface Iteration {
  jgo: Cmd[];
  native: Cmd[];
  check(stdout: string): void;
  teardown(jgoStdout: string | undefined): Promise<void>;
}

/** A row with its per-run state type erased, so rows of different shapes share one list. */
export interface Row {
  id: string;
  label: string;
  baseline: string;
  target: number;
  perEngine: boolean;
  cold: boolean;
  runsFactor: number;
  memory: boolean;
  prepare(ctx: BenchContext, engine: RowEngine): Promise<void>;
  iteration(ctx: BenchContext, engine: RowEngine, index: number): Promise<Iteration>;
}

export function defineRow<R>(spec: RowSpec<R>): Row {
  return {
    id: spec.id,
    label: spec.label,
    baseline: spec.baseline,
    target: spec.target,
    perEngine: spec.perEngine,
    cold: spec.cold ?? false,
    runsFactor: spec.runsFactor ?? 1,
    memory: spec.memory,
    prepare: async (ctx, engine) => spec.prepare?.(ctx, engine),
    iteration: async (ctx, engine, index) => {
      const run = await spec.setup(ctx, engine, index);
      return {
        jgo: spec.jgo(ctx, engine, run),
        native: spec.native(ctx, run),
        check: (stdout) => spec.check?.(ctx, engine, run, stdout),
        teardown: async (jgoStdout) => spec.teardown?.(ctx, engine, run, jgoStdout),
      };
    },
  };
}

function engineOf(engine: RowEngine): EngineName {
  if (engine === '-') throw new Error('this row runs once per engine');
  return engine;
}

function warmDir(ctx: BenchContext, engine: RowEngine): string {
  const warm = ctx.warm.get(engineOf(engine));
  if (!warm) throw new Error('no warm cache: prepare did not run');
  return warm.cacheDir;
}

function checkSync(stdout: string, expect: { fetched: boolean; head?: string }): void {
  const mirror = mirrorOf(parseEnvelope(stdout));
  if (mirror.fetched !== undefined && mirror.fetched !== expect.fetched) {
    throw new Error(`jgo-sync reported fetched=${String(mirror.fetched)}, expected ${String(expect.fetched)}`);
  }
  if (expect.head !== undefined && mirror.head_sha !== expect.head) {
    throw new Error(`jgo-sync left ${mirror.default_branch} at ${mirror.head_sha}, the remote is at ${expect.head}`);
  }
}

export const startup = defineRow<undefined>({
  id: 'startup',
  label: 'start-up: jgo-gate --help',
  baseline: 'node -e 0',
  target: 2,
  perEngine: false,
  runsFactor: 3,
  memory: false,
  setup: async () => undefined,
  jgo: (ctx) => [ctx.node([join(ctx.dist, 'cmd', 'jgo-gate.js'), '--help'])],
  native: (ctx) => [ctx.node(['-e', '0'])],
  check: (_ctx, _engine, _run, stdout) => {
    if (!stdout.includes('jgo-gate')) throw new Error('jgo-gate --help printed no usage');
  },
});

export const syncCold = defineRow<{ dir: string }>({
  id: 'sync_cold',
  label: 'jgo-sync cold (empty cache)',
  baseline: 'git clone --mirror',
  target: 3,
  perEngine: true,
  cold: true,
  memory: true,
  setup: async (ctx) => {
    const dir = ctx.tmp('cold');
    await mkdir(join(dir, 'cache'), { recursive: true });
    return { dir };
  },
  jgo: (ctx, engine, { dir }) => [ctx.stage('jgo-sync', engineOf(engine), join(dir, 'cache'), ctx.envelope())],
  native: (ctx, { dir }) => [ctx.git(['clone', '--mirror', '--quiet', ctx.url, join(dir, 'native.git')])],
  check: (_ctx, _engine, _run, stdout) => checkSync(stdout, { fetched: true }),
  teardown: async (ctx, engine, { dir }, jgoStdout) => {
    // The first complete cold mirror of each engine becomes that engine's warm cache.
    const e = engineOf(engine);
    if (jgoStdout !== undefined && !ctx.warm.has(e)) {
      ctx.noteSynced(e, join(dir, 'cache'), jgoStdout);
    } else {
      await removeQuietly(join(dir, 'cache'));
    }
    if (ctx.nativeMirror === undefined) ctx.nativeMirror = join(dir, 'native.git');
    else await removeQuietly(join(dir, 'native.git'));
  },
});

export const syncWarm = defineRow<{ cacheDir: string }>({
  id: 'sync_warm',
  label: 'jgo-sync warm, no change',
  baseline: 'git fetch --prune (in the mirror)',
  target: 2,
  perEngine: true,
  memory: true,
  prepare: async (ctx, engine) => {
    await ctx.ensureWarm(engineOf(engine));
    await ctx.ensureNativeMirror();
  },
  setup: async (ctx, engine) => ({ cacheDir: warmDir(ctx, engine) }),
  jgo: (ctx, engine, { cacheDir }) => [ctx.stage('jgo-sync', engineOf(engine), cacheDir, ctx.envelope())],
  native: (ctx) => [ctx.git(['fetch', '--prune', '--quiet'], ctx.nativeMirror)],
  check: (_ctx, _engine, _run, stdout) => checkSync(stdout, { fetched: false }),
});

export const syncOneCommit = defineRow<{ cacheDir: string; head: string }>({
  id: 'sync_new_commit',
  label: 'jgo-sync warm, one new commit',
  baseline: 'git fetch --prune (in the mirror)',
  target: 3,
  perEngine: true,
  memory: true,
  prepare: async (ctx, engine) => {
    await ctx.ensureWarm(engineOf(engine));
    await ctx.ensureNativeMirror();
  },
  // Both mirrors are current before each run, so each fetches exactly this one commit.
  setup: async (ctx, engine) => ({ cacheDir: warmDir(ctx, engine), head: await ctx.newCommit() }),
  jgo: (ctx, engine, { cacheDir }) => [ctx.stage('jgo-sync', engineOf(engine), cacheDir, ctx.envelope())],
  native: (ctx) => [ctx.git(['fetch', '--prune', '--quiet'], ctx.nativeMirror)],
  check: (ctx, engine, { cacheDir, head }, stdout) => {
    checkSync(stdout, { fetched: true, head });
    ctx.noteSynced(engineOf(engine), cacheDir, stdout);
  },
});

export const worktree = defineRow<{ cacheDir: string; runId: string; dest: string; mirror: MirrorField }>({
  id: 'worktree',
  label: 'jgo-worktree',
  baseline: 'git clone --local + git checkout -b',
  target: 2,
  perEngine: true,
  memory: true,
  prepare: async (ctx) => {
    await ctx.ensureNativeMirror();
  },
  setup: async (ctx, engine) => {
    // Synced (untimed) when the remote moved since (the previous rows add commits); else as it is.
    const { cacheDir, mirror } = await ctx.ensureWarm(engineOf(engine));
    return { cacheDir, runId: ctx.runId(), dest: ctx.tmp('native-wt'), mirror };
  },
  jgo: (ctx, engine, { cacheDir, runId, mirror }) => [
    ctx.stage('jgo-worktree', engineOf(engine), cacheDir, { jgo: 1, run_id: runId, repo: { ref: ctx.ref, url: ctx.url }, mirror }),
  ],
  native: (ctx, { dest }) => [
    ctx.git(['clone', '--local', '--quiet', '--branch', ctx.repo.branch, '--', ctx.nativeMirror ?? '', dest]),
    ctx.git(['checkout', '--quiet', '-b', 'jgo/bench'], dest),
  ],
  check: (_ctx, _engine, { mirror }, stdout) => {
    const wt = parseEnvelope(stdout).worktree as { path?: unknown; base_sha?: unknown } | undefined;
    if (!wt || typeof wt.path !== 'string') throw new Error('jgo-worktree wrote no worktree');
    if (wt.base_sha !== mirror.head_sha) throw new Error(`the working copy starts at ${String(wt.base_sha)}, not ${String(mirror.head_sha)}`);
  },
  teardown: async (_ctx, _engine, { cacheDir, runId, dest }) => {
    await removeQuietly(join(cacheDir, 'work', runId));
    await removeQuietly(dest);
  },
});

/** Every row, in the order they run and print. */
export const ROWS: readonly Row[] = [startup, syncCold, syncWarm, syncOneCommit, worktree];
