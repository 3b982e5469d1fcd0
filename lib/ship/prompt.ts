/** The prompts jgo-ship gives codex: planning commits (read-only), or doing it all (agent mode). */
import type { Change } from '../git/status.js';

export function planPrompt(request: string, changes: Change[]): string {
  const list = changes.map((c) => `- ${c.path} (${c.kind})`).join('\n');
  return `You are planning git commits for changes that are already made in this repository. Do not change any file.

The changes were made for this request:
${request.trim()}

Changed paths:
${list}

Split the changes into coherent, minimal commits by topic, ordered so that each commit makes sense after the ones before it. Give every commit a Conventional Commit subject (type(scope)!: description; types: feat, fix, docs, style, refactor, perf, test, build, ci, chore, revert; at most 100 characters; imperative, lower case after the colon) and an optional body that says why. Every changed path must appear in exactly one commit, written exactly as listed. You may read files and diffs (for example git diff, git status) to decide.

Answer with only the JSON object the output schema describes: {"commits": [{"subject": "...", "body": "...", "paths": ["..."]}]}.`;
}

export function agentPrompt(request: string, branch: string, changes: Change[]): string {
  const list = changes.map((c) => `- ${c.path} (${c.kind})`).join('\n');
  return `The changes for this request are made in the working tree of this repository, on branch ${branch}:
${request.trim()}

Changed paths:
${list}

Split the changes into coherent, minimal commits by topic, with Conventional Commit messages. Never amend, never force-push, never rewrite history, never switch branches. Then push the branch: git push origin ${branch}. Credentials are already configured for git. Report the commits you made and whether the push succeeded.`;
}
