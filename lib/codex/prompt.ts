/**
 * The prompt jgo-codex gives codex: the gate's optimized prompt, plus what an agent working
 * unattended in jgo's working copy must know. jgo-ship commits and pushes, never codex.
 */

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
    where.push(`The branch ${input.branch} is checked out${input.baseBranch ? `, made from ${input.baseBranch}` : ''}.`);
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
