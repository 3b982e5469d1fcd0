/**
 * Doctor's settings checks: the env file, each required setting with the variable and source
 * that supplied it (secrets masked), the token, and every other setting a run would refuse.
 * They read the settings the way the stages do, so what passes here passes there.
 */
import { join } from 'node:path';
import { authorityFrom, loadSettings, OPENAI_CHAINS, Settings, settingOf, type ResolvedSetting } from '../config.js';
import { readCodexConfig, type CodexConfig } from '../codex/args.js';
import { messageOf } from '../errors.js';
import { gitCredentials, type GitCredentials } from '../git/auth.js';
import { isLoopback, type Authority } from '../authority.js';
import { fail, failFrom, mask, ok, origin, warn, type Check } from './check.js';

export interface LoadedSettings {
  settings: Settings;
  check: Check;
}

/** The settings, with the env file's state as a check; an unreadable file still lets doctor go on. */
export function loadForDoctor(env: NodeJS.ProcessEnv, cwd: string): LoadedSettings {
  try {
    const settings = loadSettings({ env, cwd });
    if (settings.envFile) return { settings, check: ok('env file', settings.envFile) };
    const named = env.JGO_ENV_FILE !== undefined && env.JGO_ENV_FILE !== '';
    return {
      settings,
      check: named
        ? warn('env file', `JGO_ENV_FILE names ${settings.envFilePath}, which does not exist; only the environment is used`, 'Create the file, or fix JGO_ENV_FILE.')
        : ok('env file', `none at ${settings.envFilePath}; the environment alone is used`),
    };
  } catch (error) {
    const named = env.JGO_ENV_FILE;
    const path = named !== undefined && named !== '' ? named : join(cwd, '.env');
    return { settings: new Settings({ env, cwd }, {}, path, undefined), check: failFrom('env file', error, 'Fix the file, or point JGO_ENV_FILE at another.') };
  }
}

export interface OpenAIResolved {
  baseURL: ResolvedSetting | undefined;
  apiKey: ResolvedSetting | undefined;
  model: ResolvedSetting | undefined;
  /** The base URL is there and an http(s) URL. */
  usable: boolean;
}

function requiredFix(chain: readonly string[], settings: Settings): string {
  const [primary, ...fallbacks] = chain;
  return `Set ${primary} (or ${fallbacks.join(', or ')}) in the environment or in ${settings.envFilePath}.`;
}

/** OPENAI_BASE_URL, OPENAI_API_KEY, MODEL: each resolved on its own, through its fallbacks. */
export function openAIChecks(settings: Settings): { checks: Check[]; resolved: OpenAIResolved } {
  const baseURL = settings.first(OPENAI_CHAINS.baseURL);
  const apiKey = settings.first(OPENAI_CHAINS.apiKey);
  const model = settings.first(OPENAI_CHAINS.model);
  const checks: Check[] = [];
  let usable = false;
  if (!baseURL) checks.push(fail('OPENAI_BASE_URL', 'not set', requiredFix(OPENAI_CHAINS.baseURL, settings)));
  else if (!/^https?:\/\/\S+$/i.test(baseURL.value)) {
    checks.push(fail('OPENAI_BASE_URL', `${baseURL.from} is not an http(s) URL ${origin('OPENAI_BASE_URL', baseURL)}`, `Set ${baseURL.from} to e.g. https://api.openai.com/v1.`));
  } else {
    usable = true;
    checks.push(ok('OPENAI_BASE_URL', `${withoutCredentials(baseURL.value)} ${origin('OPENAI_BASE_URL', baseURL)}`));
  }
  checks.push(apiKey ? ok('OPENAI_API_KEY', `${mask(apiKey.value)} ${origin('OPENAI_API_KEY', apiKey)}`) : fail('OPENAI_API_KEY', 'not set', requiredFix(OPENAI_CHAINS.apiKey, settings)));
  checks.push(model ? ok('MODEL', `${model.value} ${origin('MODEL', model)}`) : fail('MODEL', 'not set', requiredFix(OPENAI_CHAINS.model, settings)));
  return { checks, resolved: { baseURL, apiKey, model, usable } };
}

