/**
 * What jgo may touch, and where its token may go (docs/security.md). Everything that decides
 * whether a repository URL is acceptable, and whether a request to a URL may carry GITHUB_TOKEN,
 * is here, so that jgo's own requests, native git's credential helper, the agent's git and the
 * GitHub API all follow one rule.
 *
 * A host is the host and port of a URL's origin: `127.0.0.1:8080` and `127.0.0.1:9090` are two
 * hosts; an entry without a port means the scheme's default port.
 */
import { JgoError, EXIT, UsageError } from './errors.js';

export interface HostEntry {
  hostname: string;
  /** Undefined: the default port of whatever scheme the URL uses. */
  port: string | undefined;
}

export interface Authority {
  /** JGO_GIT_BASE_URL, without trailing slashes: where `owner/repo` resolves. */
  baseUrl: string;
  /** The base URL's host and JGO_GIT_TOKEN_HOSTS: the hosts that get the token. */
  tokenHosts: HostEntry[];
  /** The token hosts and JGO_GIT_ALLOWED_HOSTS: the hosts jgo may read and push at all. */
  allowedHosts: HostEntry[];
  /** JGO_REPOS as patterns over `owner/repo` (or `host/owner/repo`); undefined: any repository. */
  repos: RegExp[] | undefined;
  /** The raw JGO_REPOS, for messages. */
  reposSetting: string | undefined;
}

export const DEFAULT_GIT_BASE_URL = 'https://github.com';

const DEFAULT_PORTS: Record<string, string> = { 'https:': '443', 'http:': '80' };

/** Validates JGO_GIT_BASE_URL: an http(s) URL without credentials; trailing slashes dropped. */
export function gitBaseUrl(raw: string | undefined): string {
  const value = (raw ?? DEFAULT_GIT_BASE_URL).trim().replace(/\/+$/, '');
  const url = URL.parse(value);
  if (!url || !/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new UsageError('invalid_setting', `JGO_GIT_BASE_URL=${JSON.stringify(raw)} is not an http(s) URL without credentials`, {
      hint: 'For example JGO_GIT_BASE_URL=https://github.com; tokens go in GITHUB_TOKEN.',
    });
  }
  return value;
}

/** `host[:port]` entries, comma or space separated; exit 2 naming the variable for a bad one. */
export function parseHostList(raw: string | undefined, variable: string): HostEntry[] {
  const entries: HostEntry[] = [];
  for (const item of (raw ?? '').split(/[\s,]+/).filter(Boolean)) {
    const url = /^[A-Za-z0-9.[\]:-]+$/.test(item) ? URL.parse(`http://${item}`) : null;
    if (!url || url.pathname !== '/' || url.hostname === '') {
      throw new UsageError('invalid_setting', `${variable}: ${JSON.stringify(item.slice(0, 100))} is not host or host:port`, {
        hint: `For example ${variable}=ghe.example.com,127.0.0.1:8080`,
      });
    }
    // URL drops :80 for http:, which here means "port 80", not "any default".
    const port = /:(\d+)$/.exec(item)?.[1];
    entries.push({ hostname: url.hostname, port: port === undefined ? undefined : String(Number(port)) });
  }
  return entries;
}

function hostOf(url: URL): HostEntry {
  return { hostname: url.hostname, port: url.port === '' ? undefined : url.port };
}

/** Whether a URL's host is the entry: same name, and the same port once defaults are filled in. */
export function hostMatches(url: URL, entry: HostEntry): boolean {
  if (url.hostname !== entry.hostname) return false;
  const defaultPort = DEFAULT_PORTS[url.protocol];
  return (url.port === '' ? defaultPort : url.port) === (entry.port ?? defaultPort);
}

export function isLoopback(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '[::1]' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/** A JGO_REPOS glob (`acme/*`, `tools/jgo`, `ghe.example.com/acme/*`) as a case-insensitive pattern. */
function repoPattern(glob: string): RegExp {
  const escaped = glob.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\?/g, '[^/]').replace(/\*/g, '[^/]*');
  return new RegExp(`^${escaped}$`, 'i');
}

export function parseRepos(raw: string | undefined): RegExp[] | undefined {
  const globs = (raw ?? '').split(/[\s,]+/).filter(Boolean);
  for (const glob of globs) {
    const parts = glob.split('/');
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => p === '' || p === '..' || !/^[A-Za-z0-9_.*?:[\]-]+$/.test(p))) {
      throw new UsageError('invalid_setting', `JGO_REPOS: ${JSON.stringify(glob.slice(0, 100))} is not owner/repo or host/owner/repo`, {
        hint: 'For example JGO_REPOS=acme/*,tools/jgo ("*" stands for any name).',
      });
    }
  }
  return globs.length === 0 ? undefined : globs.map(repoPattern);
}

