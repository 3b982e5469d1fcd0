/**
 * Repository references: `owner/repo` or an http(s) URL, and nothing else. Everything here runs
 * before any git does, so a hostile request ("file:///etc", "ext::sh -c …", "--upload-pack=…",
 * "../../x") never reaches a git argument or a path.
 */
import { JgoError, EXIT, UsageError } from './errors.js';
import { checkRepoAllowed, normalizeRepoUrl, type Authority } from './authority.js';

export type RepoTarget = {
  /** The reference as the user or model gave it (normalised: no trailing slash). */
  ref: string;
  /** Where git fetches from and pushes to. */
  url: string;
};

const OWNER = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,99})$/;
const NAME = /^[A-Za-z0-9_](?:[A-Za-z0-9_.-]{0,99})$/;

/** Why a reference is refused, or undefined when it is acceptable. */
export function refuseReason(ref: string): string | undefined {
  if (ref.length === 0) return 'it is empty';
  if (ref.length > 300) return 'it is longer than 300 characters';
  if (/\s/.test(ref)) return 'it contains whitespace';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(ref)) return 'it contains control characters';
  if (ref.startsWith('-')) return 'it starts with "-"';
  if (ref.includes('..')) return 'it contains ".."';
  if (ref.includes('\\')) return 'it contains a backslash';
  if (/^https?:\/\//i.test(ref)) {
    let url: URL;
    try {
      url = new URL(ref);
    } catch {
      return 'it is not a valid URL';
    }
    if (url.username !== '' || url.password !== '') return 'it carries credentials (use GITHUB_TOKEN instead)';
    if (url.search !== '' || url.hash !== '') return 'it has a query or fragment';
    if (url.hostname === '') return 'it has no host';
    const parts = url.pathname.split('/').filter(Boolean);
    if (parts.length < 2) return 'its path is not /owner/repo';
    return undefined;
  }
  if (ref.includes('::')) return 'it names a git remote helper ("::")';
  if (/^[A-Za-z][A-Za-z0-9+.-]*:/.test(ref)) return 'only owner/repo or an http(s):// URL is accepted';
  if (ref.startsWith('/') || ref.startsWith('~') || ref.startsWith('.')) return 'it is a path, not owner/repo';
  const parts = ref.replace(/\/+$/, '').split('/');
  if (parts.length !== 2) return 'it is not of the form owner/repo';
  const [owner = '', name = ''] = parts;
  if (!OWNER.test(owner)) return `"${owner}" is not a valid owner name`;
  if (!NAME.test(name)) return `"${name}" is not a valid repository name`;
  return undefined;
}

/**
 * Resolves a reference to the URL git uses, normalized (authority.ts), or throws a refusal
 * (exit 3, `not_executable`).
 */
export function resolveRepoRef(ref: string, baseUrl: string): RepoTarget {
  const why = refuseReason(ref);
  if (why !== undefined) {
    throw new JgoError('not_executable', `repository reference ${JSON.stringify(ref.slice(0, 100))} refused: ${why}`, EXIT.refused, {
      hint: 'Name the repository as owner/repo or as an https:// URL.',
    });
  }
  if (/^https?:\/\//i.test(ref)) {
    const url = normalizeRepoUrl(ref);
    return { ref: url.replace(/\.git$/, ''), url };
  }
  const [owner, name] = ref.replace(/\/+$/, '').split('/') as [string, string];
  const bare = name.replace(/\.git$/i, '');
  return { ref: `${owner}/${bare}`, url: normalizeRepoUrl(`${baseUrl}/${owner}/${bare}`) };
}

/** Whether two references name the same repository once both are resolved and normalized. */
export function sameRepo(a: string, b: string, baseUrl: string): boolean {
  if (refuseReason(a) !== undefined || refuseReason(b) !== undefined) return false;
  return resolveRepoRef(a, baseUrl).url === resolveRepoRef(b, baseUrl).url;
}

/**
 * Candidate references in free text, in order of appearance: URLs and owner/repo tokens
 * (surrounding quotes, brackets and trailing punctuation removed). Only acceptable ones.
 */
export function findRepoRefs(text: string): string[] {
  const found: string[] = [];
  for (const raw of text.split(/\s+/)) {
    const token = raw.replace(/^[("'`<[]+/, '').replace(/[)"'`>\],.;:!?]+$/, '');
    if (token === '') continue;
    const looksLikeUrl = /^https?:\/\//i.test(token);
    const looksLikePair = /^[A-Za-z0-9][A-Za-z0-9_.-]*\/[A-Za-z0-9_][A-Za-z0-9_.-]*$/.test(token);
    if ((looksLikeUrl || looksLikePair) && refuseReason(token) === undefined) found.push(token);
  }
  return found;
}

/**
 * `repo.url` as a stage may use it: refused when it is not an acceptable http(s) URL (exit 2,
 * `bad_repo`: the envelope was written by hand or by a stage that did not check it), when its
 * host is not allowed or JGO_REPOS leaves it out (exit 3); else normalized. Every stage that reads
 * `repo.url` calls this, so a hand-written envelope gets the gate's scrutiny.
 */
export function checkedRepoUrl(url: string, authority: Authority): string {
  const why = refuseReason(url);
  if (why !== undefined || !/^https?:\/\//i.test(url)) {
    throw new UsageError('bad_repo', `repo.url ${JSON.stringify(url.slice(0, 100))} refused: ${why ?? 'not an http(s) URL'}`);
  }
  const normalized = normalizeRepoUrl(url);
  checkRepoAllowed(authority, normalized);
  return normalized;
}
