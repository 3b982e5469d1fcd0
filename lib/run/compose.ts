/**
 * Composing the stages: each runs as its own process (the executable named by JGO_STAGE_<NAME>,
 * else jgo's own jgo-<name>), fed the previous stage's envelope on stdin, its stderr passed
 * through, its stdout parsed as the next envelope and saved in the journal.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { ENVELOPE_VERSION, STAGES, type Envelope } from '../envelope.js';
import { EXIT, messageOf } from '../errors.js';
import type { Settings } from '../config.js';
import type { Redactor } from '../redact.js';
import { parseEnvelope } from '../stage.js';
import { splitWords } from './words.js';
import type { Journal, StageKey } from './journal.js';

export interface PipelineContext {
  settings: Settings;
  /** Where jgo's own stage executables are (dist/cmd). */
  binDir: string;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** Where stages' stderr goes; undefined discards it (--quiet). */
  stderr: NodeJS.WritableStream | undefined;
  redact: Redactor;
  signal: AbortSignal;
}

/** The command line of a stage: JGO_STAGE_<NAME> split into words, else jgo-<name> beside jgo. */
export function stageCommand(stage: StageKey, ctx: Pick<PipelineContext, 'settings' | 'binDir'>): string[] {
  const variable = `JGO_STAGE_${stage.toUpperCase()}`;
  const custom = ctx.settings.get(variable);
  if (custom !== undefined) {
    const words = splitWords(custom, variable);
    if (words.length > 0) return words;
  }
  return [process.execPath, join(ctx.binDir, `jgo-${stage}.js`)];
}

interface StageOutcome {
  envelope: Envelope;
  exitCode: number;
}

function failure(base: Envelope, stage: StageKey, code: string, message: string, exitCode: number): Envelope {
  return { ...base, jgo: ENVELOPE_VERSION, error: { stage, code, message, exit_code: Math.min(Math.max(exitCode, 1), 4) } };
}

/** Runs one stage process and reads its envelope; never throws. */
export async function runStageProcess(stage: StageKey, input: Envelope, ctx: PipelineContext): Promise<StageOutcome & { command: string[] }> {
  const command = stageCommand(stage, ctx);
  const [file, ...args] = command as [string, ...string[]];
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      cwd: ctx.cwd,
      env: ctx.env,
      stdio: ['pipe', 'pipe', ctx.stderr ? 'inherit' : 'ignore'],
    });
    const out: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    const onAbort = () => child.kill('SIGTERM');
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    let spawnError: Error | undefined;
    child.on('error', (error) => (spawnError = error));
    child.stdin.on('error', () => {});
    child.stdin.end(`${JSON.stringify(input)}\n`);
    child.on('close', (code, signal) => {
      ctx.signal.removeEventListener('abort', onAbort);
      if (spawnError) {
        resolve({ command, exitCode: EXIT.usage, envelope: failure(input, stage, 'stage_missing', `cannot run ${command.join(' ')}: ${spawnError.message}`, EXIT.usage) });
        return;
      }
      const exitCode = code ?? (signal ? 128 : 1);
      const text = Buffer.concat(out).toString('utf8').trim();
      let envelope: Envelope;
      try {
        envelope = parseEnvelope(JSON.parse(text));
      } catch (error) {
        const why = text === '' ? 'wrote nothing on stdout' : `wrote something that is not an envelope (${messageOf(error).slice(0, 120)})`;
        resolve({ command, exitCode: exitCode === 0 ? 1 : exitCode, envelope: failure(input, stage, 'bad_stage_output', `jgo-${stage} ${why}, exit ${signal ?? exitCode}`, exitCode || 1) });
        return;
      }
      if (exitCode !== 0 && !envelope.error) {
        envelope = failure(envelope, stage, 'stage_failed', `jgo-${stage} exited ${signal ?? exitCode} without saying why`, exitCode);
      }
      const finalCode = envelope.error ? envelope.error.exit_code : exitCode;
      resolve({ command, exitCode: finalCode, envelope });
    });
  });
}

/** Runs stages from `from` through `until`, journaling each; stops at the first failure. */
export async function runPipeline(journal: Journal, from: StageKey, until: StageKey, input: Envelope, ctx: PipelineContext): Promise<StageOutcome> {
  let envelope = input;
  const first = STAGES.indexOf(from);
  const last = STAGES.indexOf(until);
  for (const stage of STAGES.slice(first, last + 1)) {
    if (ctx.signal.aborted) {
      return { envelope: failure(envelope, stage, 'interrupted', 'stopped before this stage', EXIT.failed), exitCode: EXIT.failed };
    }
    const started = new Date();
    const result = await runStageProcess(stage, envelope, ctx);
    const ended = new Date();
    // The journal gets no secret, even if a replaced stage echoed one.
    const safe = parseEnvelope(JSON.parse(ctx.redact.text(JSON.stringify(result.envelope))));
    await journal.saveStage({
      stage,
      command: result.command.map((w) => ctx.redact.text(w)),
      started: started.toISOString(),
      ended: ended.toISOString(),
      duration_ms: ended.getTime() - started.getTime(),
      exit_code: result.exitCode,
      envelope: safe,
    });
    envelope = safe;
    if (result.exitCode !== 0) return { envelope, exitCode: result.exitCode };
  }
  return { envelope, exitCode: 0 };
}
