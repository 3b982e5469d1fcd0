/**
 * The benchmark's rows, as data: what jgo runs, what native git runs for the same work, the
 * untimed setup around each run, and the ratio jgo must stay within. A stage adds its rows here
 * with `defineRow`: jgo-sync and jgo-worktree, then jgo-ship (its own time, the plan excluded)
 * and the push through the git layer, with the remote's main unchanged and moved.
 */
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { mirrorOf, parseEnvelope, removeQuietly, type BenchContext, type MirrorField } from './context.js';
import type { Cmd } from './measure.js';
import { gc10k, gc10kNone } from './gc.js';
import { prng } from './repo.js';
import {
  commit,
  commitCmds,
  copyWorkingCopy,
  deleteServed,
  fakeCodexPath,
  head,
  jgoTemplate,
  leftoverBranches,
  makeChange,
  nativeTemplate,
  newObjectCount,
  planScript,
  resetServedMain,
  servedBranches,
  writeChange,
  type JgoTemplate,
  type WorkingCopy,
} from './ship.js';
import { runBackToBack, runFirst } from './whole-run.js';

export interface RowSpec<R> {
  /** Stable key for --json and --only, e.g. `sync_cold`. */
  id: string;
  /** What jgo does, for the table. */
  label: string;
  /** What native git (or the baseline) does, for the legend. */
  baseline: string;
  /** jgo's median may be at most this many times the baseline's (the target). */
  target: number;
  /** A cold operation: fewer runs (--cold-runs) and no warm-up run. */
  cold?: boolean;
  /** Runs this many times --runs (default 1): for operations of a few tens of ms, where noise dominates. */
  runsFactor?: number;
  /** Whether the peak-memory target (2 x pack + 150 MiB) applies. */
  memory: boolean;
  /** A cap for this row's runs, when lower than --cap (rows whose slow runs would otherwise eat the bench's time). */
  capMs?: number;
  /** At most this many runs (when --runs is more): rows whose untimed work costs seconds a run. */
  runs?: number;
  /** A warm-up run first (default: warm rows have one). */
  warmup?: boolean;
  /** A jgo run slower than this is recorded (even a warm-up) and the row stops: one run tells a ratio that large. */
  slowMs?: number;
  /** Record what each side's pushes send through ctx.proxy (bytes, objects): set by rows whose runs push to ctx.pushUrl. */
  pushes?: boolean;
  /** How jgo's time is taken, when it is not the process's wall time (printed under the table). */
  note?: string;
  /** Untimed, once before the runs. */
  prepare?(ctx: BenchContext): Promise<void>;
  /** Untimed, before each run: whatever the run needs (fresh directories, a new remote commit…). */
  setup(ctx: BenchContext, index: number): Promise<R>;
  jgo(ctx: BenchContext, run: R): Cmd[];
  native(ctx: BenchContext, run: R): Cmd[];
  /** Checks jgo's stdout (throw when the run did not do the work). */
  check?(ctx: BenchContext, run: R, stdout: string): void;
  /**
   * jgo's milliseconds for this run, from its stdout and the wall time of its process(es): for
   * rows where part of the process's time is not jgo's (ship's plan, which codex spends) or
   * where the operation is timed inside the process. Default: the wall time.
   */
  jgoMs?(ctx: BenchContext, run: R, stdout: string, wallMs: number): number;
  /**
   * Named figures of one jgo run beside its time (whole runs: the process's wall time, codex's
   * and the model's shares), recorded per run; the report gives their medians.
   */
  parts?(ctx: BenchContext, run: R, stdout: string, wallMs: number): Record<string, number>;
  /**
   * Milliseconds of jgo's time that are a fixed cost, not work that grows with the repository
   * (known after the runs): the ratio is then (jgo - this) / native, and the note says so.
   */
  allowanceMs?(ctx: BenchContext): number | undefined;
  /** Said after the label in the report, once the row ran (what the label cannot know: counts that depend on the repository). */
  detail?(ctx: BenchContext): string | undefined;
  /** After teardown: how many objects the run's change really adds (what a push must send at most). */
  newObjects?(run: R): number | undefined;
  /** Untimed, after each run; `jgoStdout` is undefined when jgo did not complete (killed at the cap). */
  teardown?(ctx: BenchContext, run: R, jgoStdout: string | undefined): Promise<void>;
  /** Untimed, once after the runs, also after an error: whatever prepare made goes. */
  finish?(ctx: BenchContext): Promise<void>;
}

