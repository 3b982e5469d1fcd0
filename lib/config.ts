/**
 * Settings: the process environment first, then the env file, then defaults (CONTRACT.md).
 *
 * The env file is parsed with dotenv but never injected into process.env: a Settings object
 * is an explicit, testable lookup, and stages hand children only what they decide to pass.
 */
import { readFileSync, mkdirSync, accessSync, statSync, constants as fsConstants } from 'node:fs';
import { dirname, join, resolve, isAbsolute } from 'node:path';
import { parse as parseDotenv } from 'dotenv';
import { UsageError } from './errors.js';
import * as z from './zod.js';
import { gitBaseUrl, parseHostList, parseRepos, checkApiUrl, makeAuthority, DEFAULT_API_URL, type Authority } from './authority.js';

export type SettingSource = 'env' | 'file' | 'default';

export interface ResolvedSetting {
  value: string;
  /** The variable that supplied the value (e.g. OPENWEBUI_API_KEY for OPENAI_API_KEY). */
  from: string;
  source: SettingSource;
}

/** Variables whose values are secrets: masked by doctor, scrubbed from every output. */
export const SECRET_VARIABLES = [
  'OPENAI_API_KEY',
  'OPENWEBUI_API_KEY',
  'LITELLM_API_KEY',
  'GITHUB_TOKEN',
  'GH_TOKEN',
  'CODEX_API_KEY',
  'JGO_SERVE_API_KEYS',
] as const;

export const DEFAULT_CACHE_DIR = '/jgo-cache';

export interface SettingsInput {
  env: NodeJS.ProcessEnv;
  cwd: string;
}

export class Settings {
  /** Absolute path of the env file that was read, or undefined when none was found. */
  readonly envFile: string | undefined;
  /** Where the env file was looked for. */
  readonly envFilePath: string;
  readonly cwd: string;
  private readonly env: NodeJS.ProcessEnv;
  private readonly file: Record<string, string>;

  constructor(input: SettingsInput, file: Record<string, string>, envFilePath: string, envFile: string | undefined) {
    this.env = input.env;
    this.cwd = input.cwd;
    this.file = file;
    this.envFilePath = envFilePath;
    this.envFile = envFile;
  }

  /** One variable: the process environment, then the env file. Empty counts as unset. */
  lookup(name: string): ResolvedSetting | undefined {
    const fromEnv = this.env[name];
    if (fromEnv !== undefined && fromEnv !== '') return { value: fromEnv, from: name, source: 'env' };
    const fromFile = this.file[name];
    if (fromFile !== undefined && fromFile !== '') return { value: fromFile, from: name, source: 'file' };
    return undefined;
  }

  get(name: string): string | undefined {
    return this.lookup(name)?.value;
  }

  /** The first of several variables that is set, in order (the fallback chains). */
  first(names: readonly string[]): ResolvedSetting | undefined {
    for (const name of names) {
      const found = this.lookup(name);
      if (found) return found;
    }
    return undefined;
  }

  /** Every secret value in use, for scrubbing outputs and scanning files and diffs. */
  secrets(): string[] {
    const values = new Set<string>();
    for (const name of SECRET_VARIABLES) {
      const value = this.get(name);
      // Very short values would match everywhere; they are not useful secrets to scrub.
      if (value !== undefined && value.length >= 6) values.add(value);
    }
    // A list of keys: each one is a secret of its own.
    for (const key of parseKeyList(this.get('JGO_SERVE_API_KEYS'))) if (key.length >= 6) values.add(key);
    return [...values];
  }
}

/** Reads the env file (JGO_ENV_FILE, else ./.env) once; a missing file is not an error. */
export function loadSettings(input: SettingsInput): Settings {
  const named = input.env.JGO_ENV_FILE;
  const path = named !== undefined && named !== '' ? resolve(input.cwd, named) : join(input.cwd, '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return new Settings(input, {}, path, undefined);
    throw new UsageError('env_file_unreadable', `cannot read the env file ${path}: ${code ?? String(error)}`, {
      hint: 'Fix its permissions, or point JGO_ENV_FILE at another file.',
    });
  }
  return new Settings(input, parseDotenv(text), path, path);
}

