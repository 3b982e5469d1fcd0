/**
 * Whole `jgo run`s, as scripts/overhead.ts runs them (the loopback model answering the gate, the
 * scripted fake codex editing one file and planning one commit), against native git doing the
 * same job the best way it can. jgo's time is the run's wall time minus codex's (codex.duration_ms
 * and ship.plan_duration_ms, as the envelope reports them) and the model's (the loopback server's
 * answering): what is left is jgo's. Native git has no codex: its edit is a `cp` of the new text.
 *
 * - run_back_to_back: runs one after the other on the same warm cache (the mirror and the kept
 *   working copies of the runs before); the first run is untimed, so what is recorded is the 2nd
 *   to Nth. Native git reuses one clone: fetch, checkout -B, clean -ffdx, edit, commit -a, push.
 * - run_first: each run on a cache that has the mirror and nothing else (a first run: a new
 *   working copy). Native git: fetch its mirror, clone --local, checkout -b, edit, commit -a, push.
 *
 * jgo's fixed cost (six process starts, the model client, the envelopes) is measured first, the
 * same way, on a repository of three files: jgo's time minus native git's there. The ratio is
 * then (jgo - that) / native: whether jgo's work grows with the repository as native git's does.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createBareRepo, runGit as serverGit } from '../../test/helpers/git-server.js';
import { gateAnswer, startLlmServer, type LlmServer } from '../../test/helpers/llm-server.js';
import { parseEnvelope, removeQuietly, type BenchContext } from './context.js';
import { median, type Cmd } from './measure.js';
import type { RowSpec } from './rows.js';
import { fakeCodexPath, IDENTITY } from './ship.js';

/** A served repository that whole runs change: its ref and URL, the file they edit and its text at the tip. */
interface Site {
  ref: string;
  repoName: string;
  url: string;
  branch: string;
  file: string;
  original: string;
  /** The loopback model, answering every gate call with this repository. */
  llm: LlmServer;
  /** Scripts, records and new texts of the runs. */
  scratch: string;
}

/** One run of either side: its id, the new text of the file, and what jgo's run needs. */
interface WholeRun {
  runId: string;
  n: number;
  /** The file's new text, written where native git's `cp` takes it from. */
  text: string;
  script: string;
  record: string;
  /** The model's requests before this run: the run's are those after. */
  spansBefore: number;
  nativeBranch: string;
}

interface RunEnvelope {
  codex?: { duration_ms?: unknown };
  ship?: { pushed?: unknown; branch?: unknown; commits?: unknown; plan_duration_ms?: unknown };
}

const identity = ['-c', `user.name=${IDENTITY.name}`, '-c', `user.email=${IDENTITY.email}`];
/** Gate answers the loopback model holds: more than any bench makes runs. */
const ANSWERS = 10_000;
/** Timed runs of each side on the three-file repository, for jgo's fixed cost. */
const CALIBRATION_RUNS = 3;

async function gitOut(ctx: BenchContext, args: string[]): Promise<string> {
  return (await serverGit(ctx.server, args)).stdout;
}

async function startSite(ctx: BenchContext, repoName: string, branch: string, file: string): Promise<Site> {
  const ref = repoName.replace(/\.git$/, '');
  const original = await gitOut(ctx, [`--git-dir=${join(ctx.server.root, repoName)}`, 'cat-file', 'blob', `${branch}:${file}`]);
  const llm = await startLlmServer(Array.from({ length: ANSWERS }, () => gateAnswer({ executable: true, repo_ref: ref, optimized_prompt: `Edit ${file}.` })));
  const scratch = ctx.tmp('whole-runs');
  await mkdir(scratch, { recursive: true });
  return { ref, repoName, url: ctx.server.repoUrl(repoName), branch, file, original, llm, scratch };
}

/** The served repository's site: it edits a text file from the middle of the tip's list. */
function benchSite(ctx: BenchContext): Promise<Site> {
  const file = ctx.repo.paths[Math.floor(ctx.repo.paths.length / 2)];
  if (file === undefined) throw new Error('the repository has no text file to edit');
  return startSite(ctx, ctx.repoName, ctx.repo.branch, file);
}

let runs = 0;

