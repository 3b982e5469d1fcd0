/**
 * Errors with a stable `code` (matched by callers and tests, never the message text) and the
 * contract's exit code. Anything thrown that is not a JgoError is a bug or an unexpected
 * run-time failure and maps to exit 1 with code `internal`.
 */

/** The exit codes of CONTRACT.md. */
export const EXIT = {
  ok: 0,
  failed: 1,
  usage: 2,
  refused: 3,
  nothingToShip: 4,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
/** The exit codes of a failure: every one but 0. */
export type FailureExit = Exclude<ExitCode, 0>;

/**
 * Every error code jgo writes into an envelope, with its exit code and what it means. This is the
 * one list: JgoError and UsageError accept only these codes, and test/errors.test.ts checks the
 * table in docs/contract.md against it. `'stage'` is for the codes `jgo run` gives a stage that
 * failed without saying why: they carry that stage's own exit code, 1 to 4.
 */
export const ERRORS = {
  auth_failed: { exit: EXIT.failed, meaning: 'the git host refused the credentials (set or fix `GITHUB_TOKEN`)' },
  bad_branch: { exit: EXIT.usage, meaning: '`worktree.branch`, or a `--base`, is not a valid branch name, or not one under `jgo/`' },
  bad_cwd: { exit: EXIT.usage, meaning: "codex's directory does not exist" },
  bad_envelope: { exit: EXIT.usage, meaning: 'stdin is an envelope with a field of the wrong type or form (the message names the field)' },
  bad_envelope_version: { exit: EXIT.usage, meaning: 'stdin is a JSON object without `"jgo": 1`' },
  bad_flags: { exit: EXIT.usage, meaning: 'unknown or invalid command-line flags' },
  bad_gate_reply: { exit: EXIT.failed, meaning: "the model did not answer with the gate's JSON object, even after a correction" },
  bad_input: { exit: EXIT.usage, meaning: 'stdin is not JSON, or not one object' },
  bad_path: { exit: EXIT.usage, meaning: "an envelope's `worktree.path` or `mirror.path` is not the one derived from `JGO_CACHE_DIR`, `repo.url` and `run_id`" },
  bad_repo: { exit: EXIT.usage, meaning: "an envelope's `repo.url` is not an acceptable http(s) repository URL" },
  bad_repo_url: { exit: EXIT.usage, meaning: 'the GitHub API cannot tell `owner/repo` from `repo.url`' },
  bad_stage_output: { exit: 'stage', meaning: "a stage in `jgo run` wrote nothing, or something that is not an envelope, on stdout (the stage's own exit code when it gave one)" },
  base_not_found: { exit: EXIT.usage, meaning: 'the `--base` branch is not in the mirror' },
  branch_gone: { exit: EXIT.failed, meaning: "the thread's branch is no longer on the remote (merged and deleted, or deleted): start a new run instead of a follow-up" },
  branch_names_exhausted: { exit: EXIT.failed, meaning: 'no free `jgo/<stamp>-<n>` branch name' },
  cache_unwritable: { exit: EXIT.usage, meaning: '`JGO_CACHE_DIR` (or the per-user fallback) cannot be created or written' },
  codex_failed: { exit: EXIT.failed, meaning: 'codex exited non-zero, its turn failed, or never completed' },
  codex_login_required: { exit: EXIT.usage, meaning: 'codex cannot authenticate; the message gives the `codex login` commands' },
  codex_missing: { exit: EXIT.usage, meaning: '`CODEX_BIN` is not found' },
  codex_timeout: { exit: EXIT.failed, meaning: 'codex ran longer than `JGO_CODEX_TIMEOUT_S`, or sent no event for `JGO_CODEX_IDLE_S`' },
  commit_failed: { exit: EXIT.failed, meaning: 'git refused a commit' },
  disk_full: { exit: EXIT.failed, meaning: 'the disk filled up; the journal and the cache stay consistent' },
  env_file_unreadable: { exit: EXIT.usage, meaning: 'the env file exists but cannot be read' },
  envelope_too_deep: { exit: EXIT.usage, meaning: 'stdin is nested more than 512 levels deep' },
  envelope_too_large: { exit: EXIT.usage, meaning: 'stdin is larger than 16 MiB' },
  foreign_branch: { exit: EXIT.usage, meaning: "`--continue` found a branch outside `jgo/` (a pull request's head): jgo continues one only when `--continue` names that branch itself" },
  git_failed: { exit: EXIT.failed, meaning: 'a git command failed (the message quotes git)' },
  git_missing: { exit: EXIT.failed, meaning: 'git cannot be run (git is a requirement; `jgo doctor` checks it)' },
  github_auth_failed: { exit: EXIT.failed, meaning: 'the GitHub API refused the token (`jgo doctor --repo`)' },
  github_failed: { exit: EXIT.failed, meaning: 'the GitHub API failed or rate-limited the request' },
  github_needs_token: { exit: EXIT.usage, meaning: 'asking the GitHub API needs `GITHUB_TOKEN`' },
  host_not_allowed: { exit: EXIT.refused, meaning: "the repository is on a host that is neither `JGO_GIT_BASE_URL`'s nor listed in `JGO_GIT_TOKEN_HOSTS` or `JGO_GIT_ALLOWED_HOSTS`" },
  internal: { exit: EXIT.failed, meaning: 'an unexpected failure (a bug); `JGO_DEBUG=1` prints the stack' },
  interrupted: { exit: EXIT.failed, meaning: 'SIGINT or SIGTERM stopped the stage (the stage still writes its envelope)' },
  invalid_setting: { exit: EXIT.usage, meaning: 'a setting has a value jgo does not accept (the message names it)' },
  llm_auth_failed: { exit: EXIT.failed, meaning: 'the model endpoint refused the key' },
  llm_error: { exit: EXIT.failed, meaning: 'the model endpoint failed' },
  llm_timeout: { exit: EXIT.failed, meaning: 'no answer within `JGO_LLM_TIMEOUT_S`' },
  llm_unreachable: { exit: EXIT.failed, meaning: 'the model endpoint cannot be reached' },
  lock_timeout: { exit: EXIT.failed, meaning: 'gave up waiting for a lock another live process holds' },
  mirror_broken: { exit: EXIT.failed, meaning: 'a freshly built mirror still lacks the default branch' },
  mirror_missing: { exit: EXIT.usage, meaning: 'no mirror at `mirror.path`: run `jgo-sync` first' },
  missing_field: { exit: EXIT.usage, meaning: 'the envelope lacks a part this stage needs (run the stage before it)' },
  missing_settings: { exit: EXIT.usage, meaning: 'required settings are unset (all are named, with their fallbacks)' },
  network_error: { exit: EXIT.failed, meaning: 'the git host or GitHub API cannot be reached' },
  no_changes: { exit: EXIT.nothingToShip, meaning: 'codex changed nothing: nothing to ship' },
  no_input: { exit: EXIT.usage, meaning: 'stdin is empty or a terminal' },
  no_request: { exit: EXIT.usage, meaning: 'no request text' },
  not_executable: { exit: EXIT.refused, meaning: 'the gate judged the request not executable, it names no repository, or its repository reference is not `owner/repo` or an http(s) URL' },
  not_shipped: { exit: EXIT.failed, meaning: 'agent mode: codex left changes uncommitted, or committed nothing' },
  nothing_to_commit: { exit: EXIT.failed, meaning: 'ship was given no paths to commit' },
  pr_auth_failed: { exit: EXIT.failed, meaning: 'GitHub refused the token when opening the pull request (401/403)' },
  pr_closed: { exit: EXIT.failed, meaning: "the thread's pull request is closed or merged: start a new run instead of a follow-up" },
  pr_failed: { exit: EXIT.failed, meaning: 'GitHub failed or rate-limited the pull request' },
  pr_needs_token: { exit: EXIT.usage, meaning: 'a pull request was asked for and `GITHUB_TOKEN` is unset' },
  pr_rejected: { exit: EXIT.failed, meaning: 'GitHub rejected the pull request (422, e.g. no commits between the branches)' },
  push_rejected: { exit: EXIT.failed, meaning: 'the branch exists on the remote with other history' },
  push_unverified: { exit: EXIT.failed, meaning: "after the push, the remote's branch is not the local head" },
  redirect_refused: { exit: EXIT.failed, meaning: 'the GitHub API redirected to another origin; not followed, so the token stays with `JGO_GITHUB_API_URL`' },
  repo_empty: { exit: EXIT.failed, meaning: 'the repository has no branches yet' },
  repo_mismatch: { exit: EXIT.refused, meaning: 'the model picked a repository the request does not name' },
  repo_not_allowed: { exit: EXIT.refused, meaning: 'the repository is outside `JGO_REPOS`' },
  repo_not_found: { exit: EXIT.failed, meaning: 'the repository does not exist (or the token cannot see it)' },
  request_too_large: { exit: EXIT.usage, meaning: 'the request is longer than `JGO_MAX_REQUEST_BYTES`; refused before any model call' },
  run_in_progress: { exit: EXIT.failed, meaning: 'another process is running or resuming this run' },
  run_not_shipped: { exit: EXIT.usage, meaning: 'the run `--continue` names pushed no branch: `jgo resume` it, or start a new run' },
  run_not_found: { exit: EXIT.usage, meaning: 'no run with that id in the journal' },
  serve_needs_keys: { exit: EXIT.usage, meaning: '`jgo serve` on a non-loopback address needs `JGO_SERVE_API_KEYS`' },
  secret_in_diff: { exit: EXIT.failed, meaning: 'a line the change adds, or a commit message, holds a secret; nothing is committed or pushed' },
  secret_on_disk: { exit: EXIT.failed, meaning: 'codex wrote a secret value (plainly or encoded) under `CODEX_HOME` or the working copy; it is removed from the cache' },
  stage_failed: { exit: 'stage', meaning: 'a stage in `jgo run` exited non-zero without an `error` in its envelope' },
  stage_killed: { exit: EXIT.failed, meaning: 'a stage in `jgo run` was killed by a signal (the message names it)' },
  stage_missing: { exit: EXIT.usage, meaning: "a stage's program cannot be started (`JGO_STAGE_*` names a missing program)" },
  stage_output_too_large: { exit: EXIT.failed, meaning: 'a stage in `jgo run` wrote more than 16 MiB on stdout and was stopped' },
  worktree_exists: { exit: EXIT.failed, meaning: "the run's working copy exists already" },
  worktree_failed: { exit: EXIT.failed, meaning: 'git could not check out the working copy' },
  worktree_missing: { exit: EXIT.usage, meaning: '`worktree.path` is not a git working copy' },
} as const satisfies Record<string, { exit: ExitCode | 'stage'; meaning: string }>;

export type ErrorCode = keyof typeof ERRORS;
/** The exit code (or codes) a code may carry. */
export type ExitOf<C extends ErrorCode> = C extends ErrorCode ? ((typeof ERRORS)[C]['exit'] extends 'stage' ? FailureExit : (typeof ERRORS)[C]['exit']) : never;
/** The codes whose exit code is 2: the ones a UsageError may carry. */
export type UsageCode = { [C in ErrorCode]: (typeof ERRORS)[C]['exit'] extends typeof EXIT.usage ? C : never }[ErrorCode];

/**
 * The exit code the registry gives `code`: a stage's codes get 1, the usual case, and so does a
 * code the type checker never saw (one that came through `as` or plain JavaScript).
 */
export function exitCodeOf(code: ErrorCode): FailureExit {
  const exit = Object.hasOwn(ERRORS, code) ? ERRORS[code].exit : 'stage';
  return exit === 'stage' ? EXIT.failed : exit;
}

export interface JgoErrorOptions {
  /** What the user can do about it: one short sentence, printed after the message. */
  hint?: string;
  cause?: unknown;
  /** Envelope fields the stage produced before failing (e.g. `gate` with its reason). */
  patch?: Record<string, unknown>;
}

export class JgoError<C extends ErrorCode = ErrorCode> extends Error {
  readonly code: C;
  readonly exitCode: FailureExit;
  readonly hint: string | undefined;
  readonly patch: Record<string, unknown> | undefined;

  /** `exitCode` defaults to the registry's; one that the registry does not allow for `code` does not compile. */
  constructor(code: C, message: string, exitCode: ExitOf<C> = exitCodeOf(code) as ExitOf<C>, options: JgoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JgoError';
    this.code = code;
    this.exitCode = exitCode as FailureExit;
    this.hint = options.hint;
    this.patch = options.patch;
  }
}

/** A usage or input error: bad flags, bad stdin, missing or invalid settings (exit 2). */
export class UsageError<C extends UsageCode = UsageCode> extends JgoError<C> {
  constructor(code: C, message: string, options: JgoErrorOptions = {}) {
    super(code, message, EXIT.usage as ExitOf<C>, options);
    this.name = 'UsageError';
  }
}

export function isJgoError(error: unknown): error is JgoError {
  return error instanceof JgoError;
}

/** The message of anything thrown, without a stack. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
