/**
 * Envelope v1: the single source of truth for what flows between stages (CONTRACT.md).
 * Every object is "loose": fields this version does not know are kept and passed on, so a
 * replacement stage may add its own without the next stage dropping them.
 */
import { randomBytes } from 'node:crypto';
import * as z from './zod.js';

export const ENVELOPE_VERSION = 1;

export const STAGES = ['gate', 'sync', 'worktree', 'codex', 'ship'] as const;
export const StageName = z.enum([...STAGES, 'run']);
export type StageName = z.infer<typeof StageName>;

/**
 * A run id as jgo makes it: `20261123-202500-7f3a`, the UTC time the run began plus random hex.
 * Replacement stages may make other ids, so the schema below accepts any path-safe one.
 */
export const RUN_ID_FORMAT = /^(\d{8}-\d{6})-[0-9a-f]{4}$/;

/** `20261123-202500-7f3a`; restricted to a path-safe alphabet because it names a directory. */
export const RunId = z
  .string()
  .check(z.regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'run_id may hold only letters, digits, "-" and "_" (e.g. 20261123-202500-7f3a)'));

/** `YYYYMMDD-HHMMSS` in UTC: the start of a run id, and of the branch a run pushes. */
export function utcStamp(now: Date = new Date()): string {
  return now.toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
}

/** A new run id for a run beginning `now`. */
export function newRunId(now: Date = new Date()): string {
  return `${utcStamp(now)}-${randomBytes(2).toString('hex')}`;
}

/** The UTC stamp a run id begins with (`20261123-202500`), when it is one jgo made. */
export function runStamp(runId: string): string | undefined {
  return /^(\d{8}-\d{6})/.exec(runId)?.[1];
}