/** The authority of checked settings (lib/config.ts parses them): the base URL's host gets the token too. */
export function makeAuthority(baseUrl: string, tokenHosts: HostEntry[], allowedHosts: HostEntry[], repos: { raw: string; patterns: RegExp[] } | undefined): Authority {
  const token = [hostOf(new URL(baseUrl)), ...tokenHosts];
  return { baseUrl, tokenHosts: token, allowedHosts: [...token, ...allowedHosts], repos: repos?.patterns, reposSetting: repos?.raw };
}

export const DEFAULT_API_URL = 'https://api.github.com';

/**
 * A GitHub API URL: an https URL without credentials, or http to this machine's loopback, since
 * GITHUB_TOKEN goes to it. Trailing slashes dropped; exit 2 naming `name` otherwise.
 */
export function checkApiUrl(raw: string, name = 'apiUrl'): string {
  const value = raw.trim().replace(/\/+$/, '');
  const url = URL.parse(value);
  if (!url || !/^https?:$/.test(url.protocol) || url.username !== '' || url.password !== '' || url.search !== '' || url.hash !== '') {
    throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is not an http(s) URL without credentials`, {
      hint: 'For example https://api.github.com, or https://ghe.example.com/api/v3 for GitHub Enterprise.',
    });
  }
  // The token would cross the network readable by anyone on the way.
  if (url.protocol === 'http:' && !isLoopback(url.hostname)) {
    throw new UsageError('invalid_setting', `${name}=${JSON.stringify(raw)} is plain http to another machine: GITHUB_TOKEN is sent only over https (or http to loopback)`, {
      hint: `Use https://${url.host}${url.pathname === '/' ? '' : url.pathname}.`,
    });
  }
  return value;
}

/**
 * Whether a request to `url` may carry the token: its host is a token host, and the token
 * cannot be read on the way (https, or http to this machine's own loopback).
 */
export function tokenAllowed(authority: Authority, url: string | URL): boolean {
  const parsed = typeof url === 'string' ? URL.parse(url) : url;
  if (!parsed || parsed.username !== '' || parsed.password !== '') return false;
  if (parsed.protocol !== 'https:' && !(parsed.protocol === 'http:' && isLoopback(parsed.hostname))) return false;
  return authority.tokenHosts.some((entry) => hostMatches(parsed, entry));
}

/**
 * The origins that get the token, as git's credential protocol names them (`protocol` and
 * `host`, the port only when it is not the default): `https://github.com`, `http://127.0.0.1:8080`.
 */
export function tokenOrigins(authority: Authority): string[] {
  const origins = new Set<string>();
  for (const entry of authority.tokenHosts) {
    for (const protocol of ['https:', 'http:']) {
      const url = URL.parse(`${protocol}//${entry.hostname}${entry.port === undefined ? '' : `:${entry.port}`}/`);
      if (url && tokenAllowed(authority, url)) origins.add(`${url.protocol}//${url.host}`);
    }
  }
  return [...origins];
}

/**
 * One spelling per repository: lower-case host without its default port (URL does both), no
 * trailing `/`, and one `.git`. The mirror, its lock and every comparison use this form.
 */
export function normalizeRepoUrl(raw: string): string {
  const url = new URL(raw.trim());
  const path = url.pathname.replace(/\/+$/, '').replace(/\.git$/i, '').replace(/\/+$/, '');
  return `${url.protocol}//${url.host}${path}.git`;
}

/** `owner/repo` of a normalized URL: its last two path segments, without `.git`. */
export function repoSlug(url: string): string {
  return new URL(url).pathname.replace(/\.git$/, '').split('/').filter(Boolean).slice(-2).join('/');
}

/**
 * Refuses a repository URL that jgo may not touch: a host that is not allowed (exit 3,
 * `host_not_allowed`), or one outside JGO_REPOS (exit 3, `repo_not_allowed`).
 */
export function checkRepoAllowed(authority: Authority, url: string): void {
  const parsed = new URL(url);
  if (!authority.allowedHosts.some((entry) => hostMatches(parsed, entry))) {
    throw new JgoError('host_not_allowed', `${parsed.host} is not an allowed git host (${url})`, EXIT.refused, {
      hint: `jgo works on ${new URL(authority.baseUrl).host}; list more hosts in JGO_GIT_ALLOWED_HOSTS (without the token) or JGO_GIT_TOKEN_HOSTS (with it).`,
    });
  }
  if (authority.repos === undefined) return;
  const slug = repoSlug(url);
  const candidates = [slug, `${parsed.host}/${slug}`];
  if (!authority.repos.some((pattern) => candidates.some((c) => pattern.test(c)))) {
    throw new JgoError('repo_not_allowed', `${slug} is not among the repositories jgo may touch (JGO_REPOS=${authority.reposSetting ?? ''})`, EXIT.refused, {
      hint: 'Name a repository that JGO_REPOS allows, or add it there.',
    });
  }
}
