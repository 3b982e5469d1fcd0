/** Questions about processes and programs on this host; core, so it imports nothing of jgo. */
import { statSync } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * Whether process `pid` is alive on this host. Signal 0 only asks; EPERM means it lives but
 * belongs to another user, which still makes it the holder of whatever it claimed.
 */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The first file called `name` in `env.PATH`'s directories, as the shell would find it; looked up without spawning anything. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    // An empty entry means the current directory to a shell; jgo does not run what lies there.
    if (dir === '') continue;
    const candidate = join(dir, name);
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not in this directory
    }
  }
  return undefined;
}
