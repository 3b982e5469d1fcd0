/**
 * The bench on a repository that exists (--repo, a local path) and its rows of whole jgo runs and
 * jgo gc: the built bench run as a process with --quick, against a small repository made here.
 * Checks what the report says of the repository, that each row measured both sides, and that
 * the parts of a whole run add up; and that a --repo naming no repository is one line and exit 2.
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createBareRepo, startGitServer } from './helpers/git-server.js';
import { ROOT, tempDir, type RunResult } from './helpers/run.js';

const bench = join(ROOT, 'dist', 'scripts', 'bench.js');

/** As test/bench.test.ts runs it: PATH, HOME and TMPDIR only, through `env -i` (no tap hook in the timed nodes). */
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

function git(dir: string, home: string, args: string[]): string {
  const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, GIT_CONFIG_NOSYSTEM: '1', GIT_TERMINAL_PROMPT: '0' };
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd: dir, env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout;
}

/** A non-bare repository on branch `trunk`: 7 text files, a binary one and a symlink (9 files), 3 commits. */
function smallRepo(tmp: string): string {
  const dir = join(tmp, 'small');
  mkdirSync(join(dir, 'src', 'deep'), { recursive: true });
  git(dir, tmp, ['init', '--quiet', '--initial-branch=trunk']);
  for (let i = 0; i < 7; i++) writeFileSync(join(dir, i < 4 ? 'src' : join('src', 'deep'), `f${i}.txt`), `file ${i}\n`.repeat(10 + i));
  writeFileSync(join(dir, 'logo.bin'), Buffer.from([0, 1, 2, 0, 255, 0, 7]));
  symlinkSync('src/f0.txt', join(dir, 'link'));
  git(dir, tmp, ['add', '-A']);
  git(dir, tmp, ['commit', '--quiet', '-m', 'one']);
  for (const n of ['two', 'three']) {
    writeFileSync(join(dir, 'src', 'f1.txt'), `changed in ${n}\n`);
    git(dir, tmp, ['commit', '--quiet', '-a', '-m', n]);
  }
  return realpathSync(dir);
}

interface Side {
  runsMs: number[];
  medianMs: number | null;
  medianWallMs: number | null;
  peakKiB: number | null;
}
interface Row {
  id: string;
  label: string;
  target: number;
  jgo: Side;
  native: Side;
  ratio: number | null;
  pass: boolean | null;
  parts?: Record<string, number> | null;
  allowanceMs?: number | null;
  error: string | null;
}
interface Report {
  meta: { repository: string; source: string; branch: string; files: number; commits: number; packBytes: number; repoCached: boolean; extraRefs: number };
  rows: Row[];
  targets: Array<{ name: string; value: number | null; limit: number; unit: string }>;
  ok: boolean;
}

const WHOLE = ['run_first', 'run_back_to_back'];
const NEW_ROWS = [...WHOLE, 'gc_10k', 'gc_10k_none'];

