/**
 * Running the native git binary: through cross-spawn, with an argument vector (never a shell),
 * an environment built here (credentials by helper, no prompts, no system or user config that
 * could redirect URLs), and failures mapped to the stable codes of the git layer.
 */
import { JgoError, EXIT } from '../errors.js';
import { configEnv, credentialEnv, nativeConfig, type GitCredentials } from './auth.js';
import { trace } from '../trace.js';

export interface NativeOptions {
  cwd?: string;
  credentials?: GitCredentials | undefined;
  /** Extra config pairs for this run (GIT_CONFIG_*), e.g. core settings. */
  config?: Array<[string, string]>;
  /** Pass git's stderr (progress) through to this stream as it comes. */
  stderr?: NodeJS.WritableStream | undefined;
  input?: string;
  signal?: AbortSignal;
  /** The environment to take PATH, HOME and locale from. */
  env?: NodeJS.ProcessEnv;
}

export interface NativeResult {
  stdout: string;
  stderr: string;
  code: number;
}

/** The environment native git runs with: what it needs, and nothing that changes its meaning. */
export function gitEnv(options: NativeOptions): NodeJS.ProcessEnv {
  const from = options.env ?? process.env;
  const env: NodeJS.ProcessEnv = {};
  for (const key of ['PATH', 'HOME', 'LANG', 'LC_ALL', 'TMPDIR', 'SSL_CERT_FILE', 'SSL_CERT_DIR', 'HTTPS_PROXY', 'HTTP_PROXY', 'NO_PROXY', 'https_proxy', 'http_proxy', 'no_proxy']) {
    const value = from[key];
    if (value !== undefined) env[key] = value;
  }
  Object.assign(env, {
    GIT_TERMINAL_PROMPT: '0',
    GIT_ASKPASS: '',
    SSH_ASKPASS: '',
    GCM_INTERACTIVE: 'never',
    GIT_CONFIG_NOSYSTEM: '1',
    // The user's ~/.gitconfig may hold url.insteadOf rewrites or helpers; jgo's git is its own.
    GIT_CONFIG_GLOBAL: '/dev/null',
    ...configEnv([...nativeConfig(options.credentials), ...(options.config ?? [])]),
    // Read by the credential helper, which answers only for these origins (auth.ts).
    ...credentialEnv(options.credentials),
  });
  return env;
}

export async function runGit(args: string[], options: NativeOptions = {}): Promise<NativeResult> {
  const result = await runGitBytes(args, options);
  return { stdout: result.stdout.toString('utf8'), stderr: result.stderr, code: result.code };
}

/**
 * runGit with stdout as bytes (a pack, say). With `maxStdout`, git is stopped once it has written
 * more than that, and `overflowed` says so.
 */
export async function runGitBytes(args: string[], options: NativeOptions & { maxStdout?: number } = {}): Promise<{ stdout: Buffer; stderr: string; code: number; overflowed: boolean }> {
  // Loaded at the first git command: it brings node:child_process, which a warm jgo-sync never needs.
  const { default: spawn } = await import('cross-spawn');
  const began = performance.now();
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, {
      cwd: options.cwd,
      env: gitEnv(options),
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let size = 0;
    let overflowed = false;
    child.stdout?.on('data', (d: Buffer) => {
      size += d.length;
      if (options.maxStdout !== undefined && size > options.maxStdout) {
        if (!overflowed) child.kill();
        overflowed = true;
      } else out.push(d);
    });
    child.stderr?.on('data', (d: Buffer) => {
      err.push(d);
      options.stderr?.write(d);
    });
    const onAbort = () => child.kill('SIGTERM');
    options.signal?.addEventListener('abort', onAbort, { once: true });
    child.on('error', (error) => {
      options.signal?.removeEventListener('abort', onAbort);
      reject(new JgoError('git_missing', `cannot run git: ${error.message}`, EXIT.failed, { hint: 'Install git 2.39 or newer: jgo does all its git work with it.' }));
    });
    child.on('close', (code) => {
      options.signal?.removeEventListener('abort', onAbort);
      trace(`git ${args[0] ?? ''}`, began);
      resolve({ stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString('utf8'), code: code ?? 1, overflowed });
    });
    child.stdin?.on('error', () => {});
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Classifies a failed network operation from git's own words. */
export function classifyGitFailure(stderr: string, url: string, credentials: GitCredentials | undefined): JgoError {
  const text = stderr.toLowerCase();
  const last = stderr.trim().split('\n').filter((l) => !/^(remote: )?(counting|compressing|receiving|resolving|enumerating)/i.test(l)).at(-1) ?? '';
  if (/authentication failed|could not read username|could not read password|terminal prompts disabled|returned error: 40[13]|http 40[13]|403 forbidden|401 unauthorized|permission to .* denied/.test(text)) {
    return authFailed(url, credentials);
  }
  if (/repository .*not found|returned error: 404|http 404|not found|does not appear to be a git repository/.test(text)) {
    return new JgoError('repo_not_found', `repository not found: ${url}`, EXIT.failed, {
      hint: credentials ? `Check the name, and that ${credentials.from} can read it.` : 'Check the name; a private repository needs GITHUB_TOKEN.',
    });
  }
  if (/could not resolve host|failed to connect|connection refused|couldn't connect|connection timed out|network is unreachable|operation timed out|empty reply from server|connection reset/.test(text)) {
    return new JgoError('network_error', `cannot reach ${new URL(url).host}: ${last.replace(/^fatal: /, '')}`, EXIT.failed, {
      hint: 'Check the network and JGO_GIT_BASE_URL.',
    });
  }
  return new JgoError('git_failed', `git failed: ${last.replace(/^fatal: /, '') || 'no message'}`, EXIT.failed);
}

export function authFailed(url: string, credentials: GitCredentials | undefined): JgoError {
  return new JgoError('auth_failed', `${new URL(url).host} refused the credentials for ${url}`, EXIT.failed, {
    hint: credentials
      ? `${credentials.from} was sent and refused: check that it is valid and can access this repository.`
      : `No token was sent: jgo sends GITHUB_TOKEN (or GH_TOKEN) only to the host of JGO_GIT_BASE_URL and the hosts in JGO_GIT_TOKEN_HOSTS, over https (or http to loopback). Set it for a private repository, or list ${new URL(url).host} in JGO_GIT_TOKEN_HOSTS.`,
  });
}
