/**
 * Composing the stages: each runs as its own process (the executable named by JGO_STAGE_<NAME>,
 * else jgo's own jgo-<name>), fed the previous stage's envelope on stdin, its stderr passed
 * through, its stdout parsed as the next envelope and saved in the journal.
 */
import { constants } from 'node:os';
import { join } from 'node:path';
import { ENVELOPE_VERSION, STAGES, type Envelope } from '../envelope.js';
import { EXIT, messageOf } from '../errors.js';
import { configOf, type Settings } from '../config.js';
import type { Redactor } from '../redact.js';
import { parseEnvelope, parseEnvelopeText } from '../stage.js';
import { splitWords } from './words.js';
import { MAX_STAGE_OUTPUT, spawnStageProcess, type StageProcess } from './process.js';
import { trace } from '../trace.js';
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
  const variable = stageVariable(stage);
  const custom = configOf(ctx.settings)[variable];
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

/** A stage's exit code as one of the contract's failures: 1 to 4 as they are, anything else 1. */
function documented(exitCode: number): number {
  return Number.isInteger(exitCode) && exitCode >= 1 && exitCode <= 4 ? exitCode : EXIT.failed;
}

function failure(base: Envelope, stage: StageKey, code: string, message: string, exitCode: number): Envelope {
  return { ...base, jgo: ENVELOPE_VERSION, error: { stage, code, message, exit_code: documented(exitCode) } };
}

/** The signal a shell-style exit code stands for (130: SIGINT), if it is one. */
function signalOfExit(code: number): string | undefined {
  if (code <= 128 || code > 128 + 64) return undefined;
  return Object.entries(constants.signals).find(([, n]) => n === code - 128)?.[0];
}

/**
 * How a stage that has exited went, from its exit and its stdout. Only the contract's exit codes
 * come out: a stage killed by a signal (or exiting as a shell does for one, 128 + n) is
 * `stage_killed` naming the signal, exit 1; any other undocumented code is exit 1.
 */
function settle(stage: StageKey, proc: StageProcess, input: Envelope, code: number | null, signal: NodeJS.Signals | null, aborted: boolean): StageOutcome {
  const fail = (error: string, message: string, exitCode: number = EXIT.failed): StageOutcome => {
    const envelope = failure(input, stage, error, message, exitCode);
    return { envelope, exitCode: envelope.error?.exit_code ?? EXIT.failed };
  };
  const name = `jgo-${stage}`;
  if (proc.spawnError) return fail('stage_missing', `cannot run ${proc.command.join(' ')}: ${proc.spawnError.message}`, EXIT.usage);
  if (proc.overflowed) return fail('stage_output_too_large', `${name} wrote more than ${MAX_STAGE_OUTPUT / 1024 / 1024} MiB on stdout and was stopped`);
  if (signal === 'SIGTERM' && aborted) return fail('interrupted', `${name} was stopped: jgo was interrupted`);
  if (signal) return fail('stage_killed', `${name} was killed by ${signal}`);
  const exitCode = code ?? EXIT.failed;
  const shellSignal = signalOfExit(exitCode);
  if (shellSignal) return fail('stage_killed', `${name} exited ${exitCode}, as a process killed by ${shellSignal} does`);
  const text = Buffer.concat(proc.out).toString('utf8').trim();
  let envelope: Envelope;
  try {
    envelope = parseEnvelopeText(text, 'stdout');
  } catch (error) {
    const why = text === '' ? 'wrote nothing on stdout' : `wrote something that is not an envelope (${messageOf(error).slice(0, 120)})`;
    return fail('bad_stage_output', `${name} ${why}, exit ${exitCode}`, exitCode);
  }
  if (exitCode !== 0 && !envelope.error) envelope = failure(envelope, stage, 'stage_failed', `${name} exited ${exitCode} without saying why`, exitCode);
  return { envelope, exitCode: envelope.error ? envelope.error.exit_code : 0 };
}

/**
 * A stage process, started and waiting for its envelope. jgo's own stages are started ahead of
 * their turn, as a shell starts every command of a pipeline at once: Node's start and the stage's
 * module loading then happen while the stage before is still working, not after it. A stage
 * that has read nothing yet has done nothing, so one that is not needed (an earlier stage
 * failed) is stopped with SIGTERM, which it obeys at once and silently.
 */
export interface LaunchedStage {
  stage: StageKey;
  command: string[];
  /** Given its envelope: from then on it is working, and is waited for, never dismissed. */
  fed: boolean;
  /**
   * Gives the stage its envelope and closes its stdin. `delivered` runs once both have reached
   * the pipe (at once if the stage is already gone): the moment to spawn the next stage, whose
   * fork would otherwise hold the end of input back by as long as it takes.
   */
  feed(input: Envelope, delivered?: () => void): Promise<StageOutcome>;
  /** Resolves when the process is gone (a stage of ours may be answered before it has exited). */
  gone(): Promise<void>;
  /** A stage of ours whose envelope is in: all it has left to do is exit. */
  answered: boolean;
  /** Stops a stage that was never fed, and waits for it to be gone. */
  dismiss(): Promise<void>;
}