/** Untimed: the fake codex's script for this run (the edit, then the plan), and the new text for native git. */
async function newRun(ctx: BenchContext, site: Site): Promise<WholeRun> {
  const n = ++runs;
  const runId = ctx.runId();
  const text = `${site.original}${site.original === '' || site.original.endsWith('\n') ? '' : '\n'}bench edit ${n}\n`;
  const event = (e: Record<string, unknown>) => ({ event: e });
  const done = event({ type: 'turn.completed', usage: { input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0 } });
  const plan = { commits: [{ subject: `bench: edit ${site.file}`, body: '', paths: [site.file] }] };
  const script = {
    login: 'ok',
    runs: [
      { steps: [event({ type: 'thread.started', thread_id: '01a20a82-b8d4-7441-bc3d-5e4fdd50ae6b' }), event({ type: 'turn.started' }), { write: site.file, content: text }, done] },
      { steps: [event({ type: 'thread.started', thread_id: '01a20a82-b8d4-7441-bc3d-5e4fdd50ae6c' }), event({ type: 'turn.started' }), event({ type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: JSON.stringify(plan) } }), done] },
    ],
  };
  const scriptPath = join(site.scratch, `script-${n}.json`);
  await writeFile(scriptPath, JSON.stringify(script));
  await writeFile(join(site.scratch, `text-${n}`), text);
  return { runId, n, text, script: scriptPath, record: join(site.scratch, `record-${n}.jsonl`), spansBefore: site.llm.spans.length, nativeBranch: `bench/native-${runId}` };
}

function jgoRun(ctx: BenchContext, site: Site, cacheDir: string, run: WholeRun): Cmd {
  return {
    argv: [process.execPath, join(ctx.dist, 'cmd', 'jgo.js'), 'run', '--json', '--quiet', '--run-id', run.runId, `${site.ref} bench edit ${run.n}`],
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: join(ctx.root, 'home'),
      OPENAI_BASE_URL: site.llm.url,
      OPENAI_API_KEY: 'bench-key-000000',
      MODEL: 'm',
      JGO_GIT_BASE_URL: ctx.server.url,
      JGO_CACHE_DIR: cacheDir,
      JGO_ENV_FILE: join(ctx.root, 'none.env'),
      CODEX_BIN: fakeCodexPath(ctx),
      CODEX_FAKE_SCRIPT: run.script,
      CODEX_FAKE_RECORD: run.record,
    },
    cwd: join(ctx.root, 'home'),
  };
}

/** Native git's edit: the new text put in place. */
function nativeEdit(site: Site, dir: string, run: WholeRun): Cmd {
  return { argv: ['cp', join(site.scratch, `text-${run.n}`), join(dir, site.file)], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: dir };
}

/** The same job with one reused clone: the best native git can do back to back. */
function nativeBackToBack(ctx: BenchContext, site: Site, dir: string, run: WholeRun): Cmd[] {
  return [
    ctx.git(['fetch', '--quiet', '--prune', 'origin'], dir),
    ctx.git(['checkout', '--quiet', '-B', run.nativeBranch, `origin/${site.branch}`], dir),
    ctx.git(['clean', '-ffdxq'], dir),
    nativeEdit(site, dir, run),
    ctx.git([...identity, 'commit', '-a', '--quiet', '--no-verify', '-m', `bench: edit ${site.file} (native git)`], dir),
    ctx.git(['push', '--quiet', 'origin', run.nativeBranch], dir),
  ];
}

function envelopeOf(stdout: string): RunEnvelope {
  return parseEnvelope(stdout.trim().split('\n').at(-1) ?? '') as RunEnvelope;
}

function checkRun(stdout: string): void {
  const { codex, ship } = envelopeOf(stdout);
  if (ship?.pushed !== true) throw new Error('jgo run did not report the push');
  if (!Array.isArray(ship.commits) || ship.commits.length !== 1) throw new Error(`jgo run made ${Array.isArray(ship.commits) ? ship.commits.length : 'no'} commits, not 1`);
  if (typeof codex?.duration_ms !== 'number' || typeof ship.plan_duration_ms !== 'number') throw new Error('jgo run reported no codex.duration_ms or ship.plan_duration_ms');
}

/** The run's wall time, codex's share (its edit run and its plan, login checks included) and the model's. */
function partsOf(site: Site, run: WholeRun, stdout: string, wallMs: number): { wall_ms: number; codex_ms: number; model_ms: number; jgo_ms: number } {
  const { codex, ship } = envelopeOf(stdout);
  const codexMs = Number(codex?.duration_ms ?? 0) + Number(ship?.plan_duration_ms ?? 0);
  const modelMs = site.llm.spans.slice(run.spansBefore).reduce((sum, s) => sum + (s.ended > s.started ? s.ended - s.started : 0), 0);
  return { wall_ms: wallMs, codex_ms: codexMs, model_ms: modelMs, jgo_ms: wallMs - codexMs - modelMs };
}

