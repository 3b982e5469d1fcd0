/**
 * git: is the git binary there and new enough; does JGO_GIT_BASE_URL answer at all; and for
 * --repo, can the token read the repository (an authenticated ref listing, as jgo-sync starts)
 * and push to it (GitHub's GET /repos/{owner}/{repo} → permissions.push).
 */
import { credentialsFor, type GitCredentials } from '../git/auth.js';
import { runGit } from '../git/native.js';
import { remoteState } from '../git/remote.js';
import { repoAccess } from '../github/repo.js';
import { repoFromUrl } from '../github/api.js';
import { JgoError, messageOf } from '../errors.js';
import { fail, failFrom, networkCause, ok, seconds, warn, type Check } from './check.js';

/** The oldest git jgo runs with: every sync, working copy, commit and push is a git process. */
export const GIT_MINIMUM: readonly [number, number] = [2, 39];

/** `git --version`, and whether it is GIT_MINIMUM or newer. */
export async function gitBinaryCheck(env: NodeJS.ProcessEnv): Promise<Check> {
  const needed = `${GIT_MINIMUM.join('.')} or newer`;
  const fix = `Install git ${needed} (Debian and Ubuntu: apt-get install git; macOS: xcode-select --install or brew install git).`;
  let text: string;
  try {
    const result = await runGit(['--version'], { env });
    text = result.stdout.trim();
    if (result.code !== 0) return fail('git', `git --version failed: ${(result.stderr || text).trim()}`, fix);
  } catch (error) {
    return fail('git', `no git binary on PATH (${messageOf(error)})`, fix);
  }
  const match = /^git version (\d+)\.(\d+)(\.\d+)?/.exec(text);
  if (!match) return warn('git', `cannot tell the version from ${JSON.stringify(text)}; jgo needs ${needed}`, fix);
  const [major, minor] = [Number(match[1]), Number(match[2])];
  const version = `${major}.${minor}${match[3] ?? ''}`;
  if (major > GIT_MINIMUM[0] || (major === GIT_MINIMUM[0] && minor >= GIT_MINIMUM[1])) return ok('git', `git ${version} (jgo needs ${needed})`);
  return fail('git', `git ${version} is too old: jgo needs ${needed}`, fix);
}

/** Any HTTP answer means the host is there; only no answer at all fails. */
export async function gitHostCheck(base: string, timeoutMs: number): Promise<Check> {
  const started = Date.now();
  try {
    const response = await fetch(base, { method: 'HEAD', signal: AbortSignal.timeout(timeoutMs) });
    await response.body?.cancel();
    return ok('git host', `${base} answers (HTTP ${response.status}, ${Date.now() - started} ms)`);
  } catch (error) {
    const why = (error as { name?: string }).name === 'TimeoutError' ? `no answer in ${seconds(timeoutMs)}` : networkCause(error);
    return fail('git host', `cannot reach ${base}: ${why}`, 'Check the network (and any proxy) and JGO_GIT_BASE_URL.');
  }
}

export interface RepoCheckInput {
  /** What --repo named, for messages. */
  ref: string;
  url: string;
  /** The token and its origins; each check sends it only if `url` is one of them. */
  credentials: GitCredentials | undefined;
  /** The GitHub API to ask about push permission; undefined when the host is not GitHub. */
  apiUrl: string | undefined;
  timeoutMs: number;
}

export async function repoReadCheck(input: RepoCheckInput, signal: AbortSignal): Promise<Check> {
  try {
    // The same read as jgo-sync's, with the token only where a run would send it.
    const state = await remoteState(input.url, { credentials: input.credentials, signal });
    const branches = [...state.refs.keys()].filter((r) => r.startsWith('refs/heads/')).length;
    const sent = credentialsFor(input.credentials, input.url);
    const how = sent ? `with ${sent.from}` : input.credentials ? `without a token: ${new URL(input.url).host} does not get ${input.credentials.from}` : 'without a token';
    return ok('repo read', `${input.ref}: ${branches} branch${branches === 1 ? '' : 'es'}${state.defaultBranch ? `, default ${state.defaultBranch}` : ''} (${how})`);
  } catch (error) {
    if (error instanceof JgoError) {
      return fail('repo read', `${input.ref}: ${error.message}`, error.hint ?? 'Check the repository and GITHUB_TOKEN.');
    }
    return fail('repo read', `${input.ref}: ${messageOf(error)}`, 'Check the repository, GITHUB_TOKEN and the network.');
  }
}

export async function repoPushCheck(input: RepoCheckInput, signal: AbortSignal): Promise<Check> {
  if (input.credentials && !credentialsFor(input.credentials, input.url)) {
    return warn('repo push', `${input.ref}: jgo pushes to ${new URL(input.url).host} without ${input.credentials.from} (it goes only to ${input.credentials.origins.join(', ')})`, `If the host needs the token, list ${new URL(input.url).host} in JGO_GIT_TOKEN_HOSTS (it is then sent there over https, or http to loopback).`);
  }
  if (!input.credentials) {
    return fail('repo push', `${input.ref}: no GITHUB_TOKEN (nor GH_TOKEN), and pushing needs one`, 'Set GITHUB_TOKEN to a token with write access to the repository (classic: repo scope; fine-grained: "Contents: Read and write").');
  }
  if (input.apiUrl === undefined) {
    return warn('repo push', `${input.ref}: ${new URL(input.url).host} is not github.com, so push permission cannot be asked of the GitHub API`, 'For GitHub Enterprise, set JGO_GITHUB_API_URL=https://<host>/api/v3.');
  }
  try {
    const name = repoFromUrl(input.url);
    const access = await repoAccess(
      { apiUrl: input.apiUrl, token: input.credentials.token, tokenFrom: input.credentials.from, repoUrl: input.url },
      { signal, timeoutMs: input.timeoutMs },
    );
    if (access.push === true) return ok('repo push', `${access.fullName}: ${input.credentials.from} may push`);
    if (access.push === false) {
      return fail('repo push', `${access.fullName}: ${input.credentials.from} may not push (GitHub says permissions.push is false)`, `Use a token with write access to ${name.owner}/${name.repo} (classic: repo scope; fine-grained: "Contents: Read and write"), or fork it.`);
    }
    return warn('repo push', `${access.fullName}: GitHub did not say whether ${input.credentials.from} may push`, 'A push will tell; check the token\'s access to the repository.');
  } catch (error) {
    return failFrom('repo push', error, 'Check GITHUB_TOKEN and JGO_GITHUB_API_URL.');
  }
}
