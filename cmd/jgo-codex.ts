#!/usr/bin/env node
import { stageCommand } from '../lib/cli.js';

void stageCommand(
  'jgo-codex',
  `$0 < envelope

Runs \`codex exec\` with the gate's prompt in the envelope's worktree.path (without a worktree,
in the current directory), watches its events on stderr, and adds "codex" (exit_code,
changed_files, last_message, duration_ms, thread_id, usage, failed_commands). Codex never
commits or pushes: jgo-ship does.

  … | jgo-worktree | jgo-codex | jgo-ship
  echo "acme/widgets add a CONTRIBUTING.md" | jgo-gate | jgo-codex      (in a checkout)

Settings: CODEX_BIN (codex), CODEX_HOME ($JGO_CACHE_DIR/codex),
JGO_CODEX_SANDBOX (workspace-write | read-only | danger-full-access), JGO_CODEX_NETWORK (true),
JGO_CODEX_PROVIDER (codex: its own login | openai-compatible: OPENAI_BASE_URL, OPENAI_API_KEY,
CODEX_MODEL or MODEL), JGO_CODEX_ENV (inherit | minimal, plus JGO_CODEX_ENV_PASS),
JGO_CODEX_TIMEOUT_S (3600), JGO_CODEX_IDLE_S (600).

Exit codes: 0 files changed, 1 codex failed (codex_failed, codex_timeout, secret_on_disk),
2 usage or settings (codex_login_required, codex_missing), 4 codex changed nothing (no_changes).`,
  (y) => y,
  async () => (await import('../lib/stages/codex.js')).codexStage(),
);
