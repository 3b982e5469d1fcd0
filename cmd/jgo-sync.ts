#!/usr/bin/env node
import { stageCommand } from '../lib/cli.js';

void stageCommand(
  'jgo-sync',
  `$0 < envelope

Keeps a bare mirror of the envelope's repo.url in $JGO_CACHE_DIR/repos, fetched incrementally:
nothing is downloaded when nothing changed, deleted branches are pruned, force-pushed branches
follow the remote. Adds "mirror" (path, default_branch, head_sha) to the envelope.

  jgo-gate "acme/widgets fix the typo" | jgo-sync

Credentials: GITHUB_TOKEN (or GH_TOKEN), never written to disk.
Exit codes: 0 synced, 1 failed (auth_failed, repo_not_found, network_error, …), 2 usage.`,
  (y) => y,
  async () => (await import('../lib/stages/sync.js')).syncStage(),
);
