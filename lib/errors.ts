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

export interface JgoErrorOptions {
  /** What the user can do about it: one short sentence, printed after the message. */
  hint?: string;
  cause?: unknown;
  /** Envelope fields the stage produced before failing (e.g. `gate` with its reason). */
  patch?: Record<string, unknown>;
}

export class JgoError extends Error {
  readonly code: string;
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  readonly patch: Record<string, unknown> | undefined;

  constructor(code: string, message: string, exitCode: ExitCode = EXIT.failed, options: JgoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'JgoError';
    this.code = code;
    this.exitCode = exitCode;
    this.hint = options.hint;
    this.patch = options.patch;
  }
}

/** A usage or input error: bad flags, bad stdin, missing or invalid settings (exit 2). */
export class UsageError extends JgoError {
  constructor(code: string, message: string, options: JgoErrorOptions = {}) {
    super(code, message, EXIT.usage, options);
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
