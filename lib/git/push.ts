/**
 * The push of a new branch over smart HTTP, spoken by jgo: the receive-pack advertisement is read
 * ahead (jgo-ship reads it while codex plans the commits), the pack comes from `git pack-objects`,
 * and the push itself is then one POST (lib/http.ts).
 *
 * Why: `git push` on a one-commit branch is four processes (git, git-remote-http, send-pack,
 * pack-objects) and two round trips, the advertisement and the pack, one after the other at the
 * very end of a run. Here the advertisement is already in and one process makes the pack.
 *
 * Only the plain case is taken: a branch the remote does not have yet, pushed on top of a commit
 * the caller has just seen the remote's base branch at (so the pack can leave out everything that
 * commit holds, and be thin against it), SHA-1, report-status. Anything else gives `false` before
 * anything is sent, and a pack the remote did not take gives `false` after (nothing was updated):
 * the caller then runs `git push`. A remote that refuses the update itself is reported as git
 * would be: push_rejected.
 */
import { JgoError, EXIT } from '../errors.js';
import type { GitCredentials } from './auth.js';
import { classifyIsoFailure } from './iso.js';
import { FLUSH, parseV1Advertisement, pkt, pktLines, pktPayloads, smartHttp, statusFailure, type SmartAnswer } from './lsrefs.js';
import { runGitBytes } from './native.js';
import { trace } from '../trace.js';

/** What the remote's receive-pack said it has and can do. */
export interface PushTarget {
  refs: Map<string, string>;
  capabilities: Set<string>;
}

const ZERO = '0'.repeat(40);
/** Only SHA-1 repositories take this path. */
const SHA1 = /^[0-9a-f]{40}$/;
/** Packs above this are left to `git push`, which streams them; ours is held in memory. */
const MAX_PACK_BYTES = 32 * 1024 * 1024;

/** A receive-pack advertisement; undefined when it is not one (or not SHA-1). */
export function parsePushAdvertisement(body: Buffer): PushTarget | undefined {
  const advertised = parseV1Advertisement(body, 'git-receive-pack');
  if (!advertised) return undefined;
  const format = [...advertised.capabilities].find((c) => c.startsWith('object-format='));
  if (format !== undefined && format !== 'object-format=sha1') return undefined;
  return advertised;
}

/**
 * Reads the remote's receive-pack advertisement. Undefined when it cannot be read or is not one
 * (a refusal included: `git push` then asks, and says why in git's words).
 */
export async function openPushTarget(url: string, credentials: GitCredentials | undefined): Promise<PushTarget | undefined> {
  try {
    // A moved repository answers with a redirect: git push follows it and then posts to where it
    // led, so it is left to git push rather than followed here and posted to the old address.
    const answer = await smartHttp(url, credentials, { service: 'git-receive-pack', followRedirects: false });
    if (answer.status !== 200 || !answer.type.startsWith('application/x-git-receive-pack-advertisement')) return undefined;
    return parsePushAdvertisement(answer.body);
  } catch {
    return undefined;
  }
}

export interface PackPushRequest {
  dir: string;
  url: string;
  branch: string;
  /** The commit to push (the branch's new tip). */
  sha: string;
  /** The commit the remote's base branch is at: the pack leaves out what it holds. */
  base: string;
  credentials: GitCredentials | undefined;
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Called once the pack is made, as the POST goes out. */
  sending?: () => void;
}

/** `git pack-objects` for the commits from `base` to `sha`: thin against `base`. Undefined when too large. */
async function makePack(req: PackPushRequest, ofsDelta: boolean): Promise<Buffer | undefined> {
  const args = ['pack-objects', '--revs', '--stdout', '--thin', '-q', ...(ofsDelta ? ['--delta-base-offset'] : [])];
  const result = await runGitBytes(args, { cwd: req.dir, env: req.env, input: `${req.sha}\n^${req.base}\n`, maxStdout: MAX_PACK_BYTES, ...(req.signal ? { signal: req.signal } : {}) });
  if (req.signal?.aborted) throw req.signal.reason instanceof Error ? req.signal.reason : new JgoError('interrupted', 'stopped', EXIT.failed);
  if (result.overflowed) return undefined;
  if (result.code !== 0) throw new JgoError('git_failed', `git pack-objects failed: ${result.stderr.trim() || `exit ${result.code}`}`, EXIT.failed);
  return result.stdout;
}