/** One iteration of a row, with its per-run state bound. */
export interface Iteration {
  jgo: Cmd[];
  native: Cmd[];
  check(stdout: string): void;
  jgoMs(stdout: string, wallMs: number): number;
  parts(stdout: string, wallMs: number): Record<string, number> | undefined;
  teardown(jgoStdout: string | undefined): Promise<void>;
  newObjects(): number | undefined;
}

/** A row with its per-run state type erased, so rows of different shapes share one list. */
export interface Row {
  id: string;
  label: string;
  baseline: string;
  target: number;
  cold: boolean;
  runsFactor: number;
  memory: boolean;
  capMs: number | undefined;
  maxRuns: number | undefined;
  warmup: boolean | undefined;
  slowMs: number | undefined;
  pushes: boolean;
  note: string | undefined;
  prepare(ctx: BenchContext): Promise<void>;
  iteration(ctx: BenchContext, index: number): Promise<Iteration>;
  finish(ctx: BenchContext): Promise<void>;
  allowanceMs(ctx: BenchContext): number | undefined;
  detail(ctx: BenchContext): string | undefined;
}

export function defineRow<R>(spec: RowSpec<R>): Row {
  return {
    id: spec.id,
    label: spec.label,
    baseline: spec.baseline,
    target: spec.target,
    cold: spec.cold ?? false,
    runsFactor: spec.runsFactor ?? 1,
    memory: spec.memory,
    capMs: spec.capMs,
    maxRuns: spec.runs,
    warmup: spec.warmup,
    slowMs: spec.slowMs,
    pushes: spec.pushes ?? false,
    note: spec.note,
    prepare: async (ctx) => spec.prepare?.(ctx),
    finish: async (ctx) => spec.finish?.(ctx),
    allowanceMs: (ctx) => spec.allowanceMs?.(ctx),
    detail: (ctx) => spec.detail?.(ctx),
    iteration: async (ctx, index) => {
      const run = await spec.setup(ctx, index);
      return {
        jgo: spec.jgo(ctx, run),
        native: spec.native(ctx, run),
        check: (stdout) => spec.check?.(ctx, run, stdout),
        jgoMs: (stdout, wallMs) => (spec.jgoMs ? spec.jgoMs(ctx, run, stdout, wallMs) : wallMs),
        parts: (stdout, wallMs) => spec.parts?.(ctx, run, stdout, wallMs),
        teardown: async (jgoStdout) => spec.teardown?.(ctx, run, jgoStdout),
        newObjects: () => spec.newObjects?.(run),
      };
    },
  };
}

function warmDir(ctx: BenchContext): string {
  const warm = ctx.warm;
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
  runsFactor: 3,
  memory: false,
  setup: async () => undefined,
  jgo: (ctx) => [ctx.node([join(ctx.dist, 'cmd', 'jgo-gate.js'), '--help'])],
  native: (ctx) => [ctx.node(['-e', '0'])],
  check: (_ctx, _run, stdout) => {
    if (!stdout.includes('jgo-gate')) throw new Error('jgo-gate --help printed no usage');
  },
});

