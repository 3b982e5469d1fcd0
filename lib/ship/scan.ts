/**
 * The last check before a push: the lines this change adds must hold no secret value in use and
 * nothing shaped like a well-known token. A hit names the file and line, never the secret.
 */
import type { EngineChooser } from '../git/index.js';
import { readFileAt, readWorkingFile } from '../git/index.js';

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

export function scanText(path: string, before: string | undefined, after: string, secrets: readonly string[]): SecretHit[] {
  const hits: SecretHit[] = [];
  for (const { line, text } of addedLines(before, after)) {
    if (secrets.some((s) => text.includes(s))) hits.push({ path, line, what: 'the value of a secret setting in use' });
    else {
      const shape = TOKEN_SHAPES.find((s) => s.pattern.test(text));
      if (shape) hits.push({ path, line, what: `something shaped like a ${shape.name}` });
    }
  }
  return hits;
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
  engines: EngineChooser,
  newSince: ReadonlySet<string> = new Set(),
): Promise<SecretHit[]> {
  const hits: SecretHit[] = [];
  for (const path of paths) {
    const after = await readWorkingFile(dir, path);
    if (after === undefined || after.includes('\0')) continue; // deleted, or binary
    const before = newSince.has(path) ? undefined : await readFileAt(dir, base, path, engines);
    hits.push(...scanText(path, before, after, secrets));
  }
  return hits;
}
