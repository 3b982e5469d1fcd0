/**
 * Runs rows: per row, an untimed prepare, then iterations of (untimed setup, jgo timed,
 * native timed, untimed teardown), the order of jgo and native alternating between iterations.
 * A warm-up iteration (not recorded) precedes the runs of warm rows, unless the row says not to.
 * A run killed at the cap (--cap, or the row's own lower one) is recorded as over the cap, and
 * that side of the row is not run again. A jgo run slower than the row's slowMs is recorded (a
 * warm-up too) and ends the row: a slow row spends seconds, not minutes, on it.
 */
import type { BenchContext } from './context.js';
import { median } from './measure.js';
import type { Row } from './rows.js';

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
  /** The recorded runs' process wall times: the same as runsMs unless the row takes jgo's time otherwise (RowSpec.jgoMs). */
  wallMs: number[];
  medianWallMs: number | undefined;
  /** Push rows: per recorded run, the bytes and pack objects its pushes sent (summed over its pushes). */
  sentBytes: number[];
  sentObjects: number[];
  /** Push rows: per recorded run, the objects sent beyond those the run's commit adds (0: only the new objects). */
  extraObjects: number[];
}

export interface RowResult {
  id: string;
  label: string;
  baseline: string;
  target: number;
  jgo: SideResult;
  native: SideResult;
  /** jgo median / native median; with a capped jgo, a lower bound. */
  ratio: number | undefined;
  pass: boolean | undefined;
  /** 2 x pack + 150 MiB, when the memory target applies. */
  memoryLimitKiB: number | undefined;
  memoryPass: boolean | undefined;
  /** Push rows: the objects the change adds (what the push must send at most), median over the runs. */
  newObjects: number | undefined;
  /** How jgo's time was taken, when not as the process's wall time. */
  note: string | undefined;
  /** Medians of the named figures of jgo's runs (RowSpec.parts), when the row records them. */
  parts: Record<string, number> | undefined;
  /** jgo's fixed cost taken off before the ratio (RowSpec.allowanceMs): ratio = (jgo - this) / native. */
  allowanceMs: number | undefined;
  /** This row's cap, when lower than --cap. */
  capMs: number | undefined;
  error: string | undefined;
}

export interface RunOptions {
  runs: number;
  coldRuns: number;
  warmup: boolean;
  memoryLimitKiB: number;
  /** Stops between runs (the runs in progress are killed by whoever aborts). */
  signal?: AbortSignal;
}

function side(): SideResult {
  return {
    runsMs: [],
    medianMs: undefined,
    capped: false,
    peakKiB: undefined,
    cpuMs: [],
    medianCpuMs: undefined,
    wallMs: [],
    medianWallMs: undefined,
    sentBytes: [],
    sentObjects: [],
    extraObjects: [],
  };
}

const ms = (n: number) => `${Math.round(n)} ms`;
const mib = (kib: number | undefined) => (kib === undefined ? '' : ` (${(kib / 1024).toFixed(0)} MiB)`);

