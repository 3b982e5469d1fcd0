#!/usr/bin/env node
/**
 * npm run bench: jgo's git work against native git doing the same work, on a repository of
 * realistic size (generated, or one that exists: --repo) served by the tests' loopback smart-HTTP
 * server (git http-backend).
 *
 *   node dist/scripts/bench.js [--preset default|many | --files 5000 --commits 2000 | --repo PATH|URL]
 *                              [--runs 5] [--cold-runs 3] [--only sync_warm,…|--all] [--cap 120]
 *                              [--json] [--quick] [--no-time]
 *
 * Prints a table (stdout; --json for machines; progress on stderr): per operation,
 * the medians of jgo and native git, their ratio against the target, and peak memory.
 * Exits 0 when every row ran, whatever the targets say (it is a report); 1 when a row errored;
 * 2 on bad flags. The rows are data (scripts/bench/rows.ts, `defineRow`): add one there to
 * measure more; the machinery (scripts/bench/measure.ts, run.ts, context.ts) is exported there.
 * Pushes go through a counting proxy (scripts/bench/proxy.ts), so the report says how many
 * objects each push sent against how many the commit adds.
 *
 * `node dist/scripts/bench.js --push-probe '<json>'` is not the bench: it is the push rows' jgo
 * side, one push through the git layer (scripts/bench/push-probe.ts).
 */
import { spawnSync } from 'node:child_process';
import { cp, mkdir, mkdtemp, realpath, rm } from 'node:fs/promises';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { startGitServer } from '../test/helpers/git-server.js';
import { makeContext } from './bench/context.js';
import { findGnuTime, makeRunner } from './bench/measure.js';
import { startPushProxy } from './bench/proxy.js';
import { formatTable, targets, type Report } from './bench/report.js';
import { benchRepo, gitRunner, PRESETS, type BenchRepo, type GitRunner, type RepoSize } from './bench/repo.js';
import { ALL_ROWS, PUSH_PROBE, ROWS } from './bench/rows.js';
import { checkRepoSource, RepoProblem, sourceRepo } from './bench/source.js';
import { runRows } from './bench/run.js';
import { EXTRA_BRANCHES } from './bench/ship.js';

const USAGE = `usage: node dist/scripts/bench.js [--preset default|many | --files N --commits N | --repo PATH|URL]
                              [--runs N] [--cold-runs N] [--only ROW,…|--all] [--cap SECONDS]
                              [--json] [--quick] [--no-time]
  --preset     the generated repository's size: default (5000 files, 2000 commits) or
               many (50000 files, 200 commits); generated once, cached under the temp dir
  --files      files in the generated repository (default 5000; --quick: 200)
  --commits    commits in its history (default 2000; --quick: 40)
  --repo       measure this repository instead: a local path (bare or not) or an http(s) URL
               (cloned with git clone --mirror once, cached under the temp dir); a bare copy of
               it is served on loopback, and every row runs against that copy
  --refs       N more branches on the served repository (refs/heads/bench/ref-<n>, on commits
               of its history, packed): a remote with many refs (default 0)
  --runs       timed runs per warm row, after one warm-up (default 5; --quick: 1; start-up: 3x;
               ship and push rows: at most 3, no warm-up, one when jgo takes over 5 s)
  --cold-runs  timed runs of cold rows (default 3; --quick: 1)
  --only       row ids to run (${ALL_ROWS.map((r) => r.id).join(', ')});
               default: ${ROWS.map((r) => r.id).join(', ')}
  --all        every row: the default ones, whole jgo runs (run_first, run_back_to_back) and jgo gc
               (gc_10k, gc_10k_none)
  --cap        seconds after which a run is killed and recorded as over the cap (default 120;
               ship and push rows: 30 at most)
  --json       print the report as JSON instead of the table
  --quick      a tiny repository and one run: a smoke test
  --no-time    do not wrap runs in GNU time (/usr/bin/time): no peak memory, no cpu`;

class UsageProblem extends Error {}

function positiveInt(name: string, raw: string | undefined, fallback: number): number {
  if (raw === undefined) return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1) throw new UsageProblem(`--${name} must be a positive integer, not ${JSON.stringify(raw)}`);
  return n;
}

