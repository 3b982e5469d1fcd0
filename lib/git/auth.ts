/**
 * HTTPS credentials for git: GITHUB_TOKEN, else GH_TOKEN. The token is handed over in memory
 * (isomorphic-git's onAuth) or through the environment of a native git process, to a credential
 * helper that reads it when git asks. It is never put in a URL, a config file, the envelope,
 * a log or a process argument.
 */
import type { Settings } from '../config.js';

export interface GitCredentials {
  token: string;
  /** The variable that supplied it, for hints. */
  from: 'GITHUB_TOKEN' | 'GH_TOKEN';
}

export function gitCredentials(settings: Settings): GitCredentials | undefined {
  const found = settings.first(['GITHUB_TOKEN', 'GH_TOKEN']);
  return found ? { token: found.value, from: found.from as GitCredentials['from'] } : undefined;
}

/** The user name a token goes with over HTTPS (GitHub's convention; other hosts ignore it). */
export const TOKEN_USER = 'x-access-token';

/** The variable the native credential helper reads; set only in git's own environment. */
export const TOKEN_ENV = 'JGO_GIT_TOKEN';

/**
 * A credential helper as git config, given to git through GIT_CONFIG_* environment variables:
 * it prints the token from the environment at the moment git asks, so the token is neither an
 * argument (visible in ps) nor in a file. The empty helper first clears any helper the user's
 * configuration names, so no other helper stores the token.
 */
export const CREDENTIAL_HELPER = `!f() { test "$1" = get || exit 0; echo username=${TOKEN_USER}; echo "password=$${TOKEN_ENV}"; }; f`;

/** Config for every native git run, as key/value pairs for GIT_CONFIG_COUNT/KEY_n/VALUE_n. */
export function nativeConfig(credentials: GitCredentials | undefined): Array<[string, string]> {
  const config: Array<[string, string]> = [
    // Only http(s): a URL that slipped through validation still cannot reach ext::, file: or ssh.
    ['protocol.allow', 'never'],
    ['protocol.https.allow', 'always'],
    ['protocol.http.allow', 'always'],
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