/** The OpenAI-compatible endpoint the gate talks to, each value resolved on its own. */
export const OPENAI_CHAINS = {
  baseURL: ['OPENAI_BASE_URL', 'OPENWEBUI_BASE_URL', 'LITELLM_BASE_URL'],
  apiKey: ['OPENAI_API_KEY', 'OPENWEBUI_API_KEY', 'LITELLM_API_KEY'],
  model: ['MODEL', 'OPENWEBUI_MODEL', 'LITELLM_MODEL'],
} as const;

export interface OpenAISettings {
  baseURL: ResolvedSetting;
  apiKey: ResolvedSetting;
  model: ResolvedSetting;
}

export function openAISettings(settings: Settings): OpenAISettings {
  const config = configOf(settings);
  const resolved = (key: 'OPENAI_BASE_URL' | 'OPENAI_API_KEY' | 'MODEL'): ResolvedSetting | undefined => {
    const value = config[key];
    const from = config.from[key] ?? key;
    return value === undefined ? undefined : { value, from, source: settings.lookup(from)?.source ?? 'env' };
  };
  const baseURL = resolved('OPENAI_BASE_URL');
  const apiKey = resolved('OPENAI_API_KEY');
  const model = resolved('MODEL');
  const missing: string[] = [];
  for (const [key, found] of [['baseURL', baseURL], ['apiKey', apiKey], ['model', model]] as const) {
    if (!found) {
      const [primary, ...fallbacks] = OPENAI_CHAINS[key];
      missing.push(`${primary} (or ${fallbacks.join(', or ')})`);
    }
  }
  if (!baseURL || !apiKey || !model) {
    throw new UsageError('missing_settings', `missing settings: ${missing.join('; ')}`, {
      hint: `Set them in the environment or in ${settings.envFilePath} (cp .env.example .env).`,
    });
  }
  if (!/^https?:\/\//i.test(baseURL.value)) {
    throw new UsageError('invalid_setting', `${baseURL.from} must be an http(s) URL, e.g. https://api.openai.com/v1`);
  }
  return { baseURL, apiKey, model };
}

export interface CacheDirResult {
  path: string;
  /** Set when the default was not usable and the per-user fallback was chosen. */
  fellBack?: string;
}

/**
 * mkdir -p, one level at a time. Node 20's own recursive mkdir never returns when a directory
 * answers ENOENT for a child while existing itself (`/proc/x`): it retries the parent forever,
 * at full CPU. Here each level is tried at most twice, so any path fails or succeeds at once.
 */
function makeDirs(path: string): void {
  try {
    mkdirSync(path);
    return;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return;
    if (code !== 'ENOENT' || dirname(path) === path) throw error;
  }
  makeDirs(dirname(path));
  mkdirSync(path);
}

