/** File-system questions several layers ask; core, so it imports nothing of jgo. */
import { stat } from 'node:fs/promises';

/** Whether anything is at `path`. A path that cannot be looked at (no permission) counts as nothing. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
