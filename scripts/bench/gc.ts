/**
 * `jgo gc` on a cache of 10,000 journals: valid run records (lib/run/journal.ts's run.json) whose
 * run ids begin with their UTC time, all from the last two days, plus, for gc_10k, a few runs a
 * month old, each with a working copy of the bench repository (copies of one jgo-worktree made,
 * hardlinked: `rm` unlinks as many entries either way). Native side: `rm -rf` of the very same
 * directories (made again beside, in a directory of their own), or, with nothing to remove, a
 * node process that lists the two directories gc must read.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { removeQuietly, type BenchContext } from './context.js';
import type { Cmd } from './measure.js';
import type { RowSpec } from './rows.js';
import { jgoTemplate, type JgoTemplate } from './ship.js';

const JOURNALS = 10_000;
/** Old runs with working copies per gc_10k run: 20, fewer for large repositories (at most ~200,000 files to remove a run). */
function oldRuns(files: number): number {
  return Math.max(2, Math.min(20, Math.floor(200_000 / Math.max(1, files))));
}
const DAY = 24 * 3600 * 1000;

function runId(ms: number, n: number): string {
  const d = new Date(ms).toISOString();
  const stamp = `${d.slice(0, 4)}${d.slice(5, 7)}${d.slice(8, 10)}-${d.slice(11, 13)}${d.slice(14, 16)}${d.slice(17, 19)}`;
  return `${stamp}-${(n % 0x10000).toString(16).padStart(4, '0')}`;
}

/** A finished run's journal: runs/<id>/run.json, as jgo run leaves it. */
async function journal(cache: string, id: string, ms: number): Promise<void> {
  const dir = join(cache, 'runs', id);
  await mkdir(dir, { recursive: true });
  const record = { run_id: id, request: 'bench/repo bench edit', started: new Date(ms).toISOString(), ended: new Date(ms + 20_000).toISOString(), status: 'done', host: hostname(), pid: 1, thread: id };
  await writeFile(join(dir, 'run.json'), `${JSON.stringify(record, null, 2)}\n`);
}

interface GcState {
  cache: string;
  template: JgoTemplate;
}
let state: GcState | undefined;

/** Untimed, once for both rows: the 10,000 recent journals and the working copy the old runs copy. */
async function gcState(ctx: BenchContext): Promise<GcState> {
  if (state) return state;
  const started = Date.now();
  const cache = ctx.tmp('gc-cache');
  await mkdir(join(cache, 'work'), { recursive: true });
  const now = Date.now();
  for (let i = 0; i < JOURNALS; i += 250) {
    const batch: Array<Promise<void>> = [];
    // One run every 15 s over the last 42 hours: all within --days 7.
    for (let k = i; k < Math.min(JOURNALS, i + 250); k++) batch.push(journal(cache, runId(now - 3600_000 - k * 15_000, k), now - k * 15_000));
    await Promise.all(batch);
  }
  state = { cache, template: await jgoTemplate(ctx) };
  ctx.log(`gc: ${JOURNALS} journals made in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return state;
}

interface GcRun {
  cache: string;
  /** The old runs' ids, sorted, and what native git's side removes. */
  ids: string[];
  nativePaths: string[];
}

let rounds = 0;

/** Untimed: `count` runs a month old with journals and working copies in the cache, and the same directories beside for rm. */
async function oldOnes(ctx: BenchContext, s: GcState, count: number): Promise<GcRun> {
  const round = ++rounds;
  const base = Date.now() - 30 * DAY - round * 1000 * count;
  const ids = Array.from({ length: count }, (_, j) => runId(base + j * 1000, round * 100 + j)).sort();
  const native = ctx.tmp('gc-native');
  const copies: string[] = [];
  for (const id of ids) {
    for (const root of [s.cache, native]) {
      await journal(root, id, base);
      await mkdir(join(root, 'work', id), { recursive: true });
      copies.push(join(root, 'work', id, 'repo'));
    }
  }
  const script = 'set -e; t="$1"; shift; for d; do cp -al "$t" "$d"; done';
  const sample = await ctx.runner.run([{ argv: ['sh', '-c', script, 'copy', s.template.dir, ...copies], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: native }], ctx.setupCapMs);
  if (sample.capped) throw new Error('copying the old working copies went over the setup cap');
  return { cache: s.cache, ids, nativePaths: ids.flatMap((id) => [join(native, 'work', id), join(native, 'runs', id)]) };
}

function jgoGc(ctx: BenchContext, cache: string): Cmd {
  return {
    argv: [process.execPath, join(ctx.dist, 'cmd', 'jgo.js'), 'gc', '--days', '7', '--json'],
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: join(ctx.root, 'home'), JGO_CACHE_DIR: cache, JGO_ENV_FILE: join(ctx.root, 'none.env') },
    cwd: join(ctx.root, 'home'),
  };
}

function checkRemoved(stdout: string, expected: string[]): void {
  const out = JSON.parse(stdout) as { removed?: Array<{ run_id?: unknown }> };
  const removed = (out.removed ?? []).map((r) => String(r.run_id)).sort();
  if (removed.join(',') !== expected.join(',')) throw new Error(`jgo gc removed ${removed.length} runs (${removed.slice(0, 3).join(', ')}…), not the ${expected.length} old ones`);
}

/** What gc left undone (a failed run) goes, so the next run starts from the same cache. */
async function cleanUp(run: GcRun): Promise<void> {
  for (const id of run.ids) {
    await removeQuietly(join(run.cache, 'work', id));
    await removeQuietly(join(run.cache, 'runs', id));
  }
  for (const path of run.nativePaths) await removeQuietly(path);
}

const GC = {
  memory: false,
  note: `${JOURNALS} finished runs' journals of the last two days (passed over by their ids); the old runs' working copies are hardlinked copies of one jgo-worktree made`,
} as const;

export const gc10k: RowSpec<GcRun> = {
  id: 'gc_10k',
  label: `jgo gc --days 7, ${JOURNALS} journals`,
  baseline: 'rm -rf of the same directories (the old runs\' working copies and journals)',
  target: 1.5,
  ...GC,
  detail: (ctx) => `${oldRuns(ctx.repo.files)} old with working copies`,
  prepare: async (ctx) => {
    await gcState(ctx);
  },
  setup: async (ctx) => oldOnes(ctx, await gcState(ctx), oldRuns(ctx.repo.files)),
  jgo: (ctx, run) => [jgoGc(ctx, run.cache)],
  native: (_ctx, run) => [{ argv: ['rm', '-rf', '--', ...run.nativePaths], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: '/' }],
  check: (_ctx, run, stdout) => checkRemoved(stdout, run.ids),
  teardown: async (_ctx, run) => cleanUp(run),
};

export const gc10kNone: RowSpec<GcRun> = {
  id: 'gc_10k_none',
  label: `jgo gc --days 7, ${JOURNALS} journals, nothing to remove`,
  baseline: 'node listing runs/ and work/ (node -e readdirSync)',
  target: 3,
  ...GC,
  prepare: async (ctx) => {
    await gcState(ctx);
  },
  setup: async (ctx) => ({ cache: (await gcState(ctx)).cache, ids: [], nativePaths: [] }),
  jgo: (ctx, run) => [jgoGc(ctx, run.cache)],
  native: (ctx, run) => [ctx.node(['-e', 'const fs = require("node:fs"); fs.readdirSync(process.argv[1]); fs.readdirSync(process.argv[2]);', join(run.cache, 'runs'), join(run.cache, 'work')])],
  check: (_ctx, _run, stdout) => checkRemoved(stdout, []),
};
