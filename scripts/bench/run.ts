/**
 * Runs rows: per row and engine, an untimed prepare, then iterations of (untimed setup, jgo timed,
 * native timed, untimed teardown), the order of jgo and native alternating between iterations.
 * A warm-up iteration (not recorded) precedes the runs of warm rows. A run killed at the cap is
 * recorded as over the cap, and that side of the row is not run again.
 */
import type { BenchContext, EngineName } from './context.js';
import { median } from './measure.js';
import type { Row, RowEngine } from './rows.js';

export interface SideResult {
  /** Every recorded run, in milliseconds (a capped run is not among them). */
  runsMs: number[];
  medianMs: number | undefined;
  /** A run went over the cap: the median is at least the cap. */
  capped: boolean;
  /** The highest peak RSS of the recorded runs, KiB (undefined without GNU time). */
  peakKiB: number | undefined;
  /** Every recorded run's user + system CPU milliseconds (GNU time), and their median. */
  cpuMs: number[];
  medianCpuMs: number | undefined;
}

export interface RowResult {
  id: string;
  label: string;
  baseline: string;
  engine: RowEngine;
  target: number;
  jgo: SideResult;
  native: SideResult;
  /** jgo median / native median; with a capped jgo, a lower bound. */
  ratio: number | undefined;
  pass: boolean | undefined;
  /** 2 x pack + 150 MiB, when the memory target applies. */
  memoryLimitKiB: number | undefined;
  memoryPass: boolean | undefined;
  error: string | undefined;
}

export interface RunOptions {
  engines: readonly EngineName[];
  runs: number;
  coldRuns: number;
  warmup: boolean;
  memoryLimitKiB: number;
  /** Stops between runs (the runs in progress are killed by whoever aborts). */
  signal?: AbortSignal;
}

function side(): SideResult {
  return { runsMs: [], medianMs: undefined, capped: false, peakKiB: undefined, cpuMs: [], medianCpuMs: undefined };
}

const ms = (n: number) => `${Math.round(n)} ms`;
const mib = (kib: number | undefined) => (kib === undefined ? '' : ` (${(kib / 1024).toFixed(0)} MiB)`);

export async function runRow(ctx: BenchContext, row: Row, engine: RowEngine, options: RunOptions): Promise<RowResult> {
  const jgo = side();
  const native = side();
  const result: RowResult = {
    id: row.id,
    label: row.label,
    baseline: row.baseline,
    engine,
    target: row.target,
    jgo,
    native,
    ratio: undefined,
    pass: undefined,
    memoryLimitKiB: row.memory ? options.memoryLimitKiB : undefined,
    memoryPass: undefined,
    error: undefined,
  };
  const name = `${row.id}${engine === '-' ? '' : ` [${engine}]`}`;
  try {
    await row.prepare(ctx, engine);
    const runs = row.cold ? options.coldRuns : options.runs * row.runsFactor;
    const warmup = options.warmup && !row.cold;
    const total = runs + (warmup ? 1 : 0);
    for (let k = 0; k < total; k++) {
      if (options.signal?.aborted) throw new Error('interrupted');
      const recorded = !(warmup && k === 0);
      const it = await row.iteration(ctx, engine, k);
      let jgoStdout: string | undefined;
      const line: string[] = [];
      try {
        for (const which of k % 2 === 0 ? (['jgo', 'native'] as const) : (['native', 'jgo'] as const)) {
          const target = which === 'jgo' ? jgo : native;
          if (target.capped) continue;
          const sample = await ctx.runner.run(which === 'jgo' ? it.jgo : it.native, ctx.capMs);
          if (sample.capped) {
            target.capped = true;
            line.push(`${which} over the cap (${ms(ctx.capMs)}): killed`);
            continue;
          }
          if (which === 'jgo') {
            it.check(sample.stdout);
            jgoStdout = sample.stdout;
          }
          line.push(`${which} ${ms(sample.ms)}${mib(sample.peakKiB)}`);
          if (!recorded) continue;
          target.runsMs.push(sample.ms);
          if (sample.peakKiB !== undefined) target.peakKiB = Math.max(target.peakKiB ?? 0, sample.peakKiB);
          if (sample.cpuMs !== undefined) target.cpuMs.push(sample.cpuMs);
        }
      } finally {
        await it.teardown(jgoStdout);
      }
      ctx.log(`${name} ${recorded ? `run ${k + (warmup ? 0 : 1)}/${runs}` : 'warm-up'}: ${line.join(', ')}`);
      if (jgo.capped && native.capped) break;
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    ctx.log(`${name} FAILED: ${result.error}`);
  }
  jgo.medianMs = jgo.capped ? ctx.capMs : median(jgo.runsMs);
  native.medianMs = native.capped ? ctx.capMs : median(native.runsMs);
  jgo.medianCpuMs = median(jgo.cpuMs);
  native.medianCpuMs = median(native.cpuMs);
  if (result.error === undefined && jgo.medianMs !== undefined && native.medianMs !== undefined && native.medianMs > 0 && !native.capped) {
    result.ratio = jgo.medianMs / native.medianMs;
    result.pass = !jgo.capped && result.ratio <= row.target;
  }
  if (result.memoryLimitKiB !== undefined && jgo.peakKiB !== undefined) result.memoryPass = jgo.peakKiB <= result.memoryLimitKiB;
  return result;
}

export async function runRows(ctx: BenchContext, rows: readonly Row[], options: RunOptions): Promise<RowResult[]> {
  const results: RowResult[] = [];
  for (const row of rows) {
    for (const engine of row.perEngine ? options.engines : (['-'] as const)) {
      if (options.signal?.aborted) return results;
      results.push(await runRow(ctx, row, engine, options));
    }
  }
  return results;
}