/** The generated repository's size: --preset, then --files and --commits over it. */
function repoSize(values: { preset?: string | undefined; files?: string | undefined; commits?: string | undefined }, quick: boolean): RepoSize {
  const preset = values.preset === undefined ? undefined : PRESETS[values.preset];
  if (values.preset !== undefined && preset === undefined) {
    throw new UsageProblem(`--preset: no preset ${JSON.stringify(values.preset)} (presets: ${Object.keys(PRESETS).join(', ')})`);
  }
  const base = preset ?? (quick ? { files: 200, commits: 40 } : PRESETS.default) ?? { files: 5000, commits: 2000 };
  return { files: positiveInt('files', values.files, base.files), commits: positiveInt('commits', values.commits, base.commits) };
}

function parseFlags(argv: string[], gitEnv: NodeJS.ProcessEnv) {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      preset: { type: 'string' },
      files: { type: 'string' },
      commits: { type: 'string' },
      repo: { type: 'string' },
      refs: { type: 'string' },
      runs: { type: 'string' },
      'cold-runs': { type: 'string' },
      only: { type: 'string' },
      all: { type: 'boolean', default: false },
      cap: { type: 'string' },
      json: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      'no-time': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  const quick = values.quick ?? false;
  const only = values.only?.split(',').map((r) => r.trim()).filter(Boolean);
  for (const id of only ?? []) {
    if (!ALL_ROWS.some((r) => r.id === id)) throw new UsageProblem(`--only: no row ${JSON.stringify(id)} (rows: ${ALL_ROWS.map((r) => r.id).join(', ')})`);
  }
  if (only !== undefined && values.all) throw new UsageProblem('--only and --all: one or the other');
  if (values.repo !== undefined && (values.preset ?? values.files ?? values.commits) !== undefined) {
    throw new UsageProblem('--repo measures a repository that exists: no --preset, --files or --commits with it');
  }
  const runs = positiveInt('runs', values.runs, quick ? 1 : 5);
  const size = repoSize(values, quick);
  return {
    help: values.help ?? false,
    quick,
    json: values.json ?? false,
    time: !(values['no-time'] ?? false),
    size,
    // Checked last: the one flag whose check runs git.
    source: values.help || values.repo === undefined ? undefined : checkRepoSource(values.repo, gitEnv),
    runs,
    refs: values.refs === undefined ? 0 : positiveInt('refs', values.refs, 0),
    coldRuns: positiveInt('cold-runs', values['cold-runs'], quick ? 1 : Math.min(3, runs)),
    rows: only ? ALL_ROWS.filter((r) => only.includes(r.id)) : values.all ? ALL_ROWS : ROWS,
    capMs: positiveInt('cap', values.cap, 120) * 1000,
  };
}