export function launchStage(stage: StageKey, ctx: PipelineContext): LaunchedStage {
  const command = stageCommand(stage, ctx);
  const quiet = ctx.stderr === undefined;
  const proc = spawnStageProcess(command, { cwd: ctx.cwd, env: ctx.env, quiet });
  trace(`start jgo-${stage}`);
  const { child, closed } = proc;
  const own = startsAhead(stage, ctx);
  const onAbort = () => child.kill('SIGTERM');
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  void closed.then(() => ctx.signal.removeEventListener('abort', onAbort));

  const launched: LaunchedStage = {
    stage,
    command,
    fed: false,
    answered: false,
    async dismiss() {
      if (launched.fed) return;
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await closed;
    },
    gone: () => closed.then(() => undefined),
    async feed(input, delivered) {
      launched.fed = true;
      trace(`feed jgo-${stage}`);
      if (delivered) {
        let once = false;
        const then = () => {
          if (once) return;
          once = true;
          delivered();
        };
        // 'finish' comes after the shutdown of the pipe, that is once the stage can read EOF; a
        // stage that died early never finishes its stdin, but does close.
        child.stdin.once('finish', then);
        child.stdin.once('error', then);
        void closed.then(then);
      }
      child.stdin.end(`${JSON.stringify(input)}\n`);
      if (own) {
        // jgo's own stage says how it went in its envelope (error.exit_code, else 0) and then
        // only exits: its answer is used as soon as it is in, and its exit is awaited later.
        await proc.answered;
        const answer = ownAnswer(Buffer.concat(proc.out).toString('utf8'));
        if (answer) {
          trace(`jgo-${stage} answered`);
          launched.answered = true;
          return { exitCode: answer.error ? answer.error.exit_code : 0, envelope: answer };
        }
      }
      const { code, signal } = await closed;
      trace(`jgo-${stage} exited ${signal ?? code}`);
      return settle(stage, proc, input, code, signal, ctx.signal.aborted);
    },
  };
  return launched;
}

/** The one envelope line of a stage of ours, when it is whole and valid; else undefined. */
function ownAnswer(text: string): Envelope | undefined {
  const newline = text.indexOf('\n');
  if (newline < 0 || text.slice(newline + 1).trim() !== '') return undefined;
  try {
    return parseEnvelopeText(text.slice(0, newline), 'stdout');
  } catch {
    return undefined; // the exit and the whole output decide, as for any stage
  }
}

/** jgo's own stages are started ahead; a replaced one (JGO_STAGE_<NAME>) only when its turn comes. */
function startsAhead(stage: StageKey, ctx: PipelineContext): boolean {
  return configOf(ctx.settings)[stageVariable(stage)] === undefined;
}

/** JGO_STAGE_GATE … JGO_STAGE_SHIP: the command that replaces a stage. */
function stageVariable(stage: StageKey): `JGO_STAGE_${Uppercase<StageKey>}` {
  return `JGO_STAGE_${stage.toUpperCase() as Uppercase<StageKey>}`;
}

/** Runs stages from `from` through `until`, journaling each; stops at the first failure. */
export async function runPipeline(journal: Journal, from: StageKey, until: StageKey, input: Envelope, ctx: PipelineContext): Promise<StageOutcome> {
  const stages = STAGES.slice(STAGES.indexOf(from), STAGES.indexOf(until) + 1);
  const ahead = new Map<StageKey, LaunchedStage>();
  // The stage being run; started ahead is only ever one after it, and nothing once the pipeline is over.
  let current = -1;
  let over = false;
  const startAhead = (index: number) => {
    const next = stages[index];
    if (over || index !== current + 1 || !next || ahead.has(next) || ctx.signal.aborted || !startsAhead(next, ctx)) return;
    ahead.set(next, launchStage(next, ctx));
  };
  let envelope = input;
  // A stage's journal record is written while the next stage already works: one write at a time,
  // in order, and all of them done before the pipeline returns.
  let saving: Promise<void> = Promise.resolve();
  let saveError: unknown;
  const fed: LaunchedStage[] = [];
  try {
    for (const [index, stage] of stages.entries()) {
      if (ctx.signal.aborted) {
        return { envelope: failure(envelope, stage, 'interrupted', 'stopped before this stage', EXIT.failed), exitCode: EXIT.failed };
      }
      current = index;
      const launched = ahead.get(stage) ?? launchStage(stage, ctx);
      ahead.delete(stage);
      const started = new Date();
      // Fed first, the next stage started after its input is delivered: a spawn blocks jgo for
      // some milliseconds, and a stage waiting for EOF behind it would wait those too.
      const outcome = launched.feed(envelope, () => startAhead(index + 1));
      fed.push(launched);
      const result = await outcome;
      const ended = new Date();
      // The journal gets no secret, even if a replaced stage echoed one. (Parsed again only
      // when something was taken out: the answer was parsed once already.)
      const text = JSON.stringify(result.envelope);
      const redacted = ctx.redact.text(text);
      const safe = redacted === text ? result.envelope : parseEnvelope(JSON.parse(redacted));
      const record = {
        stage,
        command: launched.command.map((w) => ctx.redact.text(w)),
        started: started.toISOString(),
        ended: ended.toISOString(),
        duration_ms: ended.getTime() - started.getTime(),
        exit_code: result.exitCode,
        envelope: safe,
      };
      saving = saving.then(() => journal.saveStage(record)).catch((error: unknown) => void (saveError ??= error));
      envelope = safe;
      if (result.exitCode !== 0) return { envelope, exitCode: result.exitCode };
    }
    return { envelope, exitCode: 0 };
  } finally {
    over = true;
    // Its answer is used as soon as it is in, but every stage is waited for before jgo run
    // returns: nothing of the run (jgo-ship's removal of the working copy, say) outlives it.
    await Promise.all([saving, ...[...ahead.values()].map((l) => l.dismiss()), ...fed.map((l) => l.gone())]);
    if (saveError !== undefined) throw saveError;
  }
}
