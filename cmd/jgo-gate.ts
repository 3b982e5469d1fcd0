#!/usr/bin/env node
import { stageCommand } from '../lib/cli.js';

void stageCommand(
  'jgo-gate',
  `$0 [request...]

Asks the model whether a request is executable and for a Codex-optimized prompt,
and names the repository it works on. The request comes as arguments, as plain
text on stdin, or as an envelope with "request"; one envelope is written to stdout.

  jgo-gate "acme/widgets add install steps to README"
  echo "acme/widgets fix the typo in CONTRIBUTING.md" | jgo-gate | jgo-sync

Exit codes: 0 executable, 1 model or network failure, 2 usage or settings,
3 refused (gate.reason says why).`,
  (y) => y,
  async (argv) => {
    const { gateStage } = await import('../lib/stages/gate.js');
    return gateStage(argv?._.map(String) ?? []);
  },
  { acceptsWords: true },
);
