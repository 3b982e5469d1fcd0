/**
 * The prompt jgo-codex gives codex: the gate's optimized prompt, plus what an agent working
 * unattended in jgo's working copy must know. jgo-ship commits and pushes, never codex.
 */
import type { ThreadRun } from '../envelope.js';
import { fenced } from '../format.js';

export interface EditPromptInput {
  /** The gate's optimized prompt: the task itself. */
  task: string;
  /** Where codex works (absolute). */
  cwd: string;
  /** The repository, as the gate named it and as a URL. */
  repo?: { ref: string; url: string } | undefined;
  /** The working copy's branch and where it started. */
  branch?: string | undefined;
  baseBranch?: string | undefined;
  /** True in a working copy jgo-worktree made for this run. */
  worktree: boolean;
  /** False outside a git repository (the ad-hoc chain `… | jgo-gate | jgo-codex` run anywhere). */
  inGitRepo: boolean;
  /**
   * A follow-up's thread: the earlier requests and their commits. `resumed` when codex resumes
   * its own session of them (it remembers the conversation; only the new place is said).
   */
  follow?: { history: readonly ThreadRun[]; resumed: boolean } | undefined;
}

/**
 * What a follow-up's prompt adds: where the work now is, and unless codex remembers it, what
 * the earlier runs asked and committed. Their text is the user's and the model's: fenced, so it
 * reads as a record and not as instructions.
 */
function followUpSection(input: EditPromptInput): string[] {
  const follow = input.follow;
  if (!follow) return [];
  const onBranch = input.branch ? ` on the branch ${input.branch}` : '';
  if (follow.resumed) {
    return ['## Follow-up', '', `This continues our conversation above. Your earlier changes were committed and pushed${onBranch}; this is a new working copy of it, at ${input.cwd}, which may also hold commits other people pushed since. Work from the files as they are now.`, ''];
  }
  const runs = follow.history.map((run, i) => {
    const commits = run.commits.map((c) => `   - ${c.subject.replace(/\s+/g, ' ').slice(0, 200)}`).join('\n') || '   (no commits)';
    return `${i + 1}. Request:\n${fenced(run.request.trim().slice(0, 4000))}\n   Commits:\n${commits}`;
  });
  return [
    '## Follow-up',
    '',
    `This task follows up earlier work${onBranch}: it is already committed there (and other people may have pushed commits since). Build on it; do not redo it. What was asked before, and what each request committed, oldest first:`,
    '',
    ...runs,
    '',
  ];
}

export function editPrompt(input: EditPromptInput): string {
  const where: string[] = [];
  const named = input.repo ? `${input.repo.ref} (${input.repo.url})` : undefined;
  if (input.worktree && named) where.push(`You are working in a fresh working copy of the git repository ${named}, at ${input.cwd}.`);
  else {
    where.push(input.inGitRepo ? `You are working in a git repository at ${input.cwd}.` : `You are working in the directory ${input.cwd} (not a git repository).`);
    if (named) where.push(`The request names the repository ${named}.`);
  }
  if (input.branch) {
    const from = input.follow ? '' : input.baseBranch ? `, made from ${input.baseBranch}` : '';
    where.push(`The branch ${input.branch} is checked out${from}.`);
  }
  const rules = [
    'Work non-interactively: nobody will answer questions or approve anything. When something is unclear, make the most reasonable assumption, go on, and say what you assumed in your final message.',
    'Make the change the task asks for, completely, and keep it focused: no unrelated refactoring, reformatting, renames or dependency upgrades.',
    'Follow the conventions of the code around you (style, structure, tests, docs). When the project has tests or a build that are quick to run, run them to check your work.',
    input.inGitRepo
      ? 'Do not commit, push, create branches, or change the git configuration or history: leave your changes in the working tree. jgo-ship reviews, commits and pushes them after you finish.'
      : 'Do not commit or push anything.',
    'Never write secrets (API keys, tokens, passwords, the contents of environment variables that hold them) into any file or command output.',
    'End with a short summary: what you changed, in which files, and how you checked it.',
  ];
  return [
    where.join(' '),
    '',
    ...followUpSection(input),
    '## Task',
    '',
    input.task.trim(),
    '',
    '## How to work',
    '',
    ...rules.map((r) => `- ${r}`),
    '',
  ].join('\n');
}
