/**
 * Can codex authenticate? With JGO_CODEX_PROVIDER=codex it uses its own login in CODEX_HOME,
 * so before a run that may take an hour, `codex login status` (or CODEX_API_KEY, which `codex
 * exec` reads but `login status` does not) must say yes; otherwise exit 2 with the commands
 * that fix it. The openai-compatible provider needs no login: its key comes by `env_key`.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { UsageError } from '../errors.js';
import { shellQuote, type CodexConfig } from './args.js';
import { oneLine } from './events.js';
import { spawnGroup } from './process.js';

export const LOGIN_TIMEOUT_MS = 30_000;

export interface LoginStatus {
  loggedIn: boolean;
  /** What codex said, first line, with any key fragment masked out. */
  said: string;
}

/** Runs `codex login status` (all its output goes to stderr; exit 0 means it can authenticate). */
export async function loginStatus(
  bin: string,
  env: Record<string, string>,
  cwd: string,
  signal?: AbortSignal,
  timeoutMs = LOGIN_TIMEOUT_MS,
): Promise<LoginStatus> {
  const group = spawnGroup(bin, ['login', 'status'], { cwd, env });
  let output = '';
  group.child.stdout?.setEncoding('utf8').on('data', (d: string) => (output += d));
  group.child.stderr?.setEncoding('utf8').on('data', (d: string) => (output += d));
  group.child.stdin?.on('error', () => {});
  group.child.stdin?.end();
  const stop = () => void group.stop();
  signal?.addEventListener('abort', stop, { once: true });
  const timer = new AbortController();
  try {
    const outcome = await Promise.race([
      group.done,
      sleep(timeoutMs, 'timeout' as const, { signal: timer.signal }).catch(() => 'cancelled' as const),
    ]);
    if (outcome === 'timeout' || outcome === 'cancelled') {
      await group.stop();
      return { loggedIn: false, said: `codex login status did not answer in ${Math.round(timeoutMs / 1000)} s` };
    }
    signal?.throwIfAborted();
    // codex may print WARNING lines (e.g. about PATH aliases) before what it has to say.
    const first = output.split('\n').map((l) => l.trim()).find((l) => l !== '' && !/^WARNING\b/.test(l)) ?? '';
    // "API key configured - sk-abcd***12345": the fragment is not ours to print.
    const said = oneLine(first.replace(/\s+-\s+\S*\*\*\*\S*/g, ''), 200);
    return { loggedIn: outcome.code === 0, said: said || `exit ${outcome.code ?? outcome.signal}` };
  } finally {
    timer.abort();
    signal?.removeEventListener('abort', stop);
    if (group.alive()) await group.stop();
    group.release();
  }
}

/** The error that says how to log in, with commands that use this CODEX_HOME. */
export function loginRequired(config: CodexConfig, said: string): UsageError {
  const home = `CODEX_HOME=${shellQuote(config.home)}`;
  const bin = shellQuote(config.bin);
  return new UsageError('codex_login_required', `codex cannot authenticate (${home}): ${said}`, {
    hint: [
      'Log codex in once, with the same CODEX_HOME:',
      `    ${home} ${bin} login`,
      'or with an API key:',
      `    printenv OPENAI_API_KEY | ${home} ${bin} login --with-api-key`,
      'or set CODEX_API_KEY, or use JGO_CODEX_PROVIDER=openai-compatible (OPENAI_BASE_URL, OPENAI_API_KEY, MODEL).',
    ].join('\n  '),
  });
}

/** Passes when codex can authenticate; exit 2 (codex_login_required) when it cannot. */
export async function ensureLogin(
  config: CodexConfig,
  bin: string,
  env: Record<string, string>,
  cwd: string,
  log: (line: string) => void,
  signal?: AbortSignal,
): Promise<void> {
  const p = config.provider;
  if (p.kind !== 'codex') return;
  if (p.apiKey !== undefined) {
    log('codex authenticates with CODEX_API_KEY');
    return;
  }
  const status = await loginStatus(bin, env, cwd, signal);
  if (!status.loggedIn) throw loginRequired(config, status.said);
  log(`codex login: ${status.said}`);
}
