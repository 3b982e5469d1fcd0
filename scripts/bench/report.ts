/** The benchmark's output: an aligned table for people, the same numbers as JSON for machines. */
import { median } from './measure.js';
import type { RowResult } from './run.js';

export interface ReportMeta {
  /** The repository measured: `generated (N files, M commits)`, or --repo's path or URL. */
  repository: string;
  source: 'generated' | 'path' | 'url';
  /** Its default branch; files are those of its tip, commits those of the branch's history. */
  branch: string;
  files: number;
  commits: number;
  packBytes: number;
  repoCached: boolean;
  /** Branches --refs added to the served repository (0: none). */
  extraRefs: number;
  runs: number;
  coldRuns: number;
  capMs: number;
  /** How peak memory was measured, or undefined when it was not. */
  memory: string | undefined;
  node: string;
  git: string;
  cpus: number;
}

export interface TargetLine {
  name: string;
  /** The measured value: a ratio, MiB for memory, or objects a push sent. */
  value: number | undefined;
  limit: number;
  unit: 'x' | 'MiB' | 'objects';
  pass: boolean | undefined;
  /** Where the value comes from (the worst row, for memory). */
  detail: string;
}

export interface Report {
  meta: ReportMeta;
  rows: RowResult[];
  /** The issue's targets. */
  targets: TargetLine[];
  /** No row failed to run (missed targets do not count). */
  ok: boolean;
}

const MiB = 1024 * 1024;

/** The issue's targets, read from the rows. */
export function targets(rows: readonly RowResult[], memoryLimitKiB: number, memoryMeasured: boolean): TargetLine[] {
  const lines: TargetLine[] = [];
  const ratio = (id: string, name: string) => {
    const row = rows.find((r) => r.id === id);
    if (!row) return;
    lines.push({
      name,
      value: row.ratio,
      limit: row.target,
      unit: 'x',
      pass: row.error !== undefined ? false : row.pass,
      detail:
        row.error !== undefined
          ? `error: ${row.error.split('\n')[0]}`
          : `${fmtMs(row.jgo, true)} vs ${fmtMs(row.native, true)}${row.allowanceMs !== undefined ? ` + jgo's fixed cost ${Math.round(row.allowanceMs)} ms` : ''}`,
    });
  };
  ratio('sync_warm', 'warm no-change sync within 2x of git fetch');
  ratio('sync_new_commit', 'one-new-commit sync within 3x of git fetch');
  ratio('worktree', 'working copy within 2x of git clone --local + checkout -b');
  ratio('sync_cold', 'cold mirror within 3x of git clone --mirror');
  ratio('startup', 'start-up (jgo-gate --help) within 2x of node -e 0');
  ratio('ship_commit_push', 'ship commit + push + verify (plan excluded) within 2x of git add + commit + push');
  ratio('push', 'push, remote main unchanged, within 2x of git push');
  ratio('push_moved', 'push, remote main moved, within 2x of git push');
  ratio('run_first', "first jgo run (codex, model excluded) within 1.3x of native git + jgo's fixed cost");
  ratio('run_back_to_back', "back-to-back jgo runs (codex, model excluded) within 1.3x of native git + jgo's fixed cost");
  ratio('gc_10k', 'jgo gc, 10,000 journals, old runs to remove, within 1.5x of rm -rf');
  ratio('gc_10k_none', 'jgo gc, 10,000 journals, nothing to remove, within 3x of node listing them');
  for (const id of ['push', 'push_moved']) {
    const row = rows.find((r) => r.id === id);
    if (!row) continue;
    const extra = row.jgo.extraObjects.length > 0 ? Math.max(...row.jgo.extraObjects) : undefined;
    const nativeExtra = row.native.extraObjects.length > 0 ? Math.max(...row.native.extraObjects) : undefined;
    lines.push({
      name: `${id === 'push' ? 'push, remote main unchanged' : 'push, remote main moved'}: only the new objects`,
      value: extra,
      limit: 0,
      unit: 'objects',
      pass: row.error !== undefined ? false : extra === undefined ? undefined : extra <= 0,
      detail:
        row.error !== undefined
          ? `error: ${row.error.split('\n')[0]}`
          : `objects sent beyond what the commit adds (${row.newObjects ?? '?'}), most of any run; native git push: ${nativeExtra ?? '-'}`,
    });
  }
  const measured = rows.filter((r) => r.memoryLimitKiB !== undefined && r.jgo.peakKiB !== undefined);
  const worst = measured.sort((a, b) => (b.jgo.peakKiB ?? 0) - (a.jgo.peakKiB ?? 0))[0];
  lines.push({
    name: `peak memory under 2 x pack + 150 MiB`,
    value: worst?.jgo.peakKiB !== undefined ? worst.jgo.peakKiB / 1024 : undefined,
    limit: memoryLimitKiB / 1024,
    unit: 'MiB',
    pass: worst ? worst.memoryPass : undefined,
    detail: worst ? `highest: ${worst.label}` : memoryMeasured ? 'no row with a memory target ran' : 'not measured (no GNU time)',
  });
  return lines;
}

