/**
 * codex, without a model call: the binary and its version, the flags jgo passes (from `codex exec
 * --help`, so an older or newer codex that dropped one shows here, not an hour into a run),
 * whether it can authenticate, and whether its sandbox works on this machine (`codex sandbox`
 * runs `true` under the same Linux sandbox `codex exec` uses: about 0.3 s).
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Settings } from '../config.js';
import { codexEnv, resolveBin, shellQuote, type CodexConfig } from '../codex/args.js';
import { loginRequired } from '../codex/login.js';
import { spawnGroup } from '../codex/process.js';
import { messageOf } from '../errors.js';
import { fail, firstLine, mask, ok, seconds, warn, type Check } from './check.js';
import pkg from '../../package.json' with { type: 'json' };

/** The codex release jgo is built and tested against: package.json's exact pin. */
const CODEX_PINNED = pkg.devDependencies['@openai/codex'];

/** Every flag of `codex exec` that jgo passes, as `codex exec --help` spells it. */
export const EXEC_FLAGS: ReadonlyArray<{ flag: string; short?: string }> = [
  { flag: '--json' },
  { flag: '--output-last-message', short: '-o' },
  { flag: '--sandbox', short: '-s' },
  { flag: '--config', short: '-c' },
  { flag: '--disable' },
  { flag: '--skip-git-repo-check' },
  { flag: '--output-schema' },
];
const MODEL_FLAG = { flag: '--model', short: '-m' };

export interface Output {
  code: number | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

/** Runs a short codex command in its own process group, ended with the group when it overstays. */
export async function runBounded(bin: string, args: string[], options: { cwd: string; env: Record<string, string>; timeoutMs: number }): Promise<Output> {
  const group = spawnGroup(bin, args, { cwd: options.cwd, env: options.env });
  let stdout = '';
  let stderr = '';
  group.child.stdout?.setEncoding('utf8').on('data', (d: string) => (stdout += d));
  group.child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  group.child.stdin?.on('error', () => {});
  group.child.stdin?.end();
  const timer = new AbortController();
  try {
    const outcome = await Promise.race([
      group.done,
      sleep(options.timeoutMs, 'timeout' as const, { signal: timer.signal }).catch(() => 'cancelled' as const),
    ]);
    if (outcome === 'timeout' || outcome === 'cancelled') {
      await group.stop(500);
      return { code: null, stdout, stderr, timedOut: true };
    }
    return { code: outcome.code, stdout, stderr, timedOut: false };
  } catch (error) {
    return { code: null, stdout, stderr: `${stderr}${messageOf(error)}`, timedOut: false };
  } finally {
    timer.abort();
    if (group.alive()) await group.stop(500);
    group.release();
  }
}

/** Whether `help` lists the flag (`-o, --output-last-message <FILE>`, `--json`). */
export function helpHas(help: string, flag: string): boolean {
  const escaped = flag.replace(/[-/\\^$*+?.()|[\]{}]/g, '\\$&');
  return new RegExp(`(^|[\\s,])${escaped}(?=[\\s,=<\\[]|$)`, 'm').test(help);
}

export interface CodexCheckInput {
  settings: Settings;
  /** Undefined when the codex settings are invalid (already a failed check). */
  config: CodexConfig | undefined;
  env: NodeJS.ProcessEnv;
  cwd: string;
  timeoutMs: number;
}

function plainEnv(env: NodeJS.ProcessEnv): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env)) if (v !== undefined) out[k] = v;
  return out;
}

export async function codexChecks(input: CodexCheckInput): Promise<Check[]> {
  const { config, settings } = input;
  const binSetting = config?.bin ?? settings.get('CODEX_BIN') ?? 'codex';
  const bin = resolveBin(binSetting, input.env, input.cwd);
  const openaiCompatible = config?.provider.kind === 'openai-compatible';
  if (bin === undefined) {
    const checks = [fail('codex', `CODEX_BIN=${binSetting}: no such executable${binSetting.includes('/') ? '' : ' on PATH'}`, 'Install codex (npm install -g @openai/codex), or point CODEX_BIN at it.')];
    if (config && openaiCompatible) checks.push(loginCompatible(config));
    return checks;
  }

  // CODEX_HOME must exist for codex to start its login or sandbox; a run creates it the same way.
  let home: string | undefined;
  let homeError: string | undefined;
  if (config) {
    try {
      await mkdir(config.home, { recursive: true, mode: 0o700 });
      home = config.home;
    } catch (error) {
      homeError = `${config.home} cannot be created (${(error as NodeJS.ErrnoException).code ?? messageOf(error)})`;
    }
  }
  const scratch = await mkdtemp(join(tmpdir(), 'jgo-doctor-'));
  try {
    const env = config ? codexEnv(config, input.env).env : plainEnv(input.env);
    // A home codex can use for the sandbox probe even when the real one cannot be made.
    env.CODEX_HOME = home ?? (await mkdir(join(scratch, 'home'), { recursive: true }).then(() => join(scratch, 'home')));
    const run = (args: string[]) => runBounded(bin, args, { cwd: scratch, env, timeoutMs: input.timeoutMs });

    const [version, help, login, sandbox] = await Promise.all([
      run(['--version']),
      run(['exec', '--help']),
      loginCheck(input, config, bin, env, scratch, home, homeError),
      config ? sandboxCheck(config, bin, run) : Promise.resolve(undefined),
    ]);
    const checks: Check[] = [];
    if (version.code === 0) checks.push(ok('codex', `${firstLine(version.stdout) || 'codex'} (${bin})`));
    else {
      const said = version.timedOut ? `did not answer in ${seconds(input.timeoutMs)}` : firstLine(`${version.stderr}\n${version.stdout}`) || `exit ${version.code}`;
      checks.push(fail('codex', `${bin} --version failed: ${said}`, 'Reinstall codex (npm install -g @openai/codex), or point CODEX_BIN at a working one.'));
    }
    checks.push(flagsCheck(help, config?.provider.model !== undefined));
    if (login) checks.push(login);
    if (sandbox) checks.push(sandbox);
    return checks;
  } finally {
    await rm(scratch, { recursive: true, force: true });
  }
}

