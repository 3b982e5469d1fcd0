/** jgo-sync: keeps the mirror of `repo.url` in the cache current, and says where it is. */
import type { Envelope } from '../envelope.js';
import { UsageError } from '../errors.js';
import { cacheDir } from '../cache.js';
import { checkedRepoUrl } from '../repo-ref.js';
import { authorityOf } from '../config.js';
import type { StageContext, StageSpec } from '../stage.js';
import { syncMirror } from '../git/mirror.js';
import { gitContext } from './context.js';

export const SYNC_USAGE = 'jgo-gate "owner/repo …" | jgo-sync   |   echo \'{"jgo":1,"repo":{"ref":"owner/repo","url":"https://…"}}\' | jgo-sync';

export async function sync(envelope: Envelope, context: StageContext): Promise<Envelope> {
  if (!envelope.repo) throw new UsageError('missing_field', 'the envelope has no "repo": run jgo-gate first');
  const url = checkedRepoUrl(envelope.repo.url, authorityOf(context.settings));
  const git = gitContext(context);
  const mirror = await syncMirror(url, cacheDir(context), git);
  return {
    ...envelope,
    repo: { ...envelope.repo, url },
    mirror: {
      path: mirror.path,
      default_branch: mirror.defaultBranch,
      head_sha: mirror.headSha,
      fetched: mirror.fetched,
      ...(mirror.rebuilt ? { rebuilt: true } : {}),
    },
  };
}

export function syncStage(): StageSpec {
  return {
    name: 'sync',
    usage: SYNC_USAGE,
    run: sync,
  };
}
