/**
 * The commit plan: codex proposes, jgo checks. A plan is an ordered list of commits, each a
 * Conventional Commit message and the paths it contains. Every path must be part of the change
 * and appear once; paths the plan forgets go into a final commit, so nothing is ever lost.
 */
import * as z from '../zod.js';
import type { Change } from '../git/status.js';
import { parseModelJson } from '../model-json.js';

/** Conventional Commits 1.0: type(scope)!: description. */
export const CONVENTIONAL_SUBJECT = /^(feat|fix|docs|style|refactor|perf|test|build|ci|chore|revert)(\([A-Za-z0-9_./ -]+\))?!?: \S.{0,99}$/;

export const PlannedCommit = z.object({
  subject: z.string().check(z.regex(CONVENTIONAL_SUBJECT, 'subject must be a Conventional Commit subject, e.g. "docs(readme): add install steps"')),
  body: z.string(),
  paths: z.array(z.string().check(z.minLength(1))).check(z.minLength(1)),
});
export const Plan = z.object({ commits: z.array(PlannedCommit).check(z.minLength(1)) });
export type Plan = z.infer<typeof Plan>;

/**
 * The same shape as JSON Schema for `codex exec --output-schema`: strict (every property
 * required, no others), as the Responses API's structured outputs want it.
 */
export const PLAN_JSON_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['commits'],
  properties: {
    commits: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        additionalProperties: false,
        required: ['subject', 'body', 'paths'],
        properties: {
          subject: { type: 'string', description: 'Conventional Commit subject: type(scope)!: description, at most 100 characters' },
          body: { type: 'string', description: 'optional body explaining why; empty string for none' },
          paths: { type: 'array', minItems: 1, items: { type: 'string' }, description: 'changed paths in this commit, exactly as listed' },
        },
      },
    },
  },
} as const;

export interface CommitGroup {
  message: string;
  subject: string;
  changes: Change[];
}

export interface CheckedPlan {
  groups: CommitGroup[];
  /** Paths the plan left out, committed last. */
  forgotten: string[];
}

function message(subject: string, body: string): string {
  return body.trim() === '' ? `${subject}\n` : `${subject}\n\n${body.trim()}\n`;
}

/** Parses codex's last message as a plan and checks it against the change; a reason when it fails. */
export function checkPlan(text: string, changes: Change[]): { plan?: CheckedPlan; problem?: string } {
  let value: unknown;
  try {
    value = parseModelJson(text);
  } catch {
    return { problem: 'the plan is not JSON' };
  }
  const parsed = Plan.safeParse(value);
  if (!parsed.success) return { problem: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  const byPath = new Map(changes.map((c) => [c.path, c]));
  const seen = new Set<string>();
  const groups: CommitGroup[] = [];
  for (const commit of parsed.data.commits) {
    const groupChanges: Change[] = [];
    for (const raw of commit.paths) {
      const path = raw.replace(/^\.\//, '');
      const change = byPath.get(path);
      if (!change) return { problem: `the plan names ${JSON.stringify(path)}, which is not part of the change` };
      if (seen.has(path)) return { problem: `the plan names ${JSON.stringify(path)} twice` };
      seen.add(path);
      groupChanges.push(change);
    }
    groups.push({ subject: commit.subject, message: message(commit.subject, commit.body), changes: groupChanges });
  }
  const forgotten = changes.filter((c) => !seen.has(c.path));
  if (forgotten.length > 0) {
    const subject = 'chore: include remaining changes';
    groups.push({ subject, message: message(subject, 'Files the commit plan did not assign.'), changes: forgotten });
  }
  return { plan: { groups, forgotten: forgotten.map((c) => c.path) } };
}

/** One commit for everything, its subject derived from the request: the fallback. */
export function fallbackPlan(request: string, repoRef: string | undefined, changes: Change[]): CheckedPlan {
  let text = request.trim().split('\n')[0] ?? '';
  if (repoRef && text.startsWith(repoRef)) text = text.slice(repoRef.length);
  text = text.replace(/^[\s:,-]+/, '').replace(/\s+/g, ' ').replace(/[.\s]+$/, '');
  if (text === '') text = 'apply the requested change';
  text = text.charAt(0).toLowerCase() + text.slice(1);
  const subject = `chore: ${text.length > 90 ? `${text.slice(0, 89)}…` : text}`;
  return { groups: [{ subject, message: message(subject, `Requested: ${request.trim()}`), changes }], forgotten: [] };
}