t.test('bench --repo <path>: whole runs and gc on that repository, with numbers', async (t) => {
  const tmp = tempDir(t, 'jgo-bench-rows-');
  const repo = smallRepo(tmp);
  const refsBefore = git(repo, tmp, ['for-each-ref']);
  const result = await runBench(['--quick', '--runs', '2', '--repo', repo, '--only', NEW_ROWS.join(','), '--json'], tmp, 150_000);
  t.equal(result.code, 0, result.stderr);
  const report = JSON.parse(result.stdout) as Report;
  t.equal(report.ok, true, 'no row errored');
  t.same(
    { repository: report.meta.repository, source: report.meta.source, branch: report.meta.branch, files: report.meta.files, commits: report.meta.commits },
    { repository: repo, source: 'path', branch: 'trunk', files: 9, commits: 3 },
    "the report names the repository, its branch, the tip's files and the branch's commits",
  );
  t.ok(report.meta.packBytes > 0, 'and its pack size');
  t.notMatch(result.stderr, /generating a repository/, 'nothing was generated');
  t.same(report.rows.map((r) => r.id), NEW_ROWS, 'the rows named, in order');

  for (const row of report.rows) {
    const name = row.id;
    t.equal(row.error ?? null, null, `${name}: no error`);
    t.equal(row.jgo.runsMs.length, 2, `${name}: two jgo runs recorded`);
    t.equal(row.native.runsMs.length, 2, `${name}: two native runs recorded`);
    t.ok(row.jgo.runsMs.every((ms) => ms > 0) && row.native.runsMs.every((ms) => ms > 0), `${name}: every run took time`);
    t.ok(typeof row.ratio === 'number' && row.ratio > 0, `${name}: ratio`);
    t.equal(typeof row.pass, 'boolean', `${name}: pass or fail`);
  }
  for (const row of report.rows.filter((r) => WHOLE.includes(r.id))) {
    const name = row.id;
    const p = row.parts ?? {};
    t.ok((p.codex_ms ?? 0) > 0, `${name}: codex's time (the fake's two runs and login checks) is counted`);
    t.ok((p.model_ms ?? -1) >= 0 && (p.model_ms ?? 99) < 50, `${name}: the model's is the loopback server's answering`);
    t.ok((p.jgo_ms ?? 0) > 0 && (p.jgo_ms ?? 0) < (p.wall_ms ?? 0), `${name}: jgo's time is part of the wall time`);
    t.ok(Math.abs((p.wall_ms ?? 0) - (p.codex_ms ?? 0) - (p.model_ms ?? 0) - (p.jgo_ms ?? 0)) < 1, `${name}: wall = codex + model + jgo`);
    t.ok((row.jgo.medianWallMs ?? 0) > (row.jgo.medianMs ?? Infinity), `${name}: jgo's own time is less than its process's`);
    t.ok(typeof row.allowanceMs === 'number' && row.allowanceMs >= 0, `${name}: jgo's fixed cost was measured`);
    t.equal(row.target, 1.3);
    const expected = ((row.jgo.medianMs ?? 0) - (row.allowanceMs ?? 0)) / (row.native.medianMs ?? 1);
    t.ok(Math.abs((row.ratio ?? 0) - expected) < 1e-9, `${name}: ratio = (jgo - fixed cost) / native`);
  }
  t.match(report.rows.find((r) => r.id === 'gc_10k')?.label ?? '', /10000 journals, 20 old with working copies/);
  t.match(result.stderr, /jgo's fixed cost \d+ ms/, 'the fixed cost is said on stderr');
  t.match(result.stderr, /run_back_to_back run 2\/2/, 'back-to-back: two runs after the untimed first');
  const names = report.targets.map((x) => x.name);
  for (const start of ['first jgo run', 'back-to-back jgo runs', 'jgo gc, 10,000 journals, old', 'jgo gc, 10,000 journals, nothing']) {
    const line = report.targets.find((x) => x.name.startsWith(start));
    t.equal(typeof line?.value, 'number', `a measured target line: ${start} (${names.join('; ')})`);
  }
  t.equal(git(repo, tmp, ['for-each-ref']), refsBefore, 'the repository measured is not written to');
  t.equal(git(repo, tmp, ['status', '--porcelain']), '', 'and its working tree is as it was');
});

t.test('bench --repo <url>: mirrored once into the cache, then served as a path is', async (t) => {
  const tmp = tempDir(t, 'jgo-bench-rows-');
  const server = await startGitServer();
  t.teardown(() => server.close());
  const files = Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`src/f${i}.txt`, `line ${i}\n`.repeat(30)]));
  await createBareRepo(server, 'acme/widgets.git', { files });
  const url = server.repoUrl('acme/widgets.git');
  const first = await runBench(['--quick', '--repo', url, '--refs', '300', '--only', 'worktree,push', '--json'], tmp, 60_000);
  t.equal(first.code, 0, first.stderr);
  const report = JSON.parse(first.stdout) as Report;
  t.equal(report.meta.extraRefs, 300, '--refs: the report says how many branches were added');
  t.match(first.stderr, /served repository: 300 more branches/);
  t.notMatch(first.stderr, /left on the server/, "--refs's branches stay for every row: they are no run's leftovers");
  t.same(
    { repository: report.meta.repository, source: report.meta.source, files: report.meta.files, commits: report.meta.commits, cached: report.meta.repoCached },
    { repository: url, source: 'url', files: 6, commits: 1, cached: false },
  );
  t.equal(report.rows[0]?.error ?? null, null, 'the row ran against the served copy');
  t.match(first.stderr, /cloning http:\/\/127\.0\.0\.1:\d+\/acme\/widgets\.git \(git clone --mirror/);
  const fetches = server.uploadPackCount();
  const again = await runBench(['--quick', '--repo', url, '--only', 'startup', '--json'], tmp, 60_000);
  t.equal(again.code, 0, again.stderr);
  t.match(again.stderr, /using the cached mirror .* clone skipped/);
  t.equal((JSON.parse(again.stdout) as Report).meta.repoCached, true);
  t.equal(server.uploadPackCount(), fetches, 'the second run did not fetch from the URL');
});

t.test('bench --repo naming no repository: exit 2, one line', async (t) => {
  const tmp = tempDir(t, 'jgo-bench-rows-');
  const plain = join(tmp, 'plain');
  mkdirSync(plain);
  const repo = smallRepo(tmp);
  const empty = join(tmp, 'empty');
  mkdirSync(empty);
  git(empty, tmp, ['init', '--quiet']);
  const cases: Array<[string, RegExp]> = [
    [plain, /^bench: --repo: \S+plain is not a git repository\n$/],
    // Inside a repository is not the repository: git is not asked to look upwards.
    [join(repo, 'src'), /^bench: --repo: \S+src is not a git repository\n$/],
    [join(tmp, 'missing'), /^bench: --repo: \S+missing does not exist\n$/],
    [empty, /^bench: --repo: \S+empty has no commit at HEAD\n$/],
    ['https://user:secret@example.invalid/a/b.git', /^bench: --repo: no credentials in the URL/],
    ['ftp://example.invalid/a.git', /^bench: --repo: only http\(s\) URLs or local paths, not ftp:\n$/],
  ];
  for (const [arg, message] of cases) {
    const result = await runBench(['--repo', arg, '--only', 'startup'], tmp, 30_000);
    t.equal(result.code, 2, `${arg}: exit 2`);
    t.match(result.stderr, message, `${arg}: the one line says why`);
    t.equal(result.stderr.split('\n').filter(Boolean).length, 1, `${arg}: one line on stderr`);
    t.equal(result.stdout, '', `${arg}: nothing on stdout`);
    t.notMatch(result.stderr, /secret/, 'a password in the URL is never repeated');
  }
  const mixed = await runBench(['--repo', repo, '--files', '100'], tmp, 30_000);
  t.equal(mixed.code, 2, '--repo with --files: a usage error');
  t.match(mixed.stderr, /no --preset, --files or --commits with it/);
  const preset = await runBench(['--preset', 'huge'], tmp, 30_000);
  t.equal(preset.code, 2);
  t.match(preset.stderr, /--preset: no preset "huge" \(presets: default, many\)/);
  t.match(preset.stderr, /usage: node dist\/scripts\/bench.js/);
  const help = await runBench(['--help'], tmp, 30_000);
  t.equal(help.code, 0);
  t.match(help.stdout, /--repo +measure this repository instead/);
  t.match(help.stdout, /many \(50000 files, 200 commits\)/);
  t.match(help.stdout, /run_back_to_back/);
});