/**
 * GITHUB_TOKEN, else GH_TOKEN: optional for public reads, needed to push and for pull requests.
 * The detail says where it goes (the token's origins); with host settings that cannot be read
 * (reported under git settings), no credentials are handed on, as a run would stop there.
 */
export function tokenCheck(settings: Settings): { check: Check; credentials: GitCredentials | undefined } {
  const found = settings.first(['GITHUB_TOKEN', 'GH_TOKEN']);
  if (!found) {
    let wantsPr = false;
    try {
      wantsPr = settingOf(settings, 'JGO_SHIP_PR');
    } catch {
      /* reported with the run settings */
    }
    if (wantsPr) {
      return {
        check: fail('GITHUB_TOKEN', 'not set (nor GH_TOKEN), and JGO_SHIP_PR=true opens pull requests, which needs one', 'Set GITHUB_TOKEN to a token that can push and open pull requests (classic: repo scope; fine-grained: "Contents" and "Pull requests: Read and write").'),
        credentials: undefined,
      };
    }
    return {
      check: warn('GITHUB_TOKEN', 'not set (nor GH_TOKEN): public repositories can be read, but not pushed to', 'Set GITHUB_TOKEN to a token that can push to the repositories jgo works on.'),
      credentials: undefined,
    };
  }
  let credentials: GitCredentials | undefined;
  try {
    credentials = gitCredentials(settings);
  } catch {
    credentials = undefined;
  }
  const where = credentials ? `, sent only to ${credentials.origins.join(', ')}` : '';
  return { check: ok('GITHUB_TOKEN', `${mask(found.value)} ${origin('GITHUB_TOKEN', found)}${where}`), credentials };
}

export interface OtherSettings {
  checks: Check[];
  codex: CodexConfig | undefined;
  gitBase: string | undefined;
  /** Undefined when the git host settings cannot be read (a failed git settings check). */
  authority: Authority | undefined;
  apiUrl: string | undefined;
  /** JGO_GITHUB_API_URL was set (rather than defaulted). */
  apiUrlNamed: boolean;
}

/** `A=1, B=2 (env file); unmarked: defaults`: where each came from, without repeating "(default)". */
function describe(settings: Settings, values: Array<[string, string | boolean]>): string {
  let defaults = 0;
  const parts = values.map(([name, value]) => {
    const found = settings.lookup(name);
    if (!found) defaults++;
    return `${name}=${String(value)}${found ? ` ${origin(name, found)}` : ''}`;
  });
  return `${parts.join(', ')}${defaults > 0 ? (defaults === values.length ? ' (defaults)' : '; unmarked: defaults') : ''}`;
}

/** What is wrong with each of `names`, read as jgo reads it: one message per bad setting. */
function problemsOf(settings: Settings, names: ReadonlyArray<Parameters<typeof settingOf>[1]>): string[] {
  const problems: string[] = [];
  for (const name of names) {
    try {
      settingOf(settings, name);
    } catch (error) {
      problems.push(messageOf(error));
    }
  }
  return problems;
}

/** The limits and switches of the gate and ship, checked as the stages check them. */
const RUN_SETTINGS = ['JGO_LLM_TIMEOUT_S', 'JGO_LLM_RETRIES', 'JGO_MAX_REQUEST_BYTES', 'JGO_SHIP_MODE', 'JGO_SHIP_PR', 'JGO_SHIP_PR_DRAFT'] as const;

/**
 * The settings a run reads and refuses when wrong (exit 2 there): codex's, git's, and the
 * limits and switches of the other stages, one check per group.
 */
