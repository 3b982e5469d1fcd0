/**
 * The one harness every stage shares (CONTRACT.md, "Stages"): read and validate one envelope,
 * pass an upstream error through, run the stage, write exactly one line of JSON, and map the
 * outcome to the contract's exit code. stdout carries only the envelope; people read stderr.
 */
import { Envelope, ENVELOPE_VERSION, describeIssues, type StageName } from './envelope.js';
import { EXIT, JgoError, UsageError, messageOf, type ExitCode } from './errors.js';
import { loadSettings, Settings } from './config.js';
import { Redactor } from './redact.js';
import { secretNeedles } from './needles.js';
import { jsonDepthOffset, jsonErrorWhere, lineColumn } from './json-where.js';
import { debugging, trace, traceExit } from './trace.js';

export interface StageIO {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean };
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export interface StageContext {
  name: StageName;
  settings: Settings;
  io: StageIO;
  /** One line for people on stderr, prefixed with the stage and scrubbed of secrets. */
  log: (line: string) => void;
  /** Aborted on SIGINT/SIGTERM: long work stops and cleans up. */
  signal: AbortSignal;
  redact: Redactor;
  /**
   * Work to do once the envelope is out, before the process exits: what the answer does not
   * depend on (`jgo run` goes on with the answer while it is done). A failure is not reported.
   */
  afterAnswer?: (task: () => Promise<unknown>) => void;
}

export interface StageSpec {
  name: Exclude<StageName, 'run'>;
  /** How to call the stage, shown with every usage error. */
  usage: string;
  /** jgo-gate: stdin that does not start with `{` or `[` is the request text itself. */
  plainText?: boolean;
  /** Input that replaces stdin (jgo-gate's request given as arguments). */
  input?: Envelope;
  /** A usage error found before the stage ran (bad flags). */
  usageError?: UsageError;
  run: (envelope: Envelope, context: StageContext) => Promise<Envelope>;
}

/** The most an envelope may weigh, on a stage's stdin or as a stage's answer to `jgo run`. */
export const MAX_ENVELOPE_BYTES = 16 * 1024 * 1024;
/** How deeply an envelope may nest: jgo's own nest five levels, a stack overflows past thousands. */
export const MAX_ENVELOPE_DEPTH = 512;

function tooLarge(what: string): UsageError {
  return new UsageError('envelope_too_large', `${what} holds more than ${MAX_ENVELOPE_BYTES / 1024 / 1024} MiB: an envelope is at most that`);
}

/** All of stdin, up to `max` bytes; past that it stops reading (the writer sees a closed pipe). */
async function readAll(stream: NodeJS.ReadableStream, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of stream) {
    const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
    size += bytes.length;
    if (size > max) throw tooLarge('stdin');
    chunks.push(bytes);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Turns stdin into an envelope, or throws a UsageError saying what was wrong. */
export async function readEnvelope(spec: StageSpec, stdin: StageIO['stdin']): Promise<Envelope> {
  if (spec.input) return parseEnvelope(spec.input);
  if (stdin.isTTY) {
    throw new UsageError('no_input', `jgo-${spec.name} reads an envelope on stdin, and stdin is a terminal`);
  }
  const text = await readAll(stdin, MAX_ENVELOPE_BYTES);
  trace('stdin read');
  const trimmed = text.trim();
  if (trimmed === '') throw new UsageError('no_input', 'stdin is empty: expected one JSON envelope');
  if (spec.plainText && !trimmed.startsWith('{') && !trimmed.startsWith('[')) {
    return { jgo: ENVELOPE_VERSION, request: trimmed };
  }
  return parseEnvelopeText(trimmed, 'stdin');
}

/**
 * One envelope from its JSON text, bounded in size and depth before it is parsed; `source` names
 * where it came from in the messages (`stdin:3:14`).
 */
export function parseEnvelopeText(text: string, source: string): Envelope {
  if (text.length > MAX_ENVELOPE_BYTES) throw tooLarge(source);
  const deep = jsonDepthOffset(text, MAX_ENVELOPE_DEPTH);
  if (deep >= 0) {
    throw new UsageError('envelope_too_deep', `${source}:${lineColumn(text, deep)}: nested more than ${MAX_ENVELOPE_DEPTH} levels deep; an envelope is a shallow JSON object`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    const where = jsonErrorWhere(text);
    throw new UsageError('bad_input', `${source}${where ? `:${where}` : ''}: not JSON (${messageOf(error).split('\n')[0]?.slice(0, 80)})`);
  }
  return parseEnvelope(value);
}

export function parseEnvelope(value: unknown): Envelope {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    const kind = Array.isArray(value) ? 'an array' : value === null ? 'null' : `a ${typeof value}`;
    throw new UsageError('bad_input', `stdin holds ${kind}, expected one JSON object (an envelope)`);
  }
  const version = (value as Record<string, unknown>).jgo;
  if (version !== ENVELOPE_VERSION) {
    throw new UsageError(
      'bad_envelope_version',
      version === undefined
        ? 'stdin is a JSON object without "jgo": 1, not a jgo envelope'
        : `unknown envelope version ${JSON.stringify(version)}; this jgo speaks version ${ENVELOPE_VERSION}`,
    );
  }
  const parsed = Envelope.safeParse(value);
  if (!parsed.success) throw new UsageError('bad_envelope', `invalid envelope: ${describeIssues(parsed.error)}`);
  return parsed.data;
}

/** Whether something thrown (or its cause, or git's words in its message) is a full disk. */
function isDiskFull(thrown: unknown): boolean {
  for (let e = thrown, n = 0; e instanceof Error && n < 5; e = e.cause, n++) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOSPC' || code === 'EDQUOT' || /No space left on device|Disk quota exceeded/i.test(e.message)) return true;
  }
  return false;
}

