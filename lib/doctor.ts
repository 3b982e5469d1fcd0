/**
 * `jgo doctor`: is this machine ready for `jgo run`? Settings (secrets masked, with the variable
 * and source that supplied each), the cache, the model endpoint, codex (binary, flags, login,
 * sandbox), git (2.39 or newer), the git host, and with --repo, read and push permission on one
 * repository. No model tokens are spent; the independent checks run at once, each within a few
 * seconds.
 *
 * Each check is ok, warn (may still work) or fail (jgo run is certain to fail). Exit 0 when
 * nothing fails, 1 otherwise, 2 for a bad --repo. --json writes one object for scripts.
 */
import { join } from 'node:path';
import { EXIT, isJgoError, messageOf } from './errors.js';
import { ENVELOPE_VERSION } from './envelope.js';
import { DEFAULT_API_URL } from './github/api.js';
import { Redactor } from './redact.js';
import { secretNeedles } from './needles.js';
import { resolveRepoRef } from './repo-ref.js';
import { checkRepoAllowed } from './authority.js';
import type { CommandIO } from './run/commands.js';
import { bounded, CHECK_TIMEOUT_MS, fail, failFrom, seconds, type Check, type Status } from './doctor/check.js';
import { cacheCheck } from './doctor/cache.js';
import { codexChecks } from './doctor/codex.js';
import { gitBinaryCheck, gitHostCheck, repoPushCheck, repoReadCheck, type RepoCheckInput } from './doctor/git.js';
import { llmChecks } from './doctor/llm.js';
import { loadForDoctor, openAIChecks, otherChecks, serveCheck, tokenCheck } from './doctor/settings.js';

export type { Check, Status } from './doctor/check.js';
export { mask } from './doctor/check.js';

export interface DoctorOptions {
  json?: boolean;
  /** owner/repo or an https URL: check read and push permission on it. */
  repo?: string;
  /** Per check; default 5 s. */
  timeoutMs?: number;
}

export interface DoctorReport {
  ok: boolean;
  checks: Check[];
  duration_ms: number;
}

/** The hosts whose API is api.github.com. */
function onGitHub(url: string): boolean {
  try {
    return ['github.com', 'www.github.com'].includes(new URL(url).hostname.toLowerCase());
  } catch {
    return false;
  }
}

/** Runs every check; throws only for a --repo that is no repository reference (exit 2). */
export async function doctor(options: DoctorOptions, io: Pick<CommandIO, 'env' | 'cwd' | 'signal'>): Promise<DoctorReport> {
  const started = Date.now();
  const timeoutMs = options.timeoutMs ?? CHECK_TIMEOUT_MS;
  // A --repo that is no repository reference is a usage error, before anything is touched.
  if (options.repo !== undefined) resolveRepoRef(options.repo.trim(), 'https://github.com');
  const { settings, check: envFile } = loadForDoctor(io.env, io.cwd);
  const openai = openAIChecks(settings);
  const token = tokenCheck(settings);
  const cache = await cacheCheck(settings);
  const other = otherChecks(settings, () => join(cache.path ?? cache.intended, 'codex'));

  let repo: RepoCheckInput | undefined;
  // A repository a run would refuse (host_not_allowed, repo_not_allowed) is not asked at all.
  let refused: Check[] = [];
  if (options.repo !== undefined && other.gitBase !== undefined && other.authority !== undefined) {
    const target = resolveRepoRef(options.repo.trim(), other.gitBase);
    try {
      checkRepoAllowed(other.authority, target.url);
      const apiUrl = other.apiUrlNamed ? other.apiUrl : onGitHub(target.url) ? (other.apiUrl ?? DEFAULT_API_URL) : undefined;
      repo = { ref: target.ref, url: target.url, credentials: token.credentials, apiUrl, timeoutMs };
    } catch (error) {
      if (!isJgoError(error)) throw error;
      refused = [failFrom('repo read', error, error.hint ?? 'Name a repository jgo may touch.')];
    }
  }

  const within = (name: string, work: (signal: AbortSignal) => Promise<Check[]>): Promise<Check[]> =>
    bounded(
      (signal) =>
        work(io.signal ? AbortSignal.any([signal, io.signal]) : signal).catch((error: unknown) => [failFrom(name, error, 'Run again with JGO_DEBUG=1 for details.')]),
      timeoutMs + 1000,
      () => [fail(name, `did not finish in ${seconds(timeoutMs + 1000)}`, 'Check the network and the settings it depends on.')],
    );

  const { baseURL, apiKey, model } = openai.resolved;
  const codexModel = other.codex?.provider.kind === 'openai-compatible' ? other.codex.provider.model : undefined;
  const [llm, codex, gitBinary, host, read, push] = await Promise.all([
    baseURL && apiKey && openai.resolved.usable
      ? within('llm', (signal) => llmChecks({ baseURL, apiKey, model, codexModel, timeoutMs, signal }))
      : Promise.resolve([]),
    within('codex', () => codexChecks({ settings, config: other.codex, env: io.env, cwd: io.cwd, timeoutMs })),
    within('git', () => gitBinaryCheck(io.env).then((c) => [c])),
    other.gitBase !== undefined ? within('git host', () => gitHostCheck(other.gitBase ?? '', timeoutMs).then((c) => [c])) : Promise.resolve([]),
    repo ? within('repo read', (signal) => repoReadCheck(repo, signal).then((c) => [c])) : Promise.resolve([]),
    repo ? within('repo push', (signal) => repoPushCheck(repo, signal).then((c) => [c])) : Promise.resolve([]),
  ]);

  const checks = [envFile, ...openai.checks, token.check, ...other.checks, serveCheck(settings), cache.check, ...llm, ...codex, ...gitBinary, ...host, ...refused, ...read, ...push];
  // A safety net: no check prints a secret, and this makes sure none slips through.
  const redact = new Redactor(secretNeedles(settings.secrets()));
  const clean = checks.map((c): Check => (c.fix !== undefined && c.status !== 'ok' ? { ...c, detail: redact.text(c.detail), fix: redact.text(c.fix) } : { name: c.name, status: c.status, detail: redact.text(c.detail) }));
  return { ok: !clean.some((c) => c.status === 'fail'), checks: clean, duration_ms: Date.now() - started };
}

