/**
 * The last check before a push: the lines this change adds, and the messages of its commits, must
 * hold no secret value in use (plainly or base64-, hex- or percent-encoded: lib/codex/needles.ts)
 * and nothing shaped like a well-known token. A hit names the file and line, never the secret.
 */
import { readFilesAt, readWorkingFile } from '../git/history.js';
import { readWorkingHead } from '../git/refs.js';
import { runGit } from '../git/native.js';
import { EXIT, JgoError } from '../errors.js';
import { secretNeedles } from '../needles.js';

/** Shapes of well-known credentials (built from parts so this file is not itself a hit). */
export const TOKEN_SHAPES: Array<{ name: string; pattern: RegExp }> = [
  { name: 'GitHub token', pattern: new RegExp(`\\bgh[pousr]_[A-Za-z0-9]{36,}\\b`) },
  { name: 'GitHub fine-grained token', pattern: new RegExp(`\\bgithub_pat_[A-Za-z0-9_]{22,}\\b`) },
  { name: 'OpenAI API key', pattern: new RegExp(`\\bsk-(?:proj-|svcacct-|admin-)?[A-Za-z0-9_-]{32,}`) },
  { name: 'AWS access key id', pattern: new RegExp(`\\b(?:AKIA|ASIA)[0-9A-Z]{16}\\b`) },
  { name: 'private key', pattern: new RegExp(`-----BEGIN (?:[A-Z]+ )?PRIVATE KEY-----`) },
];

export interface SecretHit {
  path: string;
  line: number;
  /** What was found: "the value of a secret setting" or a token shape's name. */
  what: string;
}

/** Lines of `after` that `before` does not have (as a multiset), with 1-based numbers. */
export function addedLines(before: string | undefined, after: string): Array<{ line: number; text: string }> {
  const old = new Map<string, number>();
  for (const l of (before ?? '').split('\n')) old.set(l, (old.get(l) ?? 0) + 1);
  const added: Array<{ line: number; text: string }> = [];
  after.split('\n').forEach((text, i) => {
    const left = old.get(text) ?? 0;
    if (left > 0) old.set(text, left - 1);
    else added.push({ line: i + 1, text });
  });
  return added;
}

/** What a line holds, if anything: a secret value in use (in any of its forms), or a token's shape. */
function lineHit(text: string, needles: readonly string[]): string | undefined {
  if (needles.some((n) => text.includes(n))) return 'the value of a secret setting in use';
  const shape = TOKEN_SHAPES.find((s) => s.pattern.test(text));
  return shape ? `something shaped like a ${shape.name}` : undefined;
}

export function scanText(path: string, before: string | undefined, after: string, secrets: readonly string[]): SecretHit[] {
  const needles = secretNeedles(secrets);
  const hits: SecretHit[] = [];
  for (const { line, text } of addedLines(before, after)) {
    const what = lineHit(text, needles);
    if (what) hits.push({ path, line, what });
  }
  return hits;
}

/** Every line of a commit message; `label` names the commit in a hit's `path`. */
export function scanMessage(label: string, message: string, secrets: readonly string[]): SecretHit[] {
  return scanText(label, undefined, message, secrets);
}

/**
 * The full messages of the commits since `base` (HEAD's side), as git has them: an agent that
 * commits can put a secret in a message as easily as in a file. Asked of native git, which ship
 * pushes with anyway.
 */
export async function commitMessages(dir: string, base: string, env?: NodeJS.ProcessEnv): Promise<Array<{ sha: string; message: string }>> {
  // Nothing committed since the base (ship's first attempt in plan mode): no git process for it.
  if ((await readWorkingHead(dir)) === base) return [];
  const result = await runGit(['log', '-z', '--format=%H%n%B', `${base}..HEAD`], { cwd: dir, env });
  if (result.code !== 0) throw new JgoError('git_failed', `git log failed: ${result.stderr.trim()}`, EXIT.failed);
  return result.stdout
    .split('\0')
    .filter((entry) => entry.length > 0)
    .map((entry) => {
      const newline = entry.indexOf('\n');
      return { sha: entry.slice(0, newline), message: entry.slice(newline + 1) };
    });
}

/**
 * Scans every path's added lines between `base` and the working tree. `newSince` names paths
 * known not to exist at `base` (untracked files): every line of those is added, with nothing to
 * read from git.
 */
export async function scanChange(
  dir: string,
  base: string,
  paths: readonly string[],
  secrets: readonly string[],
  newSince: ReadonlySet<string> = new Set(),
): Promise<SecretHit[]> {
  const hits: SecretHit[] = [];
  // What each changed file was at the base, all in one git process.
  const earlier = await readFilesAt(dir, base, paths.filter((p) => !newSince.has(p)));
  for (const path of paths) {
    const after = await readWorkingFile(dir, path);
    if (after === undefined || after.includes('\0')) continue; // deleted, or binary
    hits.push(...scanText(path, earlier.get(path), after, secrets));
  }
  return hits;
}
