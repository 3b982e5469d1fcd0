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

  /** A whole number setting, validated; exit 2 naming the variable when it is not one. */
  integer(name: string, fallback: number, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}): number {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const value = Number(raw.trim());
    if (!Number.isInteger(value) || value < min || value > max) {
      throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not a whole number from ${min} to ${max}`, {
        hint: `Set ${name} to a number, or unset it to use the default (${fallback}).`,
      });
    }
    return value;
  }

  boolean(name: string, fallback: boolean): boolean {
    const raw = this.get(name);
    if (raw === undefined) return fallback;
    const v = raw.trim().toLowerCase();
    if (['1', 'true', 'yes', 'on'].includes(v)) return true;
    if (['0', 'false', 'no', 'off'].includes(v)) return false;
    throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not true or false`, {
      hint: `Set ${name} to true or false.`,
    });
  }

  /** Every secret value in use, for scrubbing outputs and scanning files and diffs. */
  secrets(): string[] {
    const values = new Set<string>();
    for (const name of SECRET_VARIABLES) {
      const value = this.get(name);
      // Very short values would match everywhere; they are not useful secrets to scrub.
      if (value !== undefined && value.length >= 6) values.add(value);
    }
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
  const baseURL = settings.first(OPENAI_CHAINS.baseURL);
  const apiKey = settings.first(OPENAI_CHAINS.apiKey);
  const model = settings.first(OPENAI_CHAINS.model);
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
  const named = settings.lookup('JGO_CACHE_DIR');
  if (named) {
    const path = resolve(settings.cwd, named.value);
    if (!writableDir(path)) {
      throw new UsageError('cache_unwritable', `JGO_CACHE_DIR ${path} cannot be created or written`, {
        hint: 'Point JGO_CACHE_DIR at a writable directory (a volume in a container).',
      });
    }
    return { path };
  }
  if (writableDir(defaultDir)) return { path: defaultDir };
  const xdg = settings.get('XDG_CACHE_HOME');
  const base = xdg !== undefined && isAbsolute(xdg) ? xdg : join(settings.get('HOME') ?? '/tmp', '.cache');
  const path = join(base, 'jgo');
  if (!writableDir(path)) {
    throw new UsageError('cache_unwritable', `neither ${defaultDir} nor ${path} can be created or written`, {
      hint: 'Set JGO_CACHE_DIR to a writable directory.',
    });
  }
  return { path, fellBack: `${defaultDir} is not writable; using ${path} (set JGO_CACHE_DIR to choose)` };
}
