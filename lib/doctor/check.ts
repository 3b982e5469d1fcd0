/**
 * What every doctor check returns, and the small helpers they share: masking secrets, saying
 * where a setting came from, and bounding a check in time.
 */
import type { ResolvedSetting } from '../config.js';
import { JgoError, messageOf } from '../errors.js';

export type Status = 'ok' | 'warn' | 'fail';

export interface Check {
  name: string;
  status: Status;
  detail: string;
  /** What to do about it; only on warn and fail. */
  fix?: string;
}

/** How long any one check may take: the whole doctor stays within a second or two. */
export const CHECK_TIMEOUT_MS = 5_000;

export function ok(name: string, detail: string): Check {
  return { name, status: 'ok', detail };
}

export function warn(name: string, detail: string, fix: string): Check {
  return { name, status: 'warn', detail, fix };
}

export function fail(name: string, detail: string, fix: string): Check {
  return { name, status: 'fail', detail, fix };
}

/** A check from a JgoError: its message, and its hint as the fix. */
export function failFrom(name: string, error: unknown, fallbackFix: string): Check {
  if (error instanceof JgoError) return fail(name, error.message, error.hint ?? fallbackFix);
  return fail(name, messageOf(error), fallbackFix);
}

/**
 * `sk-…a1b2`: enough to tell two keys apart, never enough to use one. At most the first 3 and
 * the last 4 characters, and never more than a third of the secret; short ones show nothing.
 */
export function mask(secret: string): string {
  const n = secret.length;
  if (n >= 24) return `${secret.slice(0, 3)}…${secret.slice(-4)}`;
  if (n >= 12) return `${secret.slice(0, 2)}…${secret.slice(-2)}`;
  return `… (${n} characters)`;
}

/** `(from OPENWEBUI_API_KEY in the env file)`, `(environment)`, `(default)`. */
export function origin(name: string, setting: ResolvedSetting | undefined): string {
  if (!setting) return '(default)';
  const where = setting.source === 'env' ? 'environment' : setting.source === 'file' ? 'env file' : 'default';
  return setting.from === name ? `(${where})` : `(from ${setting.from}, ${where})`;
}

/** `5 s`, `0.3 s`: a time limit as people read it. */
export function seconds(ms: number): string {
  return ms >= 1000 && ms % 1000 === 0 ? `${ms / 1000} s` : `${(ms / 1000).toFixed(1)} s`;
}

/** Runs a check with a time limit; a check that does not finish in time becomes `onTimeout`. */
export async function bounded<T>(work: (signal: AbortSignal) => Promise<T>, ms: number, onTimeout: () => T): Promise<T> {
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<T>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error(`no answer in ${seconds(ms)}`));
      resolve(onTimeout());
    }, ms);
  });
  try {
    return await Promise.race([work(controller.signal), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Why a request got no answer: the first `code` down the cause chain (ECONNREFUSED), else the innermost message. */
export function networkCause(error: unknown): string {
  let current: unknown = error;
  let message = messageOf(error);
  for (let depth = 0; depth < 5 && current !== null && typeof current === 'object'; depth++) {
    const { code, message: m, cause } = current as { code?: unknown; message?: unknown; cause?: unknown };
    if (typeof code === 'string' && /^E[A-Z_]+$|^UND_ERR/.test(code)) return code;
    if (typeof m === 'string' && m !== '') message = m;
    current = cause;
  }
  return message;
}

/** The first line of what a program said that is not one of codex's WARNING lines. */
export function firstLine(text: string, max = 200): string {
  const line = text
    .split('\n')
    .map((l) => l.trim())
    .find((l) => l !== '' && !/^WARNING:/.test(l));
  return (line ?? '').slice(0, max);
}