export function otherChecks(settings: Settings, defaultCodexHome: () => string): OtherSettings {
  const checks: Check[] = [];
  let codex: CodexConfig | undefined;
  try {
    codex = readCodexConfig(settings, defaultCodexHome);
    const p = codex.provider;
    const values: Array<[string, string | boolean]> = [
      ['JGO_CODEX_PROVIDER', p.kind],
      ['JGO_CODEX_SANDBOX', codex.sandbox],
      ['JGO_CODEX_NETWORK', codex.network],
      ['JGO_CODEX_ENV', codex.envMode],
      ['CODEX_HOME', codex.home],
    ];
    if (settings.lookup('CODEX_MODEL')) values.push(['CODEX_MODEL', p.model ?? '']);
    checks.push(ok('codex settings', describe(settings, values)));
  } catch (error) {
    checks.push(failFrom('codex settings', error, 'Fix the JGO_CODEX_* settings (see .env.example).'));
  }

  let gitBase: string | undefined;
  let apiUrl: string | undefined;
  const problems: string[] = [];
  try {
    gitBase = settingOf(settings, 'JGO_GIT_BASE_URL');
  } catch (error) {
    problems.push(messageOf(error));
  }
  // The hosts that get the token and the hosts jgo may touch, as every stage reads them.
  let authority: Authority | undefined;
  if (gitBase !== undefined) {
    try {
      authority = authorityFrom(settings);
    } catch (error) {
      problems.push(messageOf(error));
    }
  }
  try {
    apiUrl = settingOf(settings, 'JGO_GITHUB_API_URL');
  } catch (error) {
    problems.push(messageOf(error));
  }
  if (problems.length > 0) checks.push(fail('git settings', problems.join('; '), 'Fix them, or unset them for the defaults (see .env.example).'));
  else {
    const hosts: Array<[string, string]> = ['JGO_GIT_TOKEN_HOSTS', 'JGO_GIT_ALLOWED_HOSTS', 'JGO_REPOS'].flatMap((name): Array<[string, string]> => {
      const value = settings.get(name);
      return value === undefined ? [] : [[name, value.trim()]];
    });
    checks.push(ok('git settings', describe(settings, [
      ['JGO_GIT_BASE_URL', gitBase ?? ''],
      ...hosts,
      ['JGO_GITHUB_API_URL', apiUrl ?? ''],
    ])));
  }

  const runProblems = problemsOf(settings, RUN_SETTINGS);
  if (runProblems.length > 0) checks.push(fail('run settings', runProblems.join('; '), 'Fix them, or unset them for the defaults (see .env.example).'));
  return { checks, codex, gitBase, authority, apiUrl, apiUrlNamed: settings.lookup('JGO_GITHUB_API_URL') !== undefined };
}

const SERVE_SETTINGS = ['JGO_SERVE_HOST', 'JGO_SERVE_PORT', 'JGO_SERVE_CONCURRENCY', 'JGO_SERVE_QUEUE_MAX', 'JGO_SERVE_API_KEYS', 'JGO_SERVE_GRACE_S', 'JGO_SERVE_REQUEST_TIMEOUT_S', 'JGO_SERVE_RESUME'] as const;

/**
 * `jgo serve`'s settings, read as serve reads them: a bad value, or a non-loopback address
 * without keys (which serve refuses), fails; the keys are counted, never shown.
 */
export function serveCheck(settings: Settings): Check {
  const problems = problemsOf(settings, SERVE_SETTINGS);
  if (problems.length > 0) return fail('serve settings', problems.join('; '), 'Fix them, or unset them for the defaults (docs/settings.md).');
  const host = settingOf(settings, 'JGO_SERVE_HOST');
  const keys = settingOf(settings, 'JGO_SERVE_API_KEYS').length;
  const where = `${host.includes(':') ? `[${host}]` : host}:${settingOf(settings, 'JGO_SERVE_PORT')}`;
  if (keys === 0 && !isLoopback(host)) {
    return fail('serve settings', `jgo serve would listen on ${where} without JGO_SERVE_API_KEYS, which it refuses`, 'Set JGO_SERVE_API_KEYS, or JGO_SERVE_HOST=127.0.0.1.');
  }
  return ok('serve settings', `${where}, ${keys > 0 ? `${keys} API key(s)` : 'no keys (loopback only)'}, ${settingOf(settings, 'JGO_SERVE_CONCURRENCY')} runs at once, ${settingOf(settings, 'JGO_SERVE_QUEUE_MAX')} may wait`);
}

/** A URL as people may see it: user and password left out. */
export function withoutCredentials(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url;
  }
}