function flagsCheck(help: Output, needsModel: boolean): Check {
  if (help.code !== 0) {
    return fail('codex flags', `codex exec --help failed: ${help.timedOut ? 'no answer' : firstLine(help.stderr) || `exit ${help.code}`}`, `Install codex ${CODEX_PINNED} or newer (npm install -g @openai/codex@${CODEX_PINNED}).`);
  }
  const wanted = needsModel ? [...EXEC_FLAGS, MODEL_FLAG] : EXEC_FLAGS;
  const missing = wanted.filter((f) => !helpHas(help.stdout, f.flag) || (f.short !== undefined && !helpHas(help.stdout, f.short)));
  const names = wanted.map((f) => f.short ?? f.flag).join(' ');
  if (missing.length > 0) {
    return fail('codex flags', `codex exec lacks ${missing.map((f) => (f.short ? `${f.short}/${f.flag}` : f.flag)).join(', ')}`, `jgo is made for codex ${CODEX_PINNED}: install it (npm install -g @openai/codex@${CODEX_PINNED}), or point CODEX_BIN at it.`);
  }
  return ok('codex flags', `codex exec takes every flag jgo passes (${names})`);
}

function loginCompatible(config: CodexConfig): Check {
  const p = config.provider;
  return ok('codex login', p.kind === 'openai-compatible' ? `JGO_CODEX_PROVIDER=openai-compatible: codex uses the gate's endpoint with the key from ${p.apiKeyFrom}` : 'codex provider');
}

async function loginCheck(
  input: CodexCheckInput,
  config: CodexConfig | undefined,
  bin: string,
  env: Record<string, string>,
  cwd: string,
  home: string | undefined,
  homeError: string | undefined,
): Promise<Check | undefined> {
  if (!config) return undefined;
  const p = config.provider;
  if (p.kind === 'openai-compatible') return loginCompatible(config);
  if (p.apiKey !== undefined) return ok('codex login', `CODEX_API_KEY ${mask(p.apiKey)}: codex exec authenticates with it`);
  if (home === undefined) {
    return fail('codex login', `CODEX_HOME ${homeError ?? 'is not usable'}: codex cannot read its login`, 'Make JGO_CACHE_DIR writable, or set CODEX_HOME to a writable directory where codex is logged in.');
  }
  // As loginStatus (lib/codex/login.ts) asks, but past the WARNING lines codex prints first when
  // CODEX_HOME is under a temporary directory, so the answer shown is the one that matters.
  const status = await runBounded(bin, ['login', 'status'], { cwd, env, timeoutMs: input.timeoutMs });
  const said = status.timedOut
    ? `codex login status did not answer in ${seconds(input.timeoutMs)}`
    : firstLine(`${status.stderr}\n${status.stdout}`).replace(/\s+-\s+\S*\*\*\*\S*/g, '') || `exit ${status.code}`;
  if (status.code === 0) return ok('codex login', `${said} (CODEX_HOME=${shellQuote(home)})`);
  const error = loginRequired(config, said);
  return fail('codex login', error.message, error.hint ?? 'Log codex in with the same CODEX_HOME.');
}

async function sandboxCheck(config: CodexConfig, bin: string, run: (args: string[]) => Promise<Output>): Promise<Check> {
  const probe = await run(['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'true']);
  if (probe.code === 0) {
    return ok('codex sandbox', config.sandbox === 'danger-full-access'
      ? 'works here (JGO_CODEX_SANDBOX=danger-full-access does not use it for edits; workspace-write would work)'
      : `works here (JGO_CODEX_SANDBOX=${config.sandbox})`);
  }
  const said = (probe.timedOut ? 'no answer' : firstLine(probe.stderr) || `exit ${probe.code}`).replace(/[.;:,]+$/, '');
  const detail = `codex's sandbox does not work here: ${said}`;
  if (config.sandbox === 'danger-full-access') {
    return ok('codex sandbox', `${detail}; JGO_CODEX_SANDBOX=danger-full-access does not need it`);
  }
  return warn(
    'codex sandbox',
    `${detail}; with JGO_CODEX_SANDBOX=${config.sandbox} codex's commands will fail`,
    `Where the container is the sandbox, set JGO_CODEX_SANDBOX=danger-full-access; otherwise allow user namespaces (${shellQuote(bin)} sandbox -- true shows the cause).`,
  );
}
