/**
 * `npm run bench` in its smoke-test form: the built bench (dist/scripts/bench.js) run as a
 * process with --quick --json, against a tiny generated repository served on loopback. Checks
 * the shape and that every row produced numbers, not the speeds (that is the bench's job).
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, tempDir, type RunResult } from './helpers/run.js';
import { ROWS } from '../scripts/bench/rows.js';

const bench = join(ROOT, 'dist', 'scripts', 'bench.js');

/**
 * Runs the bench with PATH, HOME and TMPDIR only. Through `env -i`: tap's process-info hook
 * adds NODE_OPTIONS (an --import of its own) to every child this test spawns, whatever env it is
 * given, and in the bench every node it times would then load that hook too (3-5x slower).
 */
function runBench(args: string[], tmp: string, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const vars = [`PATH=${process.env.PATH ?? '/usr/bin:/bin'}`, `HOME=${tmp}`, `TMPDIR=${tmp}`];
    const child = spawn('/usr/bin/env', ['-i', ...vars, process.execPath, bench, ...args], { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    // SIGINT: the bench kills what it runs and removes its scratch directories.
    const timer = setTimeout(() => child.kill('SIGINT'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
  });
}

interface Side {
  runsMs: number[];
  medianMs: number | null;
  capped: boolean;
  peakKiB: number | null;
  medianCpuMs: number | null;
  wallMs: number[];
  medianWallMs: number | null;
  sentBytes: number[];
  sentObjects: number[];
  extraObjects: number[];
}
interface Row {
  id: string;
  target: number;
  jgo: Side;
  native: Side;
  ratio: number | null;
  pass: boolean | null;
  memoryLimitKiB: number | null;
  memoryPass: boolean | null;
  newObjects: number | null;
  error: string | null;
}
interface Report {
  meta: { files: number; commits: number; packBytes: number; memory?: string };
  rows: Row[];
  targets: Array<{ name: string; value: number | null; limit: number; unit: string; pass: boolean | null }>;
  ok: boolean;
}

t.test('bench --quick --json: every row, with numbers', async (t) => {
  // The cached repository and every scratch directory go under this TMPDIR, removed afterwards.
  const tmp = tempDir(t, 'jgo-bench-test-');
  const result = await runBench(['--quick', '--json'], tmp, 90_000);
  t.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  t.equal(report.ok, true, 'no row errored');
  t.ok(report.meta.packBytes > 0, 'the pack size is known');
  t.match(result.stderr, /generating a repository of 200 files and 40 commits/, 'the repository was generated (and said so)');

  t.same(
    report.rows.map((r) => r.id),
    ROWS.map((row) => row.id),
    'one row per operation, in order',
  );
  for (const id of ['startup', 'sync_cold', 'sync_warm', 'sync_new_commit', 'worktree', 'ship_commit_push', 'push', 'push_moved']) {
    t.ok(report.rows.some((r) => r.id === id), `the issue's row ${id} is there`);
  }
  const memory = report.meta.memory !== undefined;
  for (const row of report.rows) {
    const name = row.id;
    t.equal(row.error ?? null, null, `${name}: no error`);
    t.ok(row.jgo.runsMs.length >= 1, `${name}: jgo ran`);
    t.equal(row.native.runsMs.length, row.jgo.runsMs.length, `${name}: native ran as often`);
    t.ok(typeof row.jgo.medianMs === 'number' && row.jgo.medianMs > 0, `${name}: jgo median`);
    t.ok(typeof row.native.medianMs === 'number' && row.native.medianMs > 0, `${name}: native median`);
    t.ok(typeof row.ratio === 'number' && row.ratio > 0, `${name}: ratio`);
    t.equal(typeof row.pass, 'boolean', `${name}: pass or fail`);
    t.ok(row.target > 0, `${name}: target`);
    if (memory) {
      t.ok(typeof row.jgo.peakKiB === 'number' && row.jgo.peakKiB > 0, `${name}: jgo peak memory`);
      t.ok(typeof row.native.peakKiB === 'number' && row.native.peakKiB > 0, `${name}: native peak memory`);
      if (row.id !== 'startup') t.equal(typeof row.memoryPass, 'boolean', `${name}: memory verdict`);
    }
  }
  t.equal(report.targets.length, 11, 'a line per target (8 ratios, 2 pushes sending only new objects, memory)');
  for (const target of report.targets.slice(0, 10)) t.equal(typeof target.value, 'number', `${target.name}: measured`);
  t.same(report.targets.filter((x) => x.unit === 'objects').map((x) => x.limit), [0, 0], 'the push targets allow no object beyond the new ones');

  // The ship and push rows: what each push sent, against what the commit adds; jgo's time is its own.
  for (const row of report.rows.filter((r) => ['ship_commit_push', 'push', 'push_moved'].includes(r.id))) {
    const name = row.id;
    t.ok(typeof row.newObjects === 'number' && row.newObjects > 0, `${name}: the objects the commit adds are counted`);
    for (const [which, side] of [['jgo', row.jgo], ['native', row.native]] as const) {
      t.equal(side.sentObjects.length, side.runsMs.length, `${name}: every ${which} push was seen by the proxy`);
      t.ok(side.sentObjects.every((n) => n > 0) && side.sentBytes.every((n) => n > 0), `${name}: ${which} sent a pack`);
      t.equal(side.extraObjects.length, side.runsMs.length, `${name}: ${which}'s objects beyond the new ones are counted`);
    }
    // Process wall time minus what is not jgo's: the plan (ship), node's start-up (the push probe).
    t.ok((row.jgo.medianWallMs ?? 0) > (row.jgo.medianMs ?? Infinity), `${name}: jgo's own time is less than its process's`);
    t.equal(row.jgo.wallMs.length, row.jgo.runsMs.length, `${name}: a wall time per run`);
  }
  for (const id of ['ship_commit_push', 'push']) {
    // The remote did not move: native git sends exactly the new objects, and so does jgo.
    const row = report.rows.find((r) => r.id === id);
    t.same(row?.native.extraObjects.every((n) => n === 0), true, `${id}: native git push sent only the new objects`);
    t.same(row?.jgo.extraObjects.every((n) => n === 0), true, `${id}: jgo sent only the new objects`);
  }
  t.notMatch(result.stderr, /left on the server/, 'every run deleted the branches it pushed');
  if (existsSync('/usr/bin/time')) t.ok(memory, 'GNU time is used when /usr/bin/time exists');

  // The second run finds the repository in the cache and says so.
  const again = await runBench(['--quick', '--json', '--only', 'startup'], tmp, 60_000);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stderr, /using the cached repository .* generation skipped/);
  t.same(
    (JSON.parse(again.stdout) as Report).rows.map((r) => r.id),
    ['startup'],
  );
});

t.test('bench: bad flags exit 2 with usage', async (t) => {
  const tmp = tempDir(t, 'jgo-bench-test-');
  const result = await runBench(['--only', 'turbo'], tmp, 30_000);
  t.equal(result.code, 2);
  t.match(result.stderr, /--only: no row "turbo"/);
  const gone = await runBench(['--engines', 'native'], tmp, 30_000);
  t.equal(gone.code, 2, 'there is one git: --engines is no flag');
  t.match(gone.stderr, /Unknown option '--engines'/);
  t.match(result.stderr, /usage: node dist\/scripts\/bench.js/);
  t.equal(result.stdout, '');
});