const LABEL: Record<Status, string> = { ok: 'ok  ', warn: 'warn', fail: 'fail' };

/** One aligned line per check, its fix indented below it, and a summary. */
export function renderDoctor(report: DoctorReport): string {
  const width = Math.max(...report.checks.map((c) => c.name.length));
  const indent = ' '.repeat(4 + 2 + width + 2);
  const lines: string[] = [];
  for (const c of report.checks) {
    lines.push(`${LABEL[c.status]}  ${c.name.padEnd(width)}  ${c.detail}`);
    if (c.fix && c.status !== 'ok') {
      const [first = '', ...rest] = c.fix.split('\n').map((l) => l.replace(/^\s{0,2}/, ''));
      lines.push(`${indent}fix: ${first}`);
      for (const line of rest) lines.push(`${indent}     ${line}`);
    }
  }
  const count = (s: Status) => report.checks.filter((c) => c.status === s).length;
  const failed = count('fail');
  const warned = count('warn');
  const summary = failed > 0
    ? `${failed} failed, ${warned} warning${warned === 1 ? '' : 's'}: jgo run will not work until the failures are fixed`
    : warned > 0
      ? `no failures, ${warned} warning${warned === 1 ? '' : 's'}: jgo run should work`
      : 'all checks passed: jgo run should work';
  lines.push('', `${summary} (${(report.duration_ms / 1000).toFixed(1)} s)`);
  return `${lines.join('\n')}\n`;
}

export async function doctorCommand(options: DoctorOptions, io: CommandIO): Promise<number> {
  let report: DoctorReport;
  try {
    report = await doctor(options, io);
  } catch (error) {
    const code = isJgoError(error) ? error.code : 'internal';
    const exitCode = isJgoError(error) ? (error.exitCode === EXIT.refused ? EXIT.usage : error.exitCode) : EXIT.failed;
    const hint = isJgoError(error) ? error.hint : undefined;
    io.stderr.write(`jgo doctor: ${messageOf(error)}\n${hint ? `  ${hint}\n` : ''}`);
    if (options.json) io.stdout.write(`${JSON.stringify({ jgo: ENVELOPE_VERSION, error: { stage: 'run', code: code === 'not_executable' ? 'bad_repo' : code, message: messageOf(error), exit_code: exitCode } })}\n`);
    return exitCode;
  }
  io.stdout.write(options.json ? `${JSON.stringify(report)}\n` : renderDoctor(report));
  return report.ok ? EXIT.ok : EXIT.failed;
}