const AbsolutePath = z.string().check(z.refine((p) => p.startsWith('/'), 'must be an absolute path'));
const Sha = z.string().check(z.regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full hex object id'));
/** A number of tokens: whole, not negative. */
const Count = z.number().check(z.int(), z.nonnegative());
const Millis = z.number().check(z.nonnegative());
const NonEmpty = z.string().check(z.minLength(1));
const ExitCode = z.nullable(z.number().check(z.int()));

export const Usage = z.looseObject({
  input_tokens: z.optional(Count),
  cached_input_tokens: z.optional(Count),
  cache_write_input_tokens: z.optional(Count),
  output_tokens: z.optional(Count),
  reasoning_output_tokens: z.optional(Count),
  total_tokens: z.optional(Count),
});
export type Usage = z.infer<typeof Usage>;

const COUNTS = ['input_tokens', 'cached_input_tokens', 'cache_write_input_tokens', 'output_tokens', 'reasoning_output_tokens'] as const;

/**
 * Two usages added: each count either of them has, and `total_tokens`, taking input plus output
 * for a usage that gives no total of its own (codex's turns do not). The one way usage is summed:
 * the gate's two attempts, codex's turns, and a run's stages in `jgo show`.
 */
export function addUsage(total: Usage | undefined, more: Usage | undefined): Usage {
  if (!more) return total ?? {};
  const sum: Usage = {};
  for (const key of COUNTS) {
    const a = total?.[key];
    const b = more[key];
    if (a !== undefined || b !== undefined) sum[key] = (a ?? 0) + (b ?? 0);
  }
  sum.total_tokens = totalTokens(total) + totalTokens(more);
  return sum;
}

/** A usage's `total_tokens`, or input plus output where it gives none. */
export function totalTokens(usage: Usage | undefined): number {
  return usage?.total_tokens ?? (usage?.input_tokens ?? 0) + (usage?.output_tokens ?? 0);
}

export const Gate = z.looseObject({
  executable: z.boolean(),
  reason: z.string(),
  repo_ref: z.string(),
  optimized_prompt: z.string(),
  model: z.string(),
  usage: z.optional(Usage),
  /** How long the gate waited for the model's chat completions (a correction and the SDK's retries included). */
  duration_ms: z.optional(Millis),
});
export type Gate = z.infer<typeof Gate>;

export const Repo = z.looseObject({
  ref: NonEmpty,
  url: z.string().check(z.url()),
});
export type Repo = z.infer<typeof Repo>;

export const Mirror = z.looseObject({
  path: AbsolutePath,
  default_branch: NonEmpty,
  head_sha: Sha,
  /** True when the cached mirror could not be opened or verified and was built anew. */
  rebuilt: z.optional(z.boolean()),
  fetched: z.optional(z.boolean()),
});
export type Mirror = z.infer<typeof Mirror>;

export const Worktree = z.looseObject({
  path: AbsolutePath,
  branch: NonEmpty,
  base_branch: NonEmpty,
  base_sha: Sha,
  /** A kept working copy of an earlier run, proven clean, rather than a new clone. */
  reused: z.optional(z.boolean()),
});
export type Worktree = z.infer<typeof Worktree>;

export const FailedCommand = z.looseObject({
  command: z.string(),
  exit_code: ExitCode,
});

export const Codex = z.looseObject({
  exit_code: ExitCode,
  /** Absent when codex ran outside a git repository (nothing to compare against). */
  changed_files: z.optional(z.array(z.string())),
  last_message: z.string(),
  /** codex's own time: its login check (when there is one) and the run. */
  duration_ms: Millis,
  thread_id: z.optional(z.string()),
  usage: z.optional(Usage),
  failed_commands: z.optional(z.array(FailedCommand)),
  /** Every command the agent ran, with its exit code (the run report shows them). */
  commands: z.optional(z.array(FailedCommand)),
  /** The sandbox codex ran in. */
  sandbox: z.optional(z.enum(['workspace-write', 'read-only', 'danger-full-access'])),
  /**
   * The model codex used, from its session record (codex's own default changes between
   * releases); when there is no record, the one jgo asked for (CODEX_MODEL, or MODEL with the
   * openai-compatible provider). Absent when neither is known.
   */
  model: z.optional(z.string()),
  /** The codex release that ran, as `codex --version` gave it (`0.171.0`). */
  version: z.optional(z.string()),
  /** A follow-up's codex continued the parent run's thread (`codex exec resume`). */
  resumed: z.optional(z.boolean()),
});
export type Codex = z.infer<typeof Codex>;

export const Commit = z.looseObject({
  sha: Sha,
  subject: z.string(),
});

export const Ship = z.looseObject({
  branch: NonEmpty,
  commits: z.array(Commit),
  pushed: z.boolean(),
  remote_sha: z.optional(Sha),
  plan: z.optional(z.enum(['codex', 'fallback', 'agent'])),
  finished_by_jgo: z.optional(z.boolean()),
  /** The mirror was given the pushed branch, so the next sync need not fetch it back. */
  mirrored: z.optional(z.boolean()),
  pr: z.optional(z.looseObject({ url: z.string(), number: z.number().check(z.int()) })),
  /** Tokens and time codex spent planning the commits. */
  plan_usage: z.optional(Usage),
  /** codex's own time planning, its login check included. */
  plan_duration_ms: z.optional(Millis),
});
export type Ship = z.infer<typeof Ship>;

/** One earlier run of a thread, as the gate's and codex's prompts tell it. */
export const ThreadRun = z.looseObject({
  run_id: RunId,
  request: z.string(),
  /** The commits it added to the branch, oldest first. */
  commits: z.array(Commit),
});
export type ThreadRun = z.infer<typeof ThreadRun>;

/**
 * A follow-up: this run continues a thread (a conversation), adding commits to the thread's
 * branch and pull request. Set by `jgo run --continue` or written by hand; read by the gate
 * (the thread so far, and its repository), jgo-worktree (the branch as the remote has it),
 * jgo-codex (codex's thread, resumed when codex still has it) and jgo-ship (the commits go on
 * top, the pull request gets a comment).
 */
export const Continue = z.looseObject({
  /** The thread: the run id of its first run. */
  thread: RunId,
  /** The run this one follows; absent when the branch was named without a run behind it. */
  parent: z.optional(RunId),
  /** The branch the thread pushes to. A name outside `jgo/` only when the user named it. */
  branch: NonEmpty,
  /** The repository of the thread: a follow-up may not move to another. */
  repo: z.optional(Repo),
  /** codex's thread of the parent run (`codex.thread_id`), resumed when codex still has it. */
  thread_id: z.optional(z.string().check(z.regex(/^[\w-]{1,100}$/, 'continue.thread_id is a codex thread id'))),
  /** The thread's pull request, when it has one: the follow-up comments on it. */
  pr: z.optional(z.looseObject({ url: z.string(), number: z.number().check(z.int(), z.positive()) })),
  /** The thread's earlier runs, oldest first. */
  history: z.optional(z.array(ThreadRun)),
});
export type Continue = z.infer<typeof Continue>;

export const EnvelopeError = z.looseObject({
  stage: StageName,
  code: z.string().check(z.regex(/^[a-z][a-z0-9_]*$/, 'error.code is a snake_case word')),
  message: z.string(),
  exit_code: z.number().check(z.int(), z.minimum(1), z.maximum(4)),
});
export type EnvelopeError = z.infer<typeof EnvelopeError>;

export const Envelope = z.looseObject({
  jgo: z.literal(ENVELOPE_VERSION),
  run_id: z.optional(RunId),
  request: z.optional(z.string()),
  continue: z.optional(Continue),
  gate: z.optional(Gate),
  repo: z.optional(Repo),
  mirror: z.optional(Mirror),
  worktree: z.optional(Worktree),
  codex: z.optional(Codex),
  ship: z.optional(Ship),
  error: z.optional(EnvelopeError),
});
export type Envelope = z.infer<typeof Envelope>;

/** One line per issue, naming the field: `gate.executable: expected boolean`. */
export function describeIssues(error: z.core.$ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(envelope)'}: ${issue.message}`)
    .join('; ');
}