/** The report-status lines of a receive-pack answer, out of side-band 1 when it is multiplexed. */
export function reportOf(body: Buffer, sideBand: boolean): { lines: string[]; fatal: string | undefined } {
  if (!sideBand) return { lines: pktLines(body), fatal: undefined };
  const data: Buffer[] = [];
  let fatal: string | undefined;
  for (const payload of pktPayloads(body)) {
    if (payload[0] === 1) data.push(payload.subarray(1));
    else if (payload[0] === 3) fatal = payload.subarray(1).toString('utf8').trim();
  }
  return { lines: pktLines(Buffer.concat(data)), fatal };
}

/**
 * Pushes `refs/heads/<branch>` as a new branch at `sha`, with the pack made here. True when the
 * remote has taken it; false when this is not the plain case or the remote did not take the pack
 * (nothing was updated either way: run `git push`). Throws push_rejected when the remote refuses
 * the update, and the git layer's other codes for HTTP and network failures.
 */
export async function pushWithPack(req: PackPushRequest, target: PushTarget): Promise<boolean> {
  const ref = `refs/heads/${req.branch}`;
  const caps = target.capabilities;
  if (!caps.has('report-status') || target.refs.has(ref) || !SHA1.test(req.sha) || !SHA1.test(req.base)) return false;
  const pack = await makePack(req, caps.has('ofs-delta'));
  if (pack === undefined) return false;
  const sideBand = caps.has('side-band-64k');
  const asked = ['report-status', ...(sideBand ? ['side-band-64k'] : []), ...(caps.has('quiet') ? ['quiet'] : []), 'agent=git/jgo'];
  const request = Buffer.concat([pkt(`${ZERO} ${req.sha} ${ref}\0${asked.join(' ')}\n`), FLUSH, pack]);
  const began = performance.now();
  req.sending?.();
  let answer: SmartAnswer;
  try {
    answer = await smartHttp(req.url, req.credentials, { service: 'git-receive-pack', post: request, ...(req.signal ? { signal: req.signal } : {}) });
  } catch (error) {
    throw classifyIsoFailure(error, req.url, req.credentials);
  }
  trace('receive-pack', began);
  if (answer.status !== 200) throw statusFailure(answer.status, req.url, req.credentials);
  let report;
  try {
    report = reportOf(answer.body, sideBand);
  } catch (error) {
    throw new JgoError('git_failed', `the push's answer could not be read: ${(error as Error).message}`, EXIT.failed);
  }
  // The pack not taken (say, the remote lacks a commit the thin pack leans on): nothing was
  // updated, so `git push`, which works out what the remote has, does it or says why not.
  const unpack = report.lines.find((l) => l.startsWith('unpack '));
  if (report.fatal !== undefined || unpack !== 'unpack ok') {
    trace(`receive-pack did not take the pack (${report.fatal ?? unpack ?? 'no report'}): git push`);
    return false;
  }
  const refLine = report.lines.find((l) => l === `ok ${ref}` || l.startsWith(`ng ${ref} `));
  if (refLine === `ok ${ref}`) return true;
  const why = refLine?.slice(`ng ${ref} `.length) ?? 'no report for the branch';
  // The objects did not connect (the remote checks that the new tip's history is all there): the
  // same case, with a different word for it.
  if (/missing necessary objects/.test(why)) {
    trace(`receive-pack: ${why}: git push`);
    return false;
  }
  throw rejected(req.url, req.branch, why);
}

export function rejected(url: string, branch: string, why: string): JgoError {
  return new JgoError('push_rejected', `${new URL(url).host} rejected the push of ${branch}: ${why}`, EXIT.failed, {
    hint: 'jgo never forces a push; the working copy and its commits are kept, so run jgo-ship again once the cause is fixed.',
  });
}
