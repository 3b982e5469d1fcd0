/**
 * The jgo side of the push rows: `node dist/scripts/bench.js --push-probe '<json>'` pushes one
 * branch through the git layer's pushBranch (the call jgo-ship makes, with the engine given)
 * and prints {"push_ms": …}: the push's own time, measured in this process.
 *
 * Why not time a whole process: jgo-ship pushes from a process that is already running, with the
 * git layer already loaded; a process started for the push alone would add node's start-up
 * (100-500 ms here) to a git push of a few tens of ms, and the ratio would measure node.
 * Start-up is in the ship_commit_push row, where it belongs. isomorphic-git is loaded before
 * the clock starts, as it is in jgo-ship by the time it pushes (its status and commits load it).
 */
import { pushBranch } from '../../lib/git/index.js';
import { iso } from '../../lib/git/iso.js';
import type { EngineName } from './context.js';

interface ProbeRequest {
  dir: string;
  url: string;
  branch: string;
  engine: EngineName;
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
  // A push is native git whatever the engine setting: `engine` is kept in the report for the rows.
  await iso();
  const started = process.hrtime.bigint();
  try {
    await pushBranch({ dir: req.dir, url: req.url, branch: req.branch, credentials: undefined }, { env: process.env });
  } catch (error) {
    process.stderr.write(`push-probe: ${error instanceof Error ? error.message : String(error)}\n`);
    return 1;
  }
  const ms = Number(process.hrtime.bigint() - started) / 1e6;
  process.stdout.write(`${JSON.stringify({ push_ms: ms, engine: 'native' })}\n`);
  return 0;
}