async function main(): Promise<number> {
  const root = await realpath(await mkdtemp(join(tmpdir(), 'jgo-bench-')));
  try {
    return await bench(root);
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

async function bench(root: string): Promise<number> {
  const home = join(root, 'home');
  await mkdir(home, { recursive: true });
  const gitEnv = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  let flags: Flags;
  try {
    flags = parseFlags(process.argv.slice(2), gitEnv);
  } catch (error) {
    // A --repo that is no repository: one line, the flag and the path say it all.
    if (error instanceof RepoProblem) {
      process.stderr.write(`bench: ${error.message}\n`);
      return 2;
    }
    process.stderr.write(`bench: ${error instanceof Error ? error.message : String(error)}\n${USAGE}\n`);
    return 2;
  }
  if (flags.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  return measure(root, flags, gitEnv);
}

type Flags = ReturnType<typeof parseFlags>;

/**
 * --refs: `count` branches on the served repository, spread over the commits of `branch`'s
 * history, then packed, as a big project's remote holds many branches and tags. Every row then
 * meets them: the mirror fetches them, every push is told of them.
 */
async function addRefs(served: string, branch: string, count: number, git: GitRunner, log: (line: string) => void): Promise<void> {
  const commits = (await git(['rev-list', '--first-parent', branch], { cwd: served })).split('\n').filter(Boolean);
  const lines: string[] = [];
  for (let i = 0; i < count; i++) lines.push(`create refs/heads/${EXTRA_BRANCHES}${i} ${commits[i % commits.length]}\n`);
  await git(['update-ref', '--stdin'], { cwd: served, input: lines.join('') });
  await git(['pack-refs', '--all'], { cwd: served });
  log(`served repository: ${count} more branches (refs/heads/${EXTRA_BRANCHES}*)`);
}

/** The servers, the repository, the rows and the report. */
async function measure(root: string, flags: Flags, gitEnv: NodeJS.ProcessEnv): Promise<number> {
  const log = (line: string) => process.stderr.write(`bench: ${line}\n`);
  const started = Date.now();

  // A snapshot of the build: every row runs the same executables, even if dist/ is rebuilt meanwhile.
  const built = resolve(import.meta.dirname, '..');
  const dist = join(root, 'dist');
  // scripts/: bench.js itself is the push rows' jgo side (--push-probe).
  for (const dir of ['cmd', 'chunks', 'scripts']) await cp(join(built, dir), join(dist, dir), { recursive: true });
  const runner = await makeRunner({ timeBin: flags.time ? findGnuTime() : undefined });
  const server = await startGitServer();
  const proxy = await startPushProxy(server.url);
  // Ctrl-C: kill the runs in progress (their own process groups), stop, clean up, exit 130.
  const stop = new AbortController();
  const onSignal = () => {
    if (stop.signal.aborted) process.exit(130);
    log('interrupted: stopping');
    stop.abort();
    runner.killAll();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  try {
    // The served copy: rows add commits to it, the cache (or --repo's repository) stays as it is.
    const repoName = 'bench/repo.git';
    const served = join(server.root, repoName);
    const git = gitRunner(gitEnv);
    let repo: BenchRepo;
    if (flags.source !== undefined) {
      repo = await sourceRepo(flags.source, served, git, log);
    } else {
      repo = await benchRepo(flags.size, git, log);
      await cp(repo.path, served, { recursive: true });
    }
    if (flags.refs > 0) await addRefs(served, repo.branch, flags.refs, git, log);
    if (flags.time && !runner.timeBin) log('GNU time not found at /usr/bin/time: peak memory is not measured (apt-get install time)');
    const ctx = makeContext({ root, dist, repoRoot: resolve(built, '..'), server, proxy, repoName, repo, runner, capMs: flags.capMs, log });
    const memoryLimitKiB = (2 * repo.packBytes) / 1024 + 150 * 1024;
    const rows = await runRows(ctx, flags.rows, {
      runs: flags.runs,
      coldRuns: flags.coldRuns,
      warmup: !flags.quick,
      memoryLimitKiB,
      signal: stop.signal,
    });
    if (stop.signal.aborted) return 130;
    const report: Report = {
      meta: {
        repository: repo.name,
        source: repo.source,
        branch: repo.branch,
        files: repo.files,
        commits: repo.commits,
        packBytes: repo.packBytes,
        repoCached: repo.cached,
        extraRefs: flags.refs,
        runs: flags.runs,
        coldRuns: flags.coldRuns,
        capMs: flags.capMs,
        memory: runner.timeBin
          ? `GNU time %M: max RSS of the largest single process in the tree (jgo's node or a git it ran), not the sum`
          : undefined,
        node: process.version,
        git: spawnSync('git', ['--version'], { encoding: 'utf8', env: gitEnv }).stdout.trim(),
        cpus: cpus().length,
      },
      rows,
      targets: targets(rows, memoryLimitKiB, runner.timeBin !== undefined),
      ok: rows.every((r) => r.error === undefined),
    };
    process.stdout.write(flags.json ? `${JSON.stringify(report, null, 2)}\n` : formatTable(report));
    log(`done in ${((Date.now() - started) / 1000).toFixed(0)} s`);
    return report.ok ? 0 : 1;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    runner.killAll();
    await proxy.close();
    await server.close();
    await runner.close();
  }
}

if (process.argv[2] === PUSH_PROBE) {
  // Not the bench: one push through the git layer, for the push rows (scripts/bench/push-probe.ts).
  const { pushProbe } = await import('./bench/push-probe.js');
  process.exitCode = await pushProbe(process.argv.slice(3));
} else {
  try {
    process.exitCode = await main();
  } catch (error) {
    process.stderr.write(`bench: failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
    process.exitCode = 1;
  }
}
