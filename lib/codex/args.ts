/**
 * How jgo runs `codex exec`: its settings read and checked once, then turned into an argument
 * vector and an environment. Pure functions, so the argv can be tested without spawning codex.
 *
 * Secrets never go into the argv: the provider's key reaches codex as an environment variable
 * that the argv only names (`env_key`), and codex keeps it from the commands its agent runs.
 */
import { existsSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { OPENAI_CHAINS, configOf, parseNameList, SANDBOXES, PROVIDERS, ENV_MODES, DEFAULT_CODEX_TIMEOUT_S, DEFAULT_CODEX_IDLE_S, type Config, type Settings } from '../config.js';
import { UsageError } from '../errors.js';
import { findOnPath } from '../proc.js';

export { SANDBOXES, PROVIDERS, ENV_MODES, parseNameList, DEFAULT_CODEX_TIMEOUT_S as DEFAULT_TIMEOUT_S, DEFAULT_CODEX_IDLE_S as DEFAULT_IDLE_S };
export type Sandbox = (typeof SANDBOXES)[number];

export type ProviderKind = (typeof PROVIDERS)[number];

export type EnvMode = (typeof ENV_MODES)[number];

/** The variable the provider's key is handed to codex in (openai-compatible mode). */
export const PROVIDER_KEY_ENV = 'JGO_CODEX_API_KEY';
/** The provider id in codex's configuration (`-c model_providers.jgo.*`). */
export const PROVIDER_ID = 'jgo';


export type Provider =
  | {
      kind: 'codex';
      /** CODEX_MODEL, else whatever codex's own configuration says. */
      model: string | undefined;
      /** CODEX_API_KEY from the settings: codex exec reads it, so no login is needed. */
      apiKey: string | undefined;
    }
  | {
      kind: 'openai-compatible';
      baseURL: string;
      model: string;
      apiKey: string;
      /** The variable the key came from (OPENAI_API_KEY, OPENWEBUI_API_KEY, …), for messages. */
      apiKeyFrom: string;
    };

export interface CodexConfig {
  /** CODEX_BIN as set: a name looked up on PATH, or a path. */
  bin: string;
  /** CODEX_HOME, absolute. */
  home: string;
  sandbox: Sandbox;
  network: boolean;
  provider: Provider;
  envMode: EnvMode;
  /** JGO_CODEX_ENV_PASS: more variables codex gets in minimal mode. */
  envPass: string[];
  timeoutMs: number;
  idleMs: number;
  /** The values of JGO_CODEX_ENV_PASS's names, from the environment or the env file. */
  passed: Readonly<Record<string, string>>;
  /** Every secret the settings hold: scrubbed from codex's output, looked for on disk. */
  secrets: readonly string[];
}

function provider(config: Config): Provider {
  const kind = config.JGO_CODEX_PROVIDER;
  const model = config.CODEX_MODEL;
  if (kind === 'codex') return { kind, model, apiKey: config.CODEX_API_KEY };
  const resolved = (key: 'OPENAI_BASE_URL' | 'OPENAI_API_KEY') => {
    const value = config[key];
    return value === undefined ? undefined : { value, from: config.from[key] ?? key };
  };
  const baseURL = resolved('OPENAI_BASE_URL');
  const apiKey = resolved('OPENAI_API_KEY');
  const modelSetting = model ?? config.MODEL;
  const missing: string[] = [];
  if (!baseURL) missing.push(`OPENAI_BASE_URL (or ${OPENAI_CHAINS.baseURL.slice(1).join(', or ')})`);
  if (!apiKey) missing.push(`OPENAI_API_KEY (or ${OPENAI_CHAINS.apiKey.slice(1).join(', or ')})`);
  if (!modelSetting) missing.push(`CODEX_MODEL (or ${OPENAI_CHAINS.model.join(', or ')})`);
  if (!baseURL || !apiKey || !modelSetting) {
    throw new UsageError('missing_settings', `JGO_CODEX_PROVIDER=openai-compatible needs: ${missing.join('; ')}`, {
      hint: `Set them in the environment or in ${config.envFilePath}, or use JGO_CODEX_PROVIDER=codex.`,
    });
  }
  if (!/^https?:\/\/[^\s]+$/i.test(baseURL.value)) {
    throw new UsageError('invalid_setting', `${baseURL.from} must be an http(s) URL, e.g. http://litellm:4000/v1`);
  }
  return { kind, baseURL: baseURL.value, model: modelSetting, apiKey: apiKey.value, apiKeyFrom: apiKey.from };
}

/**
 * Reads and checks every codex setting (exit 2 naming the variable when one is wrong).
 * `defaultHome` is asked for only when CODEX_HOME is not set ($JGO_CACHE_DIR/codex).
 */
export function readCodexConfig(settings: Settings, defaultHome: () => string): CodexConfig {
  const config = configOf(settings);
  return {
    bin: config.CODEX_BIN,
    home: config.CODEX_HOME !== undefined ? resolve(config.cwd, config.CODEX_HOME) : defaultHome(),
    sandbox: config.JGO_CODEX_SANDBOX,
    network: config.JGO_CODEX_NETWORK,
    provider: provider(config),
    envMode: config.JGO_CODEX_ENV,
    envPass: config.JGO_CODEX_ENV_PASS,
    timeoutMs: config.JGO_CODEX_TIMEOUT_S * 1000,
    idleMs: config.JGO_CODEX_IDLE_S * 1000,
    passed: config.passed,
    secrets: config.secrets,
  };
}

/** A TOML basic string: the value of `-c key=value` is parsed as TOML. JSON's escapes are TOML's. */
export function tomlString(value: string): string {
  return JSON.stringify(value);
}

export interface ExecArgsOptions {
  config: CodexConfig;
  sandbox: Sandbox;
  /** Where codex writes its last message (`-o`). */
  lastMessageFile: string;
  /** Outside a git repository codex refuses to run without it. */
  skipGitRepoCheck: boolean;
  /** A JSON Schema file the final answer must follow (`--output-schema`). */
  outputSchema?: string | undefined;
  /** A thread of codex's to continue (`exec resume <id>`), its session under CODEX_HOME. */
  resume?: string | undefined;
}

/**
 * The argv after CODEX_BIN: `exec …`, or `exec resume … <id> -`, with the prompt read from
 * stdin. `exec resume` has no --sandbox: the sandbox is set as configuration, which both take.
 */
export function execArgs(options: ExecArgsOptions): string[] {
  const { config, sandbox } = options;
  const args = options.resume !== undefined ? ['exec', 'resume', '--json'] : ['exec', '--json'];
  if (options.skipGitRepoCheck) args.push('--skip-git-repo-check');
  if (options.resume !== undefined) args.push('-c', `sandbox_mode=${tomlString(sandbox)}`, '-o', options.lastMessageFile);
  else args.push('-s', sandbox, '-o', options.lastMessageFile);
  const p = config.provider;
  const model = p.model;
  if (model !== undefined) args.push('-m', model);
  args.push(
    '-c', 'approval_policy="never"',
    '-c', `sandbox_workspace_write.network_access=${config.network}`,
    // The shell snapshot saves the environment (tokens included) under CODEX_HOME.
    '--disable', 'shell_snapshot',
    // Plugin sync and analytics reach github.com and chatgpt.com; unbounded retries never end.
    '-c', 'features.plugins=false',
    '-c', 'features.unbounded_connection_retries=false',
    '-c', 'analytics.enabled=false',
    // codex needs its provider key; the commands its agent runs do not.
    '-c', `shell_environment_policy.exclude=[${tomlString(PROVIDER_KEY_ENV)},${tomlString('CODEX_API_KEY')}]`,
  );
  if (p.kind === 'openai-compatible') {
    args.push(
      '-c', `model_provider=${tomlString(PROVIDER_ID)}`,
      '-c', `model_providers.${PROVIDER_ID}.name=${tomlString('jgo (OpenAI-compatible)')}`,
      '-c', `model_providers.${PROVIDER_ID}.base_url=${tomlString(p.baseURL)}`,
      '-c', `model_providers.${PROVIDER_ID}.wire_api="responses"`,
      '-c', `model_providers.${PROVIDER_ID}.env_key=${tomlString(PROVIDER_KEY_ENV)}`,
    );
  }
  if (options.outputSchema !== undefined) args.push('--output-schema', options.outputSchema);
  if (options.resume !== undefined) args.push(options.resume, '-');
  return args;
}

/** What codex itself needs from the environment in minimal mode (plus CODEX_* and JGO_CODEX_ENV_PASS). */
export const MINIMAL_ENV = [
  'PATH', 'HOME', 'USER', 'LOGNAME', 'SHELL', 'TMPDIR', 'TZ', 'TERM',
  'LANG', 'LANGUAGE',
  // TLS and proxies: how codex reaches its provider.
  'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'ALL_PROXY', 'https_proxy', 'http_proxy', 'no_proxy', 'all_proxy',
] as const;

/** Names whose values are treated as secrets when codex is handed them (scrubbed, scanned for). */
export const SECRET_NAME = /KEY|TOKEN|SECRET|PASSWORD|PASSWD|CREDENTIAL/i;

export interface CodexEnv {
  env: Record<string, string>;
  /** Every secret value codex was given: never printed, and must not land on disk. */
  secrets: string[];
}

/**
 * The environment codex runs with. `inherit`: jgo's own environment, so the agent can use gh, aws
 * or kubectl. `minimal`: only what codex needs (MINIMAL_ENV, LC_*, CODEX_*, its provider key) plus
 * JGO_CODEX_ENV_PASS, whose values may also come from the env file. `extra` is what the caller
 * adds in either mode (jgo-ship: git's credential helper for an agent that pushes).
 */
export function codexEnv(config: CodexConfig, base: NodeJS.ProcessEnv, extra: Record<string, string> = {}): CodexEnv {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(base)) {
    if (value === undefined) continue;
    const wanted =
      config.envMode === 'inherit' ||
      (MINIMAL_ENV as readonly string[]).includes(name) ||
      name.startsWith('LC_') ||
      name.startsWith('CODEX_');
    if (wanted) env[name] = value;
  }
  for (const name of config.envPass) {
    const value = config.passed[name];
    if (value !== undefined) env[name] = value;
  }
  Object.assign(env, extra);
  env.CODEX_HOME = config.home;
  // Never ours to pass on: the key slot is filled below, or must not exist.
  delete env[PROVIDER_KEY_ENV];
  const p = config.provider;
  if (p.kind === 'openai-compatible') env[PROVIDER_KEY_ENV] = p.apiKey;
  else if (p.apiKey !== undefined) env.CODEX_API_KEY = p.apiKey;

  const secrets = new Set(config.secrets);
  for (const [name, value] of Object.entries(env)) {
    if (SECRET_NAME.test(name) && looksSecret(value)) secrets.add(value);
  }
  return { env, secrets: [...secrets] };
}

/** Long enough to be a secret and not a path, a number or a flag. */
function looksSecret(value: string): boolean {
  return value.length >= 8 && !value.startsWith('/') && !/^(true|false|yes|no|on|off|\d+)$/i.test(value);
}

/** CODEX_BIN as an absolute path: a path relative to `cwd`, or a name found on PATH. */
export function resolveBin(bin: string, env: NodeJS.ProcessEnv, cwd: string): string | undefined {
  if (!bin.includes('/')) return findOnPath(bin, env);
  const path = isAbsolute(bin) ? bin : resolve(cwd, bin);
  return existsSync(path) ? path : undefined;
}

/** Quotes a word for a shell command shown to people (hints): only when it needs it. */
export function shellQuote(word: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}