function writableDir(path: string): boolean {
  try {
    makeDirs(path);
    if (!statSync(path).isDirectory()) return false;
    accessSync(path, fsConstants.W_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * JGO_CACHE_DIR from the environment or env file, else /jgo-cache; when that default cannot be
 * created or written (a laptop rather than the image), ${XDG_CACHE_HOME:-$HOME/.cache}/jgo.
 * A directory the user named that is not writable is their error: exit 2.
 */
export function resolveCacheDir(settings: Settings): CacheDirResult {
  return resolveCacheDirFrom(settings, DEFAULT_CACHE_DIR);
}

/** resolveCacheDir with the default made explicit, so the fallback can be tested as any user. */
export function resolveCacheDirFrom(settings: Settings, defaultDir: string): CacheDirResult {
  const config = configOf(settings);
  if (config.JGO_CACHE_DIR !== undefined) {
    const path = resolve(settings.cwd, config.JGO_CACHE_DIR);
    if (!writableDir(path)) {
      throw new UsageError('cache_unwritable', `JGO_CACHE_DIR ${path} cannot be created or written`, {
        hint: 'Point JGO_CACHE_DIR at a writable directory (a volume in a container).',
      });
    }
    return { path };
  }
  if (writableDir(defaultDir)) return { path: defaultDir };
  const xdg = config.XDG_CACHE_HOME;
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(config.HOME ?? '/tmp', '.cache');
  const path = join(base, 'jgo');
  if (!writableDir(path)) {
    throw new UsageError('cache_unwritable', `neither ${defaultDir} nor ${path} can be created or written`, {
      hint: 'Set JGO_CACHE_DIR to a writable directory.',
    });
  }
  return { path, fellBack: `${defaultDir} is not writable; using ${path} (set JGO_CACHE_DIR to choose)` };
}

// --- Every setting, parsed and validated once ---

/** Raw setting text: the environment's or the env file's value, undefined when unset or empty. */
const Raw = z.optional(z.string());

/** A setting parsed by `parse`, which throws exit 2 naming the variable for a value it refuses. */
function setting<T>(parse: (raw: string | undefined) => T) {
  return z.pipe(Raw, z.transform(parse));
}

function integer(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  return setting((raw) => {
    if (raw === undefined) return fallback;
    const value = Number(raw.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`, {
        hint: `Set ${name} to a number, or unset it to use the default (${fallback}).`,
      });
    }
    return value;
  });
}

function boolean(name: string, fallback: boolean) {
  return setting((raw) => {
    if (raw === undefined) return fallback;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not true or false`, { hint: `Set ${name} to true or false.` });
  });
}

function oneOf<const T extends string>(name: string, values: readonly T[], fallback: T) {
  return setting((given): T => {
    const raw = given?.trim().toLowerCase();
    if (raw === undefined) return fallback;
    const found = values.find((v) => v === raw);
    if (found === undefined) {
      throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not one of ${values.join(', ')}`, {
        hint: `Set ${name} to ${values.join(' or ')}, or unset it for the default (${fallback}).`,
      });
    }
    return found;
  });
}

/** `k1,k2 k3` -> [k1, k2, k3]: the keys of JGO_SERVE_API_KEYS, unchecked. */
export function parseKeyList(raw: string | undefined): string[] {
  return (raw ?? '').split(/[\s,]+/).filter((k) => k !== '');
}

/** JGO_SERVE_API_KEYS: each key long enough that it cannot be guessed. */
function serveKeys(raw: string | undefined): string[] {
  const keys = parseKeyList(raw);
  if (keys.some((k) => k.length < 16)) {
    throw new UsageError('invalid_setting', 'JGO_SERVE_API_KEYS holds a key shorter than 16 characters', {
      hint: 'Use long random keys, comma-separated (openssl rand -hex 24 makes one).',
    });
  }
  return keys;
}

/** `A,B C` -> [A, B, C]; each must be a variable name. */
export function parseNameList(name: string, raw: string | undefined): string[] {
  if (raw === undefined) return [];
  const names = raw.split(/[\s,]+/).filter((n) => n !== '');
  for (const n of names) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(n)) {
      throw new UsageError('invalid_setting', `${name}: ${JSON.stringify(n)} is not a variable name`, {
        hint: `List variable names separated by commas or spaces, e.g. ${name}=GH_TOKEN,AWS_PROFILE`,
      });
    }
  }
  return names;
}

export const SANDBOXES = ['workspace-write', 'read-only', 'danger-full-access'] as const;
export const PROVIDERS = ['codex', 'openai-compatible'] as const;
export const ENV_MODES = ['inherit', 'minimal'] as const;
export const SHIP_MODES = ['plan', 'agent'] as const;
export const DEFAULT_CODEX_TIMEOUT_S = 3600;
export const DEFAULT_CODEX_IDLE_S = 600;
export const DEFAULT_MAX_REQUEST_BYTES = 64 * 1024;
const WEEK_S = 7 * 24 * 3600;

/**
 * Every variable jgo reads (docs/settings.md lists the same ones; a test holds the two together),
 * keyed by its name so that a reader is found by grepping for the variable. The three required
 * model settings are optional here: only the stages that talk to a model require them
 * (requireOpenAI). `OPENAI_*` and `MODEL` hold the first of their fallback chains that is set.
 */
export const SETTINGS = z.object({
  OPENAI_BASE_URL: Raw,
  OPENAI_API_KEY: Raw,
  MODEL: Raw,
  JGO_LLM_TIMEOUT_S: integer('JGO_LLM_TIMEOUT_S', 60, { min: 1, max: 3600 }),
  JGO_LLM_RETRIES: integer('JGO_LLM_RETRIES', 2, { min: 0, max: 10 }),
  JGO_MAX_REQUEST_BYTES: integer('JGO_MAX_REQUEST_BYTES', DEFAULT_MAX_REQUEST_BYTES, { min: 1 }),

  JGO_GIT_BASE_URL: setting(gitBaseUrl),
  GITHUB_TOKEN: Raw,
  GH_TOKEN: Raw,
  JGO_GIT_TOKEN_HOSTS: setting((raw) => parseHostList(raw, 'JGO_GIT_TOKEN_HOSTS')),
  JGO_GIT_ALLOWED_HOSTS: setting((raw) => parseHostList(raw, 'JGO_GIT_ALLOWED_HOSTS')),
  JGO_REPOS: setting((raw) => (raw === undefined ? undefined : { raw, patterns: parseRepos(raw) ?? [] })),
  JGO_GITHUB_API_URL: setting((raw) => checkApiUrl(raw ?? DEFAULT_API_URL, 'JGO_GITHUB_API_URL')),

  JGO_CACHE_DIR: Raw,
  JGO_POOL_SIZE: integer('JGO_POOL_SIZE', 2, { min: 0, max: 64 }),
  XDG_CACHE_HOME: Raw,
  HOME: Raw,

  CODEX_BIN: setting((raw) => raw ?? 'codex'),
  CODEX_HOME: Raw,
  CODEX_API_KEY: Raw,
  CODEX_MODEL: setting((raw) => raw?.trim() || undefined),
  JGO_CODEX_PROVIDER: oneOf('JGO_CODEX_PROVIDER', PROVIDERS, 'codex'),
  JGO_CODEX_SANDBOX: oneOf('JGO_CODEX_SANDBOX', SANDBOXES, 'workspace-write'),
  JGO_CODEX_NETWORK: boolean('JGO_CODEX_NETWORK', true),
  JGO_CODEX_ENV: oneOf('JGO_CODEX_ENV', ENV_MODES, 'inherit'),
  JGO_CODEX_ENV_PASS: setting((raw) => parseNameList('JGO_CODEX_ENV_PASS', raw)),
  JGO_CODEX_TIMEOUT_S: integer('JGO_CODEX_TIMEOUT_S', DEFAULT_CODEX_TIMEOUT_S, { min: 1, max: WEEK_S }),
  JGO_CODEX_IDLE_S: integer('JGO_CODEX_IDLE_S', DEFAULT_CODEX_IDLE_S, { min: 1, max: WEEK_S }),

  JGO_SHIP_MODE: oneOf('JGO_SHIP_MODE', SHIP_MODES, 'plan'),
  JGO_SHIP_PR: boolean('JGO_SHIP_PR', false),
  JGO_SHIP_PR_DRAFT: boolean('JGO_SHIP_PR_DRAFT', false),
  JGO_GIT_AUTHOR_NAME: setting((raw) => raw ?? 'jgo'),
  JGO_GIT_AUTHOR_EMAIL: setting((raw) => raw ?? 'jgo@users.noreply.github.com'),

  JGO_SERVE_HOST: setting((raw) => raw?.trim() || '127.0.0.1'),
  JGO_SERVE_PORT: integer('JGO_SERVE_PORT', 8080, { min: 0, max: 65535 }),
  JGO_SERVE_CONCURRENCY: integer('JGO_SERVE_CONCURRENCY', 2, { min: 1, max: 64 }),
  JGO_SERVE_QUEUE_MAX: integer('JGO_SERVE_QUEUE_MAX', 50, { min: 0, max: 10_000 }),
  JGO_SERVE_API_KEYS: setting(serveKeys),
  JGO_SERVE_GRACE_S: integer('JGO_SERVE_GRACE_S', 25, { min: 0, max: 3600 }),
  JGO_SERVE_REQUEST_TIMEOUT_S: integer('JGO_SERVE_REQUEST_TIMEOUT_S', 30, { min: 1, max: 3600 }),
  JGO_SERVE_RESUME: boolean('JGO_SERVE_RESUME', false),

  JGO_STAGE_GATE: Raw,
  JGO_STAGE_SYNC: Raw,
  JGO_STAGE_WORKTREE: Raw,
  JGO_STAGE_CODEX: Raw,
  JGO_STAGE_SHIP: Raw,
});

/** The fallback chain each chained setting is read through. */
const CHAINS: Record<string, readonly string[]> = {
  OPENAI_BASE_URL: OPENAI_CHAINS.baseURL,
  OPENAI_API_KEY: OPENAI_CHAINS.apiKey,
  MODEL: OPENAI_CHAINS.model,
};

export type Config = z.infer<typeof SETTINGS> & {
  /** For the chained settings, the variable that supplied the value (OPENWEBUI_API_KEY, …). */
  readonly from: Readonly<Record<string, string>>;
  /** Every secret value in use, for scrubbing outputs and scanning files and diffs. */
  readonly secrets: readonly string[];
  /** The token for git and the GitHub API: GITHUB_TOKEN, else GH_TOKEN. */
  readonly token: string | undefined;
  /** The variable the token came from, for hints. */
  readonly tokenFrom: 'GITHUB_TOKEN' | 'GH_TOKEN' | undefined;
  /** The values of the JGO_CODEX_ENV_PASS variables that are set. */
  readonly passed: Readonly<Record<string, string>>;
  /** What jgo may touch and where the token may go (lib/authority.ts). */
  readonly authority: Authority;
  /** The directory relative settings (CODEX_HOME, JGO_CACHE_DIR) are resolved against. */
  readonly cwd: string;
  /** Where the env file was looked for, for hints. */
  readonly envFilePath: string;
};

/** Parses and validates every setting; the first bad one is exit 2 naming the variable. */
export function parseConfig(settings: Settings): Config {
  const raw: Record<string, string | undefined> = {};
  const from: Record<string, string> = {};
  for (const name of Object.keys(SETTINGS.shape)) {
    const found = settings.first(CHAINS[name] ?? [name]);
    raw[name] = found?.value;
    if (found && CHAINS[name]) from[name] = found.from;
  }
  const parsed = SETTINGS.parse(raw);
  const passed: Record<string, string> = {};
  for (const name of parsed.JGO_CODEX_ENV_PASS) {
    const value = settings.get(name);
    if (value !== undefined) passed[name] = value;
  }
  return {
    ...parsed,
    from,
    secrets: settings.secrets(),
    token: parsed.GITHUB_TOKEN ?? parsed.GH_TOKEN,
    tokenFrom: parsed.GITHUB_TOKEN !== undefined ? 'GITHUB_TOKEN' : parsed.GH_TOKEN !== undefined ? 'GH_TOKEN' : undefined,
    passed,
    authority: makeAuthority(parsed.JGO_GIT_BASE_URL, parsed.JGO_GIT_TOKEN_HOSTS, parsed.JGO_GIT_ALLOWED_HOSTS, parsed.JGO_REPOS),
    cwd: settings.cwd,
    envFilePath: settings.envFilePath,
  };
}

const configs = new WeakMap<Settings, Config>();

/** The settings' Config, parsed the first time it is asked for: once per process in practice. */
export function configOf(settings: Settings): Config {
  let config = configs.get(settings);
  if (config === undefined) {
    config = parseConfig(settings);
    configs.set(settings, config);
  }
  return config;
}

type SettingName = keyof typeof SETTINGS.shape;

/**
 * One setting, read and checked exactly as parseConfig reads it, whatever the others hold: the
 * doctor reports each group of settings on its own. A bad value is exit 2 naming the variable.
 */
export function settingOf<K extends SettingName>(settings: Settings, name: K): z.infer<(typeof SETTINGS.shape)[K]> {
  const found = settings.first(CHAINS[name] ?? [name]);
  return SETTINGS.shape[name].parse(found?.value) as z.infer<(typeof SETTINGS.shape)[K]>;
}

/** The authority of a set of settings, from its four settings alone; bad values are exit 2 naming the variable. */
export function authorityFrom(settings: Settings): Authority {
  return makeAuthority(settingOf(settings, 'JGO_GIT_BASE_URL'), settingOf(settings, 'JGO_GIT_TOKEN_HOSTS'), settingOf(settings, 'JGO_GIT_ALLOWED_HOSTS'), settingOf(settings, 'JGO_REPOS'));
}

/** authorityFrom, once per set of settings: every stage and the git layer ask it often. */
export function authorityOf(settings: Settings): Authority {
  return configOf(settings).authority;
}