export const syncCold = defineRow<{ dir: string }>({
  id: 'sync_cold',
  label: 'jgo-sync cold (empty cache)',
  baseline: 'git clone --mirror',
  target: 3,
  cold: true,
  memory: true,
  setup: async (ctx) => {
    const dir = ctx.tmp('cold');
    await mkdir(join(dir, 'cache'), { recursive: true });
    return { dir };
  },
  jgo: (ctx, { dir }) => [ctx.stage('jgo-sync', join(dir, 'cache'), ctx.envelope())],
  native: (ctx, { dir }) => [ctx.git(['clone', '--mirror', '--quiet', ctx.url, join(dir, 'native.git')])],
  check: (_ctx, _run, stdout) => checkSync(stdout, { fetched: true }),
  teardown: async (ctx, { dir }, jgoStdout) => {
    // The first complete cold mirror becomes the warm cache.
    if (jgoStdout !== undefined && ctx.warm === undefined) {
      ctx.noteSynced(join(dir, 'cache'), jgoStdout);
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
  memory: true,
  prepare: async (ctx) => {
    await ctx.ensureWarm();
    await ctx.ensureNativeMirror();
  },
  setup: async (ctx) => ({ cacheDir: warmDir(ctx) }),
  jgo: (ctx, { cacheDir }) => [ctx.stage('jgo-sync', cacheDir, ctx.envelope())],
  native: (ctx) => [ctx.git(['fetch', '--prune', '--quiet'], ctx.nativeMirror)],
  check: (_ctx, _run, stdout) => checkSync(stdout, { fetched: false }),
});

export const syncOneCommit = defineRow<{ cacheDir: string; head: string }>({
  id: 'sync_new_commit',
  label: 'jgo-sync warm, one new commit',
  baseline: 'git fetch --prune (in the mirror)',
  target: 3,
  memory: true,
  prepare: async (ctx) => {
    await ctx.ensureWarm();
    await ctx.ensureNativeMirror();
  },
  // Both mirrors are current before each run, so each fetches exactly this one commit.
  setup: async (ctx) => ({ cacheDir: warmDir(ctx), head: await ctx.newCommit() }),
  jgo: (ctx, { cacheDir }) => [ctx.stage('jgo-sync', cacheDir, ctx.envelope())],
  native: (ctx) => [ctx.git(['fetch', '--prune', '--quiet'], ctx.nativeMirror)],
  check: (ctx, { cacheDir, head }, stdout) => {
    checkSync(stdout, { fetched: true, head });
    ctx.noteSynced(cacheDir, stdout);
  },
});

export const worktree = defineRow<{ cacheDir: string; runId: string; dest: string; mirror: MirrorField }>({
  id: 'worktree',
  label: 'jgo-worktree',
  baseline: 'git clone --local + git checkout -b',
  target: 2,
  memory: true,
  prepare: async (ctx) => {
    await ctx.ensureNativeMirror();
  },
  setup: async (ctx) => {
    // Synced (untimed) when the remote moved since (the previous rows add commits); else as it is.
    const { cacheDir, mirror } = await ctx.ensureWarm();
    return { cacheDir, runId: ctx.runId(), dest: ctx.tmp('native-wt'), mirror };
  },
  jgo: (ctx, { cacheDir, runId, mirror }) => [
    ctx.stage('jgo-worktree', cacheDir, { jgo: 1, run_id: runId, repo: { ref: ctx.ref, url: ctx.url }, mirror }),
  ],
  native: (ctx, { dest }) => [
    ctx.git(['clone', '--local', '--quiet', '--branch', ctx.repo.branch, '--', ctx.nativeMirror ?? '', dest]),
    ctx.git(['checkout', '--quiet', '-b', 'jgo/bench'], dest),
  ],
  check: (_ctx, { mirror }, stdout) => {
    const wt = parseEnvelope(stdout).worktree as { path?: unknown; base_sha?: unknown } | undefined;
    if (!wt || typeof wt.path !== 'string') throw new Error('jgo-worktree wrote no worktree');
    if (wt.base_sha !== mirror.head_sha) throw new Error(`the working copy starts at ${String(wt.base_sha)}, not ${String(mirror.head_sha)}`);
  },
  teardown: async (_ctx, { cacheDir, runId, dest }) => {
    await removeQuietly(join(cacheDir, 'work', runId));
    await removeQuietly(dest);
  },
});

/** The flag that makes dist/scripts/bench.js the push rows' jgo side (scripts/bench/push-probe.ts) instead of the bench. */
export const PUSH_PROBE = '--push-probe';

/**
 * The ship and push rows need a fresh working copy per side and run, and push to the server:
 * seconds of untimed work a run. They run 3 times (not --runs, if that is more), without a
 * warm-up run. A push of one commit takes a fraction of a second; one that sends whole trees
 * takes seconds: a jgo run over SHIP_SLOW_MS is one run enough (recorded, the row stops there),
 * and one over SHIP_CAP_MS is killed and recorded as over it.
 */
const SHIP_RUNS = 3;
const SHIP_SLOW_MS = 5_000;
const SHIP_CAP_MS = 30_000;
/** What the ship and push rows share: 2x of native, few slow runs, pushes counted. */
const SHIP_ROW = {
  target: 2,
  memory: true,
  runs: SHIP_RUNS,
  warmup: false,
  slowMs: SHIP_SLOW_MS,
  capMs: SHIP_CAP_MS,
  pushes: true,
} as const;

/** The working copies every run copies (jgo-worktree's, and native git's). */
interface Templates {
  jgo: JgoTemplate;
  native: WorkingCopy;
}
let templates: Templates | undefined;
const changeRand = prng(20261123);
let changes = 0;
const SUBJECT = 'feat(bench): edit three files and add notes';
/**
 * Native git's commit says so: the same message, tree, parent and second would give both sides
 * the same commit, and the side pushing second would find it on the server (advertised under the
 * first side's branch) and send nothing.
 */
const NATIVE_SUBJECT = `${SUBJECT} (native git)`;

/** The templates, made now unless they exist and still start at the served main. */
async function templatesFor(ctx: BenchContext): Promise<Templates> {
  const main = (await servedBranches(ctx)).get(ctx.repo.branch);
  const known = templates;
  if (known !== undefined && known.jgo.base === main) return known;
  if (known !== undefined) {
    await removeQuietly(dirname(known.jgo.dir));
    await removeQuietly(dirname(known.native.dir));
  }
  const jgo = await jgoTemplate(ctx);
  templates = { jgo, native: await nativeTemplate(ctx, jgo.base) };
  return templates;
}

function templatesOf(): Templates {
  const t = templates;
  if (!t) throw new Error('no working-copy templates: prepare did not run');
  return t;
}

/** After a row: every run deleted what it pushed; anything left (a run that failed half-way) goes now. */
async function cleanServer(ctx: BenchContext, id: string): Promise<void> {
  const left = await leftoverBranches(ctx);
  if (left.length > 0) {
    ctx.log(`${id}: deleting ${left.length} branch(es) left on the server: ${left.slice(0, 5).join(', ')}${left.length > 5 ? ', …' : ''}`);
    await deleteServed(ctx, left);
  }
}

/** Fresh copies of both templates on fresh branches, with the same change written into each. */
async function freshPair(ctx: BenchContext, t: Templates) {
  const id = ctx.runId();
  const jgo = await copyWorkingCopy(ctx, t.jgo, `jgo/${id}`, join(t.jgo.cacheDir, 'work', id, 'repo'));
  const native = await copyWorkingCopy(ctx, t.native, `bench/native-${id}`);
  const change = await makeChange(ctx, jgo.dir, changeRand, ++changes);
  await writeChange(jgo.dir, change);
  await writeChange(native.dir, change);
  return { id, jgo, native, change };
}

/** Checks that each side's branch is on the server at the commit it pushed, then deletes both sides' branches. */
async function verifyAndDelete(ctx: BenchContext, sides: Array<{ copy: WorkingCopy; pushed: boolean; expect: string | undefined }>): Promise<void> {
  const served = await servedBranches(ctx);
  try {
    for (const { copy, pushed, expect } of sides) {
      const sha = served.get(copy.branch);
      if (sha === undefined) {
        if (pushed) throw new Error(`${copy.branch} is not on the server after its push`);
        continue;
      }
      if (expect !== undefined && sha !== expect) throw new Error(`${copy.branch} on the server is ${sha}, not ${expect}`);
    }
  } finally {
    await deleteServed(ctx, sides.map((s) => s.copy.branch), served);
  }
}

interface ShipRun {
  templates: Templates;
  jgo: WorkingCopy;
  native: WorkingCopy;
  envelope: Record<string, unknown>;
  script: string;
  added: number | undefined;
}

interface ShipField {
  pushed?: unknown;
  plan?: unknown;
  commits?: unknown;
  remote_sha?: unknown;
  plan_duration_ms?: unknown;
}

function shipOf(stdout: string): ShipField {
  const ship = parseEnvelope(stdout).ship as ShipField | undefined;
  if (!ship) throw new Error('jgo-ship wrote no ship');
  return ship;
}

export const shipCommitPush = defineRow<ShipRun>({
  id: 'ship_commit_push',
  label: 'jgo-ship: commit + push + verify, plan excluded',
  baseline: 'git add -A + git commit + git push origin <branch>',
  note:
    'jgo = the jgo-ship process (with --keep: the working copy is not removed) minus what codex spends on the plan: ship.plan_duration_ms ' +
    '(the fake codex exec and the codex login check before it, as jgo-ship times them); 3 files edited + 1 added, one commit; ' +
    "cpu and memory include the fake codex's processes",
  ...SHIP_ROW,
  prepare: async (ctx) => {
    await templatesFor(ctx);
  },
  setup: async (ctx) => {
    const t = templatesOf();
    const { id, jgo, native, change } = await freshPair(ctx, t);
    const script = await planScript(dirname(jgo.dir), SUBJECT, change.paths);
    const wt = t.jgo.envelope.worktree as Record<string, unknown>;
    const envelope = {
      ...t.jgo.envelope,
      run_id: id,
      request: `${ctx.ref} edit three files and add notes`,
      worktree: { ...wt, path: jgo.dir, branch: jgo.branch },
      codex: { exit_code: 0, changed_files: change.paths, last_message: 'done', duration_ms: 1 },
    };
    return { templates: t, jgo, native, envelope, script, added: undefined };
  },
  jgo: (ctx, run) => {
    const cmd = ctx.stage('jgo-ship', run.templates.jgo.cacheDir, run.envelope, ['--keep']);
    return [{ ...cmd, env: { ...cmd.env, CODEX_BIN: fakeCodexPath(ctx), CODEX_FAKE_SCRIPT: run.script } }];
  },
  native: (ctx, run) => [...commitCmds(ctx, run.native.dir, NATIVE_SUBJECT), ctx.git(['push', '--quiet', 'origin', run.native.branch], run.native.dir)],
  check: (_ctx, _run, stdout) => {
    const ship = shipOf(stdout);
    if (ship.pushed !== true) throw new Error('jgo-ship did not report the push');
    if (ship.plan !== 'codex') throw new Error(`jgo-ship used the ${String(ship.plan)} plan, not the fake codex's`);
    if (!Array.isArray(ship.commits) || ship.commits.length !== 1) throw new Error(`jgo-ship made ${Array.isArray(ship.commits) ? ship.commits.length : 'no'} commits, not 1`);
    if (typeof ship.plan_duration_ms !== 'number') throw new Error('jgo-ship reported no plan_duration_ms');
  },
  // plan_duration_ms includes the login check (jgo-ship times it with the plan), so it is not taken off twice.
  jgoMs: (_ctx, _run, stdout, wallMs) => wallMs - (shipOf(stdout).plan_duration_ms as number),
  teardown: async (ctx, run, jgoStdout) => {
    try {
      const nativeHead = await head(ctx, run.native.dir);
      const nativePushed = nativeHead !== run.native.base;
      if (nativePushed) run.added = await newObjectCount(ctx, run.native.dir, run.native.base);
      const remote = jgoStdout === undefined ? undefined : shipOf(jgoStdout).remote_sha;
      await verifyAndDelete(ctx, [
        { copy: run.jgo, pushed: jgoStdout !== undefined, expect: typeof remote === 'string' ? remote : undefined },
        { copy: run.native, pushed: false, expect: nativeHead },
      ]);
    } finally {
      await removeQuietly(dirname(run.jgo.dir));
      await removeQuietly(dirname(run.native.dir));
    }
  },
  newObjects: (run) => run.added,
  finish: (ctx) => cleanServer(ctx, 'ship_commit_push'),
});

interface PushRun {
  jgo: WorkingCopy;
  native: WorkingCopy;
  jgoHead: string;
  nativeHead: string;
  added: number;
  /** The served main was moved to this commit before the run (and is put back after). */
  moved: string | undefined;
}

function pushRow(id: 'push' | 'push_moved', moved: boolean) {
  return defineRow<PushRun>({
    id,
    label: moved ? 'push, remote main moved 1 commit' : 'push, remote main unchanged',
    baseline: 'git push origin <branch>',
    note:
      "jgo = the git layer's pushBranch (jgo-ship's push) timed inside a process started for it (bench.js --push-probe), node's start-up excluded; " +
      `one commit (3 files edited + 1 added) on a new branch${moved ? '; one commit added to the served main after the working copies were made' : ''}`,
    ...SHIP_ROW,
    prepare: async (ctx) => {
      await templatesFor(ctx);
    },
    setup: async (ctx) => {
      const t = templatesOf();
      const { jgo, native } = await freshPair(ctx, t);
      const jgoHead = await commit(ctx, jgo.dir, SUBJECT);
      const nativeHead = await commit(ctx, native.dir, NATIVE_SUBJECT);
      const added = await newObjectCount(ctx, native.dir, native.base);
      return { jgo, native, jgoHead, nativeHead, added, moved: moved ? await ctx.newCommit() : undefined };
    },
    jgo: (ctx, run) => [
      ctx.node([join(ctx.dist, 'scripts', 'bench.js'), PUSH_PROBE, JSON.stringify({ dir: run.jgo.dir, url: ctx.pushUrl, branch: run.jgo.branch })]),
    ],
    native: (ctx, run) => [ctx.git(['push', '--quiet', 'origin', run.native.branch], run.native.dir)],
    check: (_ctx, _run, stdout) => {
      const out = JSON.parse(stdout) as { push_ms?: unknown };
      if (typeof out.push_ms !== 'number') throw new Error(`the push probe printed no push_ms: ${stdout.slice(0, 200)}`);
    },
    jgoMs: (_ctx, _run, stdout) => (JSON.parse(stdout) as { push_ms: number }).push_ms,
    teardown: async (ctx, run, jgoStdout) => {
      try {
        await verifyAndDelete(ctx, [
          { copy: run.jgo, pushed: jgoStdout !== undefined, expect: run.jgoHead },
          { copy: run.native, pushed: false, expect: run.nativeHead },
        ]);
      } finally {
        // The served main goes back to the working copies' base: the next run's remote moves by one commit again.
        if (run.moved !== undefined) await resetServedMain(ctx, run.jgo.base);
        await removeQuietly(dirname(run.jgo.dir));
        await removeQuietly(dirname(run.native.dir));
      }
    },
    newObjects: (run) => run.added,
    finish: (ctx) => cleanServer(ctx, id),
  });
}

export const push = pushRow('push', false);
export const pushMoved = pushRow('push_moved', true);

/** The rows a bench runs by default, in the order they run and print. */
export const ROWS: readonly Row[] = [startup, syncCold, syncWarm, syncOneCommit, worktree, shipCommitPush, push, pushMoved];

/**
 * Rows that run when named (--only) or with --all: whole jgo runs with the loopback model and the
 * fake codex (scripts/bench/whole-run.ts), and jgo gc on 10,000 journals (scripts/bench/gc.ts).
 */
export const MORE_ROWS: readonly Row[] = [defineRow(runFirst), defineRow(runBackToBack), defineRow(gc10k), defineRow(gc10kNone)];

/** Every row, in the order they run and print. */
export const ALL_ROWS: readonly Row[] = [...ROWS, ...MORE_ROWS];
