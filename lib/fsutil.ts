/** File-system questions several layers ask; core, so it imports nothing of jgo. */
import { rm, stat } from 'node:fs/promises';

/** Whether anything is at `path`. A path that cannot be looked at (no permission) counts as nothing. */
export async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/**
 * Removes the trees, a few hundred at a time, with `rm -rf`: one process where Node's recursive
 * rm would walk the tree in JavaScript. Where there is no `rm`, Node's own does it.
 */
export async function removeTrees(paths: readonly string[]): Promise<void> {
  // Loaded when first needed: most users of this module never remove a tree.
  const { default: spawn } = await import('cross-spawn');
  for (let i = 0; i < paths.length; i += 200) {
    const batch = paths.slice(i, i + 200);
    const code = await new Promise<number | null>((resolve) => {
      const child = spawn('rm', ['-rf', '--', ...batch], { stdio: 'ignore' });
      child.on('error', () => resolve(null));
      child.on('close', resolve);
    });
    if (code !== 0) for (const path of batch) await rm(path, { recursive: true, force: true });
  }
}