/** Untimed: deletes the run's branches (jgo's, native git's, those pushed) from the site's served repository. */
async function deleteBranches(ctx: BenchContext, site: Site, run: WholeRun, jgoStdout: string | undefined): Promise<void> {
  const gitDir = `--git-dir=${join(ctx.server.root, site.repoName)}`;
  const pushed = jgoStdout === undefined ? undefined : envelopeOf(jgoStdout).ship?.branch;
  const mine = new Set([`refs/heads/${run.nativeBranch}`, ...(typeof pushed === 'string' ? [`refs/heads/${pushed}`] : [])]);
  const served = (await gitOut(ctx, [gitDir, 'for-each-ref', '--format=%(refname)', 'refs/heads/'])).split('\n');
  const input = served.filter((ref) => mine.has(ref)).map((ref) => `delete ${ref}\n`).join('');
  if (input !== '') await serverGit(ctx.server, [gitDir, 'update-ref', '--stdin'], { input });
}

async function untimed(ctx: BenchContext, cmds: Cmd[]): Promise<string> {
  const sample = await ctx.runner.run(cmds, ctx.setupCapMs);
  if (sample.capped) throw new Error(`untimed setup took over ${ctx.setupCapMs / 1000} s: ${cmds.map((c) => c.argv.join(' ')).join('; ')}`);
  return sample.stdout;
}

/** A cache with the site's mirror (and a kept working copy), made by one untimed jgo run; a native clone beside it. */
async function warmSite(ctx: BenchContext, site: Site): Promise<{ cacheDir: string; clone: string }> {
  const cacheDir = ctx.tmp('whole-cache');
  await mkdir(cacheDir, { recursive: true });
  const first = await newRun(ctx, site);
  const stdout = await untimed(ctx, [jgoRun(ctx, site, cacheDir, first)]);
  checkRun(stdout);
  await deleteBranches(ctx, site, first, stdout);
  const clone = join(ctx.tmp('native-clone'), 'repo');
  await untimed(ctx, [ctx.git(['clone', '--quiet', '--branch', site.branch, site.url, clone])]);
  return { cacheDir, clone };
}

/** jgo's fixed cost: its time minus native git's, back to back on a repository of three small files. */
async function calibrate(ctx: BenchContext): Promise<number> {
  const repoName = 'bench/tiny.git';
  await createBareRepo(ctx.server, repoName, { files: { 'README.md': '# tiny\n', 'src/a.txt': 'a\n'.repeat(20), 'src/b.txt': 'b\n'.repeat(20) } });
  const site = await startSite(ctx, repoName, 'main', 'src/a.txt');
  try {
    const { cacheDir, clone } = await warmSite(ctx, site);
    const own: number[] = [];
    const native: number[] = [];
    for (let i = 0; i < CALIBRATION_RUNS; i++) {
      const run = await newRun(ctx, site);
      const jgo = await ctx.runner.run([jgoRun(ctx, site, cacheDir, run)], ctx.capMs);
      if (jgo.capped) throw new Error('a jgo run on the three-file repository went over the cap');
      checkRun(jgo.stdout);
      own.push(partsOf(site, run, jgo.stdout, jgo.ms).jgo_ms);
      native.push((await ctx.runner.run(nativeBackToBack(ctx, site, clone, run), ctx.capMs)).ms);
      await deleteBranches(ctx, site, run, jgo.stdout);
    }
    const fixed = Math.max(0, (median(own) ?? 0) - (median(native) ?? 0));
    ctx.log(`whole runs: jgo's fixed cost ${Math.round(fixed)} ms (jgo ${Math.round(median(own) ?? 0)} ms, native git ${Math.round(median(native) ?? 0)} ms, three-file repository)`);
    return fixed;
  } finally {
    await site.llm.close();
  }
}

let fixedMs: number | undefined;

async function fixedCost(ctx: BenchContext): Promise<number> {
  fixedMs ??= await calibrate(ctx);
  return fixedMs;
}

/** The site with a warm cache and a native clone, made once by a row's prepare. */
interface Kit {
  site: Site;
  cacheDir: string;
  clone: string;
}

/** One timed run of a row: the kit, the run, and the cache and directory it uses. */
interface KitRun extends WholeRun {
  kit: Kit;
  cacheDir: string;
  /** run_first: the native clone made by this run. */
  dir: string;
}

const NOTE =
  "jgo = the jgo run process's wall time minus codex's (codex.duration_ms + ship.plan_duration_ms, login checks included) and the loopback model's; " +
  "ratio = (jgo - jgo's fixed cost) / native, the fixed cost measured first as jgo minus native git back to back on a three-file repository; " +
  'the fake codex edits one file (a line appended), one commit; cpu and memory include the fake codex\'s processes';

