/**
 * HTTPS credentials for git: GITHUB_TOKEN, else GH_TOKEN, and the origins it may go to (the
 * token hosts of lib/authority.ts, over https or http to loopback). The token is handed over in
 * memory (an isomorphic-git header) or through the environment of a native git process, to a
 * credential helper that answers only when git asks for one of those origins. It is never put
 * in a URL, a config file, the envelope, a log or a process argument.
 */
import { configOf, type Settings } from '../config.js';
import { tokenOrigins } from '../authority.js';

export interface GitCredentials {
  token: string;
  /** The variable that supplied it, for hints. */
  from: 'GITHUB_TOKEN' | 'GH_TOKEN';
  /** Where the token may go, as `protocol://host[:port]` (tokenOrigins): nowhere else. */
  origins: string[];
}

/**
 * The token and where it may go. With `url`, only when the token may be sent there: undefined
 * for a URL on a host that does not get the token, or over plain http to another machine.
 * Bad JGO_GIT_* host settings are exit 2, as everywhere.
 */
export function gitCredentials(settings: Settings, url?: string): GitCredentials | undefined {
  const { token, tokenFrom, authority } = configOf(settings);
  if (token === undefined || tokenFrom === undefined) return undefined;
  const credentials: GitCredentials = { token, from: tokenFrom, origins: tokenOrigins(authority) };
  return url === undefined ? credentials : credentialsFor(credentials, url);
}

/** The credentials if `url` is one of their origins (and carries no credentials of its own), else undefined. */
export function credentialsFor(credentials: GitCredentials | undefined, url: string): GitCredentials | undefined {
  const parsed = URL.parse(url);
  if (!credentials || !parsed || parsed.username !== '' || parsed.password !== '') return undefined;
  return credentials.origins.includes(parsed.origin) ? credentials : undefined;
}

/** The user name a token goes with over HTTPS (GitHub's convention; other hosts ignore it). */
export const TOKEN_USER = 'x-access-token';

/** The variable the native credential helper reads the token from; set only in git's own environment. */
export const TOKEN_ENV = 'JGO_GIT_TOKEN';

/** The variable holding the origins the helper may answer for, space-separated. */
export const ORIGINS_ENV = 'JGO_GIT_TOKEN_ORIGINS';

/**
 * A credential helper as git config, given to git through GIT_CONFIG_* environment variables.
 * git writes `protocol=` and `host=` lines on its stdin (the host with its port when not the
 * default); the helper prints the token only when `protocol://host` is one of the origins in
 * JGO_GIT_TOKEN_ORIGINS, and nothing otherwise, so git asking for any other host (a redirect,
 * an insteadOf rewrite in the working copy's config, an agent's push elsewhere) gets nothing.
 * The token is read from the environment at the moment git asks: neither an argument (visible
 * in ps) nor in a file. POSIX sh: git runs a `!` helper with /bin/sh. `set -f` keeps an origin
 * such as `http://[::1]:8080` from being read as a glob.
 */
export const CREDENTIAL_HELPER =
  `!f() { test "$1" = get || exit 0; p=; h=; ` +
  `while IFS= read -r l; do case $l in protocol=*) p=\${l#protocol=} ;; host=*) h=\${l#host=} ;; esac; done; ` +
  `set -f; for o in $${ORIGINS_ENV}; do if test "$o" = "$p://$h"; then echo username=${TOKEN_USER}; echo "password=$${TOKEN_ENV}"; exit 0; fi; done; }; f`;

/**
 * Config for every native git run, as key/value pairs for GIT_CONFIG_COUNT/KEY_n/VALUE_n. These
 * come last in git's order (command scope), so the empty helper clears every helper that any
 * configuration named before, `credential.<url>.helper` in a working copy's .git/config included.
 */
export function nativeConfig(credentials: GitCredentials | undefined): Array<[string, string]> {
  const config: Array<[string, string]> = [
    // Only http(s): a URL that slipped through validation still cannot reach ext::, file: or ssh.
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ['protocol.http.allow', 'always'],
    // The working copy's .git is writable by the agent: nothing it plants there runs in a git that
    // holds the token (hooks, an fsmonitor command, a signing program).
    ['core.hooksPath', '/dev/null'],
    ['core.fsmonitor', 'false'],
    ['commit.gpgSign', 'false'],
    ['credential.helper', ''],
  ];
  if (credentials) config.push(['credential.helper', CREDENTIAL_HELPER]);
  return config;
}

export function configEnv(pairs: Array<[string, string]>): Record<string, string> {
  const env: Record<string, string> = { GIT_CONFIG_COUNT: String(pairs.length) };
  pairs.forEach(([key, value], i) => {
    env[`GIT_CONFIG_KEY_${i}`] = key;
    env[`GIT_CONFIG_VALUE_${i}`] = value;
  });
  return env;
}

/** What the credential helper reads: the token and its origins; nothing without credentials. */
export function credentialEnv(credentials: GitCredentials | undefined): Record<string, string> {
  return credentials ? { [TOKEN_ENV]: credentials.token, [ORIGINS_ENV]: credentials.origins.join(' ') } : {};
}

/**
 * The git part of an agent's environment (jgo-ship in agent mode): jgo's config, the helper and
 * what it reads, and no prompts. The agent's own `git push` then gets the token only from the
 * hosts that get it anyway; to any other host its git sends nothing.
 */
export function agentGitEnv(credentials: GitCredentials | undefined): Record<string, string> {
  return { ...configEnv(nativeConfig(credentials)), ...credentialEnv(credentials), GIT_TERMINAL_PROMPT: '0' };
}