function fmtMs(s: RowResult['jgo'], unit = false): string {
  if (s.medianMs === undefined) return '-';
  const n = s.medianMs >= 10_000 ? Math.round(s.medianMs).toString() : s.medianMs >= 100 ? Math.round(s.medianMs).toString() : s.medianMs.toFixed(1);
  return `${s.capped ? '>' : ''}${n}${unit ? ' ms' : ''}`;
}

function fmtKiB(kib: number | undefined): string {
  return kib === undefined ? 'n/a' : `${(kib / 1024).toFixed(1)}`;
}

function pad(cells: string[], widths: number[], right: boolean[]): string {
  return cells.map((c, i) => (right[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
}

/** Whole runs: the wall time split into codex, the model and jgo, and jgo against native git plus its fixed cost. */
function wholeRuns(rows: readonly RowResult[]): string[] {
  const whole = rows.filter((r) => r.parts !== undefined && r.error === undefined);
  if (whole.length === 0) return [];
  const out = ['', "whole jgo runs, medians: the run's wall time = codex + the model + jgo; jgo against 1.3 x native git + jgo's fixed cost:"];
  const ms = (n: number | undefined) => (n === undefined ? '?' : `${Math.round(n)}`);
  const idWidth = Math.max(...whole.map((r) => r.id.length));
  for (const r of whole) {
    const p = r.parts ?? {};
    const fixed = r.allowanceMs;
    const limit = r.native.medianMs === undefined || fixed === undefined ? undefined : r.target * r.native.medianMs + fixed;
    const verdict = limit === undefined || r.jgo.medianMs === undefined ? '' : ` ${r.jgo.medianMs <= limit ? 'pass' : 'FAIL'}`;
    out.push(
      `  ${r.id.padEnd(idWidth)}  wall ${ms(p.wall_ms)} = codex ${ms(p.codex_ms)} + model ${ms(p.model_ms)} + jgo ${ms(p.jgo_ms)} ms; ` +
        `native ${ms(r.native.medianMs)} ms; jgo ${ms(r.jgo.medianMs)} vs ${r.target} x ${ms(r.native.medianMs)} + ${ms(fixed)} = ${ms(limit)} ms${verdict}`,
    );
  }
  return out;
}

export function formatTable(report: Report): string {
  const { meta, rows } = report;
  const header = ['operation', 'jgo ms', 'native ms', 'ratio', 'target', 'time', 'cpu ms jgo/nat', 'jgo MiB', 'native MiB', 'mem', 'runs'];
  const right = [false, false, true, true, true, true, false, true, true, true, false, true];
  const cpu = (s: RowResult['jgo']) => (s.medianCpuMs === undefined ? 'n/a' : Math.round(s.medianCpuMs).toString());
  const body = rows.map((r) => [
    r.label,
    r.error !== undefined ? 'ERROR' : fmtMs(r.jgo),
    r.error !== undefined ? '' : fmtMs(r.native),
    r.ratio === undefined ? '-' : `${r.jgo.capped ? '>' : ''}${r.ratio.toFixed(2)}x`,
    `${r.target}x`,
    r.error !== undefined ? 'ERROR' : r.pass === undefined ? '-' : r.pass ? 'pass' : 'FAIL',
    r.jgo.medianCpuMs === undefined && r.native.medianCpuMs === undefined ? 'n/a' : `${cpu(r.jgo)}/${cpu(r.native)}`,
    fmtKiB(r.jgo.peakKiB),
    fmtKiB(r.native.peakKiB),
    r.memoryLimitKiB === undefined || r.memoryPass === undefined ? '-' : r.memoryPass ? 'pass' : 'FAIL',
    `${r.jgo.runsMs.length}${r.jgo.capped ? '+cap' : ''}/${r.native.runsMs.length}`,
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((b) => (b[i] ?? '').length)));
  const out: string[] = [];
  const limitMiB = (2 * meta.packBytes) / MiB + 150;
  out.push(
    `repository: ${meta.source === 'generated' ? '' : `${meta.repository}, `}${meta.files} files, ${meta.commits} commits${meta.source === 'generated' ? '' : ` on ${meta.branch}`}, ` +
      `pack ${(meta.packBytes / MiB).toFixed(1)} MiB${meta.repoCached ? ' (cached)' : ''}${meta.extraRefs > 0 ? `, ${meta.extraRefs} more branches served` : ''}; ` +
      `medians of ${meta.runs} runs (cold: ${meta.coldRuns}; start-up: 3x), cap ${meta.capMs / 1000} s a run; node ${meta.node}, ${meta.git}, ${meta.cpus} CPUs`,
  );
  out.push(`peak memory: ${meta.memory ?? 'n/a (GNU time not used: not found at /usr/bin/time, or --no-time)'}; limit 2 x pack + 150 MiB = ${limitMiB.toFixed(1)} MiB`);
  out.push('times: wall-clock medians per process from spawn to exit; cpu: median user + system time of the process and the children it waited for');
  out.push('');
  out.push(pad(header, widths, right));
  out.push(pad(widths.map((w) => '-'.repeat(w)), widths, right));
  for (const b of body) out.push(pad(b, widths, right));
  out.push('');
  out.push('native side of each row:');
  const seen = new Set<string>();
  for (const r of rows) {
    if (seen.has(r.id)) continue;
    seen.add(r.id);
    out.push(`  ${r.label.padEnd(widths[0] ?? 0)}  vs  ${r.baseline}${r.capMs !== undefined ? ` (cap ${r.capMs / 1000} s a run)` : ''}`);
    if (r.note !== undefined) out.push(`  ${''.padEnd(widths[0] ?? 0)}      ${r.note}`);
  }
  const pushing = rows.filter((r) => r.jgo.sentBytes.length > 0 || r.native.sentBytes.length > 0);
  if (pushing.length > 0) {
    out.push('');
    out.push('what the pushes sent, medians: objects in the pack (beyond those the commit adds) and KiB on the wire:');
    const side = (s: RowResult['jgo']) => {
      const objects = median(s.sentObjects);
      const extra = median(s.extraObjects);
      const kib = median(s.sentBytes);
      return `${objects ?? '?'} objects (+${extra ?? '?'}) ${kib === undefined ? '-' : (kib / 1024).toFixed(1)} KiB`;
    };
    const idWidth = Math.max(...pushing.map((r) => r.id.length));
    for (const r of pushing) {
      const wall = r.jgo.medianWallMs !== undefined && r.jgo.medianWallMs !== r.jgo.medianMs ? `; jgo process ${fmtMs({ ...r.jgo, medianMs: r.jgo.medianWallMs }, true)}` : '';
      out.push(`  ${r.id.padEnd(idWidth)}  commit adds ${r.newObjects ?? '?'}; jgo ${side(r.jgo)}; native ${side(r.native)}${wall}`);
    }
  }
  out.push(...wholeRuns(rows));
  out.push('');
  out.push('targets:');
  const nameWidth = Math.max(...report.targets.map((t) => t.name.length));
  for (const t of report.targets) {
    const value = t.value === undefined ? 'n/a' : t.unit === 'x' ? `${t.value.toFixed(2)}x` : t.unit === 'MiB' ? `${t.value.toFixed(1)} MiB` : `${t.value} obj`;
    const limit = t.unit === 'x' ? `${t.limit}x` : t.unit === 'MiB' ? `${t.limit.toFixed(1)} MiB` : `${t.limit} obj`;
    const verdict = t.pass === undefined ? '-' : t.pass ? 'pass' : 'FAIL';
    out.push(`  ${t.name.padEnd(nameWidth)}  ${value.padStart(10)} / ${limit.padEnd(10)} ${verdict.padEnd(4)}  ${t.detail}`);
  }
  const errors = rows.filter((r) => r.error !== undefined);
  if (errors.length > 0) {
    out.push('');
    out.push('errors:');
    for (const r of errors) out.push(`  ${r.id}: ${r.error}`);
  }
  return `${out.join('\n')}\n`;
}
