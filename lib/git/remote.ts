/**
 * A remote's refs, read in-process with isomorphic-git's listServerRefs: the one way jgo reads
 * them (a sync's comparison, doctor's read check, the proof of a push), so the token's rule for
 * reads is enforced in one place (isoAuth).
 */
import { credentialsFor } from './auth.js';
import type { GitContext } from './context.js';
import { classifyIsoFailure, git, http, isoAuth } from './iso.js';
import type { RefMap } from './refs.js';

export interface RemoteState {
  /** refs/heads/* and refs/tags/* as the remote advertises them (tags unpeeled). */
  refs: RefMap;
  /** The branch the remote's HEAD points at. */
  defaultBranch: string | undefined;
}

/**
 * The remote's branches, tags and default branch, no pack. Without `prefix` this is one request
 * (protocol v1's ref advertisement: every ref and HEAD's target, which is what the mirror
 * compares); with one, protocol v2's ls-refs asks the server for only the refs under it (a
 * remote's full list can run to thousands of refs/pull/*). The token goes along only when `url`
 * is one of its origins.
 */
export async function remoteState(url: string, ctx: Pick<GitContext, 'credentials' | 'signal'>, options: { prefix?: string } = {}): Promise<RemoteState> {
  const refs: RefMap = new Map();
  let defaultBranch: string | undefined;
  const { prefix } = options;
  const credentials = credentialsFor(ctx.credentials, url);
  try {
    const advertised = await git.listServerRefs({ http, url, protocolVersion: prefix ? 2 : 1, symrefs: true, ...(prefix ? { prefix } : {}), ...isoAuth(url, credentials) });
    for (const r of advertised) {
      if (prefix && !r.ref.startsWith(prefix)) continue; // a v1 server does not filter
      if (r.ref === 'HEAD' && r.target?.startsWith('refs/heads/')) defaultBranch = r.target.slice('refs/heads/'.length);
      else if (/^refs\/(heads|tags)\//.test(r.ref) && !r.ref.endsWith('^{}')) refs.set(r.ref, r.oid);
    }
  } catch (error) {
    throw classifyIsoFailure(error, url, credentials);
  }
  return { refs, defaultBranch };
}