/**
 * What a failure is called in an envelope: a JgoError as it is, a full disk as `disk_full` from
 * wherever it came (a write of jgo's, git's, codex's), anything else as `internal`.
 */
export function asJgoError(thrown: unknown): JgoError {
  if (isDiskFull(thrown) && !(thrown instanceof JgoError && thrown.code === 'disk_full')) {
    const said = messageOf(thrown).split('\n').find((line) => /space|quota/i.test(line)) ?? messageOf(thrown);
    return new JgoError('disk_full', `the disk is full: ${said.trim().slice(0, 200)}`, EXIT.failed, {
      hint: 'Free space where JGO_CACHE_DIR is (jgo gc removes finished runs), then jgo resume the run.',
      cause: thrown,
      ...(thrown instanceof JgoError && thrown.patch ? { patch: thrown.patch } : {}),
    });
  }
  if (thrown instanceof JgoError) return thrown;
  return new JgoError('internal', `unexpected failure: ${messageOf(thrown)}`, EXIT.failed);
}

/** The envelope that reports a failure: the input, the stage's partial result, and `error`. */
function failed(name: StageName, base: Envelope, error: JgoError, redact: Redactor): Envelope {
  return {
    ...base,
    ...(error.patch ?? {}),
    jgo: ENVELOPE_VERSION,
    error: { stage: name, code: error.code, message: redact.text(error.message), exit_code: error.exitCode },
  };
}

/** Runs one stage against the given streams and returns its exit code. Never throws. */
export async function runStage(spec: StageSpec, io: StageIO): Promise<ExitCode> {
  const debug = debugging(io.env);
  const prefix = `jgo-${spec.name}`;
  let redact = new Redactor([]);
  const say = (line: string) => io.stderr.write(`${prefix}: ${redact.text(line)}\n`);
  const controller = new AbortController();
  let envelope: Envelope = { jgo: ENVELOPE_VERSION };

  // Until its envelope has arrived a stage has done nothing (`jgo run` starts stages ahead of
  // their turn), so a signal then ends it at once, silently, with no envelope to write.
  let begun = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (!begun || controller.signal.aborted) process.exit(signal === 'SIGINT' ? 130 : 143);
    say(`${signal}: stopping`);
    controller.abort(new JgoError('interrupted', `stopped by ${signal}`, EXIT.failed));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);

  let code: ExitCode;
  let out: Envelope;
  const after: Array<() => Promise<unknown>> = [];
  try {
    if (spec.usageError) throw spec.usageError;
    // Bad settings are reported once the envelope is in: a stage started ahead of its turn and
    // then not needed must not print anything.
    let settings: Settings | undefined;
    let settingsError: unknown;
    try {
      settings = loadSettings({ env: io.env, cwd: io.cwd });
      redact = new Redactor(secretNeedles(settings.secrets()));
    } catch (error) {
      settingsError = error;
    }
    trace('ready');
    envelope = await readEnvelope(spec, io.stdin);
    begun = true;
    trace('envelope in');
    if (settings === undefined) throw settingsError;
    if (envelope.error) {
      // Upstream failed: pass its envelope on unchanged so the pipeline's end says where and why.
      out = envelope;
      code = envelope.error.exit_code as ExitCode;
    } else {
      out = await spec.run(envelope, { name: spec.name, settings, io, log: say, signal: controller.signal, redact, afterAnswer: (task) => after.push(task) });
      code = EXIT.ok;
    }
  } catch (thrown) {
    const error = asJgoError(thrown);
    out = failed(spec.name, envelope, error, redact);
    code = error.exitCode;
    say(error.message);
    if (error.hint) io.stderr.write(`  ${redact.text(error.hint)}\n`);
    if (error instanceof UsageError && !spec.usageError) io.stderr.write(`  usage: ${spec.usage}\n`);
    if (debug && thrown instanceof Error && thrown.stack) io.stderr.write(`${redact.text(thrown.stack)}\n`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  await writeLine(io.stdout, redact.text(JSON.stringify(out)));
  trace('envelope out');
  await Promise.allSettled(after.map((task) => task()));
  return code;
}

/** Writes one line and waits for it to be flushed; a closed reader (EPIPE) is not an error. */
export function writeLine(stream: NodeJS.WritableStream, line: string): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      stream.off('error', onError);
      resolve();
    };
    const onError = (error: NodeJS.ErrnoException) => {
      if (error.code !== 'EPIPE') process.stderr.write(`jgo: cannot write output: ${error.message}\n`);
      done();
    };
    stream.on('error', onError);
    stream.write(`${line}\n`, () => done());
  });
}

/** The process entry point of a stage: real streams, then exit with the stage's code. */
export async function stageMain(spec: StageSpec): Promise<never> {
  // A reader that goes away (`| head`) must not turn into an uncaught EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  const code = await runStage(spec, {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    cwd: process.cwd(),
  });
  traceExit();
  process.exit(code);
}
