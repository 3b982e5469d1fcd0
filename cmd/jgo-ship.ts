#!/usr/bin/env node
import { stageCommand } from '../lib/cli.js';

void stageCommand(
  'jgo-ship',
  `$0 [--keep] < envelope

Has codex plan the split of the working copy's changes into Conventional Commits (read-only),
makes those commits, checks the added lines for secrets, pushes the branch to origin without
force, and verifies that the remote has it. Adds "ship" (branch, commits, pushed, remote_sha,
plan) to the envelope. The branch name is printed on stderr; stdout stays the envelope.

  … | jgo-worktree | jgo-codex | jgo-ship

JGO_SHIP_MODE=agent lets codex commit and push itself; jgo then verifies and finishes the push.
Exit codes: 0 pushed, 1 failed (push_rejected, auth_failed, secret_in_diff, not_shipped, …),
2 usage, 4 nothing to ship.`,
  (y) => y.option('keep', { type: 'boolean', default: false, describe: 'keep the working copy after a verified push' }),
  async (argv) => (await import('../lib/stages/ship.js')).shipStage({ keep: argv?.keep }),
);
