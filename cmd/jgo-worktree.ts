#!/usr/bin/env node
import { stageCommand } from '../lib/cli.js';

void stageCommand(
  'jgo-worktree',
  `$0 [--base <branch>] < envelope

Makes this run's working copy at $JGO_CACHE_DIR/work/<run_id>/repo from the mirror, without
the network, on a new branch jgo/<UTC YYYYMMDD-HHMMSS>. Its origin is the real repository.
Adds "worktree" (path, branch, base_branch, base_sha) to the envelope.

  jgo-gate "acme/widgets fix the typo" | jgo-sync | jgo-worktree

Exit codes: 0 created, 1 failed, 2 usage (bad envelope, unknown --base).`,
  (y) => y.option('base', { type: 'string', describe: 'branch to start from (default: the remote default branch)' }),
  async (argv) => (await import('../lib/stages/worktree.js')).worktreeStage({ base: argv?.base }),
);