export async function runRow(ctx: BenchContext, row: Row, options: RunOptions): Promise<RowResult> {
  const jgo = side();
  const native = side();
  const result: RowResult = {
    id: row.id,
    label: row.label,
    baseline: row.baseline,
    target: row.target,
    jgo,
    native,
    ratio: undefined,
    pass: undefined,
    memoryLimitKiB: row.memory ? options.memoryLimitKiB : undefined,
    memoryPass: undefined,
    newObjects: undefined,
    note: row.note,
    parts: undefined,
    allowanceMs: undefined,
    capMs: row.capMs !== undefined && row.capMs < ctx.capMs ? row.capMs : undefined,
    error: undefined,
  };
  const capMs = result.capMs ?? ctx.capMs;
  const newObjects: number[] = [];
  const parts = new Map<string, number[]>();
  const name = row.id;
  try {
    try {
      await runIterations();
    } finally {
      await row.finish(ctx);
    }
  } catch (error) {
    result.error = error instanceof Error ? error.message : String(error);
    ctx.log(`${name} FAILED: ${result.error}`);
  }

  async function runIterations(): Promise<void> {
    await row.prepare(ctx);
    let runs = row.cold ? options.coldRuns : options.runs * row.runsFactor;
    if (row.maxRuns !== undefined) runs = Math.min(runs, row.maxRuns);
    const warmup = options.warmup && !row.cold && row.warmup !== false;
    const total = runs + (warmup ? 1 : 0);
    let done = 0;
    for (let k = 0; k < total; k++) {
      if (options.signal?.aborted) throw new Error('interrupted');
      const warmupRun = warmup && k === 0;
      const it = await row.iteration(ctx, k);
      let jgoStdout: string | undefined;
      let slow = false;
      const line: string[] = [];
      // Kept until the iteration ends: a slow warm-up is recorded after all.
      const samples: Array<{ target: SideResult; took: number; wall: number; peakKiB?: number; cpuMs?: number; bytes: number; objects?: number }> = [];
      let runParts: Record<string, number> | undefined;
      try {
        for (const which of k % 2 === 0 ? (['jgo', 'native'] as const) : (['native', 'jgo'] as const)) {
          const target = which === 'jgo' ? jgo : native;
          if (target.capped) continue;
          if (row.pushes) ctx.proxy.take();
          const sample = await ctx.runner.run(which === 'jgo' ? it.jgo : it.native, capMs);
          const pushes = row.pushes ? ctx.proxy.take() : [];
          if (sample.capped) {
            target.capped = true;
            line.push(`${which} over the cap (${ms(capMs)}): killed`);
            continue;
          }
          let took = sample.ms;
          if (which === 'jgo') {
            it.check(sample.stdout);
            jgoStdout = sample.stdout;
            took = it.jgoMs(sample.stdout, sample.ms);
            runParts = it.parts(sample.stdout, sample.ms);
            if (row.slowMs !== undefined && took > row.slowMs) slow = true;
          }
          const bytes = pushes.reduce((sum, p) => sum + p.bytes, 0);
          const objects = pushes.some((p) => p.objects === undefined) ? undefined : pushes.reduce((sum, p) => sum + (p.objects ?? 0), 0);
          const sent = row.pushes ? `, sent ${objects ?? '?'} objects in ${(bytes / 1024).toFixed(1)} KiB` : '';
          line.push(`${which} ${ms(took)}${took !== sample.ms ? ` (process ${ms(sample.ms)})` : ''}${mib(sample.peakKiB)}${sent}`);
          samples.push({
            target,
            took,
            wall: sample.ms,
            ...(sample.peakKiB !== undefined ? { peakKiB: sample.peakKiB } : {}),
            ...(sample.cpuMs !== undefined ? { cpuMs: sample.cpuMs } : {}),
            bytes,
            ...(objects !== undefined ? { objects } : {}),
          });
        }
      } finally {
        await it.teardown(jgoStdout);
      }
      const added = it.newObjects();
      const recorded = !warmupRun || slow;
      if (recorded) {
        done++;
        if (added !== undefined) newObjects.push(added);
        for (const [key, value] of Object.entries(runParts ?? {})) parts.set(key, [...(parts.get(key) ?? []), value]);
        for (const s of samples) {
          s.target.runsMs.push(s.took);
          s.target.wallMs.push(s.wall);
          if (s.peakKiB !== undefined) s.target.peakKiB = Math.max(s.target.peakKiB ?? 0, s.peakKiB);
          if (s.cpuMs !== undefined) s.target.cpuMs.push(s.cpuMs);
          if (row.pushes) {
            s.target.sentBytes.push(s.bytes);
            if (s.objects !== undefined) {
              s.target.sentObjects.push(s.objects);
              if (added !== undefined) s.target.extraObjects.push(s.objects - added);
            }
          }
        }
      }
      ctx.log(`${name} ${recorded ? `run ${done}/${runs}` : 'warm-up'}: ${line.join(', ')}`);
      if (slow) {
        ctx.log(`${name}: jgo took over ${ms(row.slowMs ?? 0)}: that run is recorded and the row stops (one run tells a ratio this large)`);
        break;
      }
      if (jgo.capped && native.capped) break;
    }
  }
  for (const s of [jgo, native]) {
    s.medianMs = s.capped ? capMs : median(s.runsMs);
    s.medianWallMs = s.capped ? capMs : median(s.wallMs);
    s.medianCpuMs = median(s.cpuMs);
  }
  result.newObjects = median(newObjects);
  if (parts.size > 0) result.parts = Object.fromEntries([...parts].map(([key, values]) => [key, median(values) ?? 0]));
  const detail = row.detail(ctx);
  if (detail !== undefined) result.label = `${row.label}, ${detail}`;
  result.allowanceMs = result.error === undefined ? row.allowanceMs(ctx) : undefined;
  if (result.error === undefined && jgo.medianMs !== undefined && native.medianMs !== undefined && native.medianMs > 0 && !native.capped) {
    result.ratio = (jgo.medianMs - (result.allowanceMs ?? 0)) / native.medianMs;
    result.pass = !jgo.capped && result.ratio <= row.target;
  }
  if (result.memoryLimitKiB !== undefined && jgo.peakKiB !== undefined) result.memoryPass = jgo.peakKiB <= result.memoryLimitKiB;
  return result;
}

export async function runRows(ctx: BenchContext, rows: readonly Row[], options: RunOptions): Promise<RowResult[]> {
  const results: RowResult[] = [];
  for (const row of rows) {
    if (options.signal?.aborted) return results;
    results.push(await runRow(ctx, row, options));
  }
  return results;
}
