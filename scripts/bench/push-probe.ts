/**
 * The jgo side of the push rows: `node dist/scripts/bench.js --push-probe '<json>'` pushes one
 * branch through the git layer's pushBranch (the call jgo-ship makes) and prints {"push_ms": …}:
 * the push's own time, measured in this process.
 *
 * Why not time a whole process: jgo-ship pushes from a process that is already running, with the
 * git layer already loaded; a process started for the push alone would add node's start-up
 * (100-500 ms here) to a git push of a few tens of ms, and the ratio would measure node.
 * Start-up is in the ship_commit_push row, where it belongs.
 */
import { pushBranch } from '../../lib/git/commit.js';

interface ProbeRequest {
  dir: string;
  url: string;
  branch: string;
}

export async function pushProbe(args: string[]): Promise<number> {
  let req: ProbeRequest;
  try {
    req = JSON.parse(args[0] ?? '') as ProbeRequest;
    if (typeof req.dir !== 'string' || typeof req.url !== 'string' || typeof req.branch !== 'string') throw new Error('dir, url and branch are required');
  } catch (error) {
    process.stderr.write(`push-probe: bad request: ${error instanceof Error ? error.message : String(error)}\n`);
    return 2;
  }
  const started = process.hrtime.bigint();
  try {
    await pushBranch({ dir: req.dir, url: req.url, branch: req.branch, credentials: undefined }, { env: process.env });
  } catch (error) {
    process.stderr.write(`push-probe: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ push_ms: ms })}\n`);
  return 0;
}