type Shared = Pick<RowSpec<KitRun>, 'target' | 'memory' | 'warmup' | 'note' | 'prepare' | 'jgo' | 'check' | 'jgoMs' | 'parts' | 'allowanceMs' | 'finish'>;

/** What both whole-run rows share; each keeps its kit in `holder`. */
function wholeRunRow(holder: { kit: Kit | undefined }): Shared {
  return {
    target: 1.3,
    memory: true,
    // The first run (untimed) is in prepare: every recorded run is a later one.
    warmup: false,
    note: NOTE,
    prepare: async (ctx) => {
      await fixedCost(ctx);
      const site = await benchSite(ctx);
      holder.kit = { site, ...(await warmSite(ctx, site)) };
    },
    jgo: (ctx, run) => [jgoRun(ctx, run.kit.site, run.cacheDir, run)],
    check: (_ctx, _run, stdout) => checkRun(stdout),
    jgoMs: (_ctx, run, stdout, wallMs) => partsOf(run.kit.site, run, stdout, wallMs).jgo_ms,
    parts: (_ctx, run, stdout, wallMs) => ({ ...partsOf(run.kit.site, run, stdout, wallMs) }),
    allowanceMs: () => fixedMs,
    finish: async () => {
      await holder.kit?.site.llm.close();
      holder.kit = undefined;
    },
  };
}

function kitOf(holder: { kit: Kit | undefined }): Kit {
  if (!holder.kit) throw new Error('prepare did not run');
  return holder.kit;
}

const backToBack: { kit: Kit | undefined } = { kit: undefined };

export const runBackToBack: RowSpec<KitRun> = {
  id: 'run_back_to_back',
  label: 'jgo run back to back, warm cache (2nd..Nth runs)',
  baseline: 'one reused clone: git fetch + checkout -B + clean -ffdx + edit + commit -a + push',
  ...wholeRunRow(backToBack),
  setup: async (ctx) => {
    const kit = kitOf(backToBack);
    return { ...(await newRun(ctx, kit.site)), kit, cacheDir: kit.cacheDir, dir: kit.clone };
  },
  native: (ctx, run) => nativeBackToBack(ctx, run.kit.site, run.dir, run),
  teardown: async (ctx, run, jgoStdout) => deleteBranches(ctx, run.kit.site, run, jgoStdout),
};

const first: { kit: Kit | undefined } = { kit: undefined };
const shared = wholeRunRow(first);

export const runFirst: RowSpec<KitRun> = {
  id: 'run_first',
  label: 'jgo run, first on its cache (mirror only: a new working copy)',
  baseline: 'git fetch (its mirror) + clone --local + checkout -b + edit + commit -a + push',
  ...shared,
  prepare: async (ctx) => {
    await shared.prepare?.(ctx);
    await ctx.ensureNativeMirror();
  },
  setup: async (ctx) => {
    const kit = kitOf(first);
    // A cache with the warm one's mirror and nothing else.
    const cacheDir = ctx.tmp('first-cache');
    await mkdir(cacheDir, { recursive: true });
    await untimed(ctx, [{ argv: ['cp', '-a', join(kit.cacheDir, 'repos'), join(cacheDir, 'repos')], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: cacheDir }]);
    return { ...(await newRun(ctx, kit.site)), kit, cacheDir, dir: join(ctx.tmp('native-first'), 'repo') };
  },
  native: (ctx, run) => {
    const { site } = run.kit;
    return [
      ctx.git(['fetch', '--prune', '--quiet'], ctx.nativeMirror),
      ctx.git(['clone', '--local', '--quiet', '--branch', site.branch, '--', ctx.nativeMirror ?? '', run.dir]),
      ctx.git(['checkout', '--quiet', '-b', run.nativeBranch], run.dir),
      nativeEdit(site, run.dir, run),
      ctx.git([...identity, 'commit', '-a', '--quiet', '--no-verify', '-m', `bench: edit ${site.file} (native git)`], run.dir),
      ctx.git(['push', '--quiet', site.url, `HEAD:refs/heads/${run.nativeBranch}`], run.dir),
    ];
  },
  teardown: async (ctx, run, jgoStdout) => {
    try {
      await deleteBranches(ctx, run.kit.site, run, jgoStdout);
    } finally {
      await removeQuietly(run.cacheDir);
      await removeQuietly(join(run.dir, '..'));
    }
  },
};
