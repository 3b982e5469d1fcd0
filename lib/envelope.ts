/**
 * Envelope v1: the single source of truth for what flows between stages (CONTRACT.md).
 * Every object is "loose": fields this version does not know are kept and passed on, so a
 * replacement stage may add its own without the next stage dropping them.
 */
import * as z from 'zod';

// A stage parses one envelope in its life. zod compiles each object schema into a function the
// first time it is used (new Function, which no code cache keeps): 6-19 ms for an envelope,
// against 3-6 ms interpreted. jgo's processes are short, so the interpreter wins.
z.config({ jitless: true });

export const ENVELOPE_VERSION = 1;

export const STAGES = ['gate', 'sync', 'worktree', 'codex', 'ship'] as const;
export const StageName = z.enum([...STAGES, 'run']);
export type StageName = z.infer<typeof StageName>;

/** `20261123-202500-7f3a`; restricted to a path-safe alphabet because it names a directory. */
export const RunId = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/, 'run_id may hold only letters, digits, "-" and "_" (e.g. 20261123-202500-7f3a)');

const AbsolutePath = z.string().refine((p) => p.startsWith('/'), 'must be an absolute path');
const Sha = z.string().regex(/^[0-9a-f]{40}([0-9a-f]{24})?$/, 'must be a full hex object id');

export const Usage = z.looseObject({
  input_tokens: z.number().int().nonnegative().optional(),
  cached_input_tokens: z.number().int().nonnegative().optional(),
  cache_write_input_tokens: z.number().int().nonnegative().optional(),
  output_tokens: z.number().int().nonnegative().optional(),
  reasoning_output_tokens: z.number().int().nonnegative().optional(),
  total_tokens: z.number().int().nonnegative().optional(),
});
export type Usage = z.infer<typeof Usage>;

export const Gate = z.looseObject({
  executable: z.boolean(),
  reason: z.string(),
  repo_ref: z.string(),
  optimized_prompt: z.string(),
  model: z.string(),
  usage: Usage.optional(),
  /** How long the gate waited for the model's chat completions (a correction and the SDK's retries included). */
  duration_ms: z.number().nonnegative().optional(),
});
export type Gate = z.infer<typeof Gate>;

export const Repo = z.looseObject({
  ref: z.string().min(1),
  url: z.string().url(),
});
export type Repo = z.infer<typeof Repo>;

export const Mirror = z.looseObject({
  path: AbsolutePath,
  default_branch: z.string().min(1),
  head_sha: Sha,
  /** True when the cached mirror could not be opened or verified and was built anew. */
  rebuilt: z.boolean().optional(),
  fetched: z.boolean().optional(),
});
export type Mirror = z.infer<typeof Mirror>;

export const Worktree = z.looseObject({
  path: AbsolutePath,
  branch: z.string().min(1),
  base_branch: z.string().min(1),
  base_sha: Sha,
});
export type Worktree = z.infer<typeof Worktree>;

export const FailedCommand = z.looseObject({
  command: z.string(),
  exit_code: z.number().int().nullable(),
});

export const Codex = z.looseObject({
  exit_code: z.number().int().nullable(),
  /** Absent when codex ran outside a git repository (nothing to compare against). */
  changed_files: z.array(z.string()).optional(),
  last_message: z.string(),
  /** codex's own time: its login check (when there is one) and the run. */
  duration_ms: z.number().nonnegative(),
  thread_id: z.string().optional(),
  usage: Usage.optional(),
  failed_commands: z.array(FailedCommand).optional(),
  /** Every command the agent ran, with its exit code (the run report shows them). */
  commands: z.array(FailedCommand).optional(),
  /** The sandbox codex ran in. */
  sandbox: z.enum(['workspace-write', 'read-only', 'danger-full-access']).optional(),
  /** The model, when jgo chose it (CODEX_MODEL, or MODEL with the openai-compatible provider). */
  model: z.string().optional(),
});
export type Codex = z.infer<typeof Codex>;

export const Commit = z.looseObject({
  sha: Sha,
  subject: z.string(),
});

export const Ship = z.looseObject({
  branch: z.string().min(1),
  commits: z.array(Commit),
  pushed: z.boolean(),
  remote_sha: Sha.optional(),
  plan: z.enum(['codex', 'fallback', 'agent']).optional(),
  finished_by_jgo: z.boolean().optional(),
  /** The mirror was given the pushed branch, so the next sync need not fetch it back. */
  mirrored: z.boolean().optional(),
  pr: z.looseObject({ url: z.string(), number: z.number().int() }).optional(),
  /** Tokens and time codex spent planning the commits. */
  plan_usage: Usage.optional(),
  /** codex's own time planning, its login check included. */
  plan_duration_ms: z.number().nonnegative().optional(),
});
export type Ship = z.infer<typeof Ship>;

export const EnvelopeError = z.looseObject({
  stage: StageName,
  code: z.string().regex(/^[a-z][a-z0-9_]*$/, 'error.code is a snake_case word'),
  message: z.string(),
  exit_code: z.number().int().min(1).max(4),
});
export type EnvelopeError = z.infer<typeof EnvelopeError>;

export const Envelope = z.looseObject({
  jgo: z.literal(ENVELOPE_VERSION),
  run_id: RunId.optional(),
  request: z.string().optional(),
  gate: Gate.optional(),
  repo: Repo.optional(),
  mirror: Mirror.optional(),
  worktree: Worktree.optional(),
  codex: Codex.optional(),
  ship: Ship.optional(),
  error: EnvelopeError.optional(),
});
export type Envelope = z.infer<typeof Envelope>;

/** One line per issue, naming the field: `gate.executable: expected boolean`. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .map((issue) => `${issue.path.length > 0 ? issue.path.join('.') : '(envelope)'}: ${issue.message}`)
    .join('; ');
}
