/**
 * The per-run working copy: an ordinary repository (native git must accept it, because codex
 * runs git in it) made from the mirror without touching the network, its objects hardlinked
 * rather than copied, checked out on a new branch, with `origin` pointing at the real remote.
 */
import { constants } from 'node:fs';
import { copyFile, link, mkdir, readdir, stat, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { JgoError, EXIT, UsageError } from '../errors.js';
import type { GitContext } from './mirror.js';
import { runGit } from './native.js';
import { fs, iso } from './iso.js';
import { readLocalRefs, type RefMap } from './refs.js';

export interface WorkingCopyRequest {
  mirror: string;
  /** The real remote: the working copy's origin. */
  url: string;
  dest: string;
  base: string;
  branch: string;
  /** The mirror's refs when the caller has just read them (jgo-worktree has): not read again. */
  refs?: RefMap;
}

/** A branch name git accepts and no option parser can mistake for a flag. */
export function checkBranchName(name: string, what = 'branch'): void {
  const bad =
    name === '' ||
    name.startsWith('-') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.endsWith('.') ||
    name.endsWith('.lock') ||
    name.includes('..') ||
    name.includes('//') ||
    name.includes('@{') ||
    /[\s~^:?*[\\\u0000-\u001f\u007f]/.test(name);
  if (bad) throw new UsageError('bad_branch', `${JSON.stringify(name)} is not a valid ${what} name`);
}

/** A test's hook into linkObjects: called once each directory's listing is in, before its files are linked. */
export interface LinkHooks {
  listed?: (dir: string) => Promise<void>;
}

/**
 * Hardlinks (else copies) a mirror's object store into a working copy's. Objects never change
 * once written, so sharing the inode is safe.
 *
 * Done without the mirror's lock, so another run's jgo-sync may pack the mirror's loose objects
 * meanwhile (`git repack -d`): a loose object listed here can be gone when it is linked. git
 * writes the new pack, its index last, before it removes the loose objects, so when one has
 * vanished the pack directory is linked once more after the walk, and the pack is there.
 */
export async function linkObjects(from: string, to: string, hooks: LinkHooks = {}): Promise<void> {
  let vanished = false;
  const walk = async (src: string, dst: string): Promise<void> => {
    await mkdir(dst, { recursive: true });
    const entries = await readdir(src, { withFileTypes: true }).catch(() => []);
    await hooks.listed?.(src);
    await Promise.all(
      entries.map(async (e) => {
        if (e.isDirectory()) return walk(join(src, e.name), join(dst, e.name));
        if (!(await share(join(src, e.name), join(dst, e.name)))) vanished = true;
      }),
    );
  };
  await walk(from, to);
  if (vanished) await walk(join(from, 'pack'), join(to, 'pack'));
}

/** One object file shared: true when it is there, false when the source has vanished. */
async function share(src: string, dst: string): Promise<boolean> {
  const code = (error: unknown) => (error as NodeJS.ErrnoException).code;
  try {
    await link(src, dst);
    return true;
  } catch (error) {
    // Already linked (the second pass): never copied onto, as it is the mirror's own inode.
    if (code(error) === 'EEXIST') return true;
    if (code(error) === 'ENOENT') return false;
  }
  try {
    // Across devices: a copy, never over an existing file.
    await copyFile(src, dst, constants.COPYFILE_EXCL);
    return true;
  } catch (error) {
    if (code(error) === 'EEXIST') return true;
    if (code(error) === 'ENOENT') return false;
    throw error;
  }
}

async function writeGitDir(req: WorkingCopyRequest, refs: RefMap, baseSha: string): Promise<void> {
  const gitdir = join(req.dest, '.git');
  await mkdir(join(gitdir, 'refs', 'tags'), { recursive: true });
  const core = await probeCore(gitdir);
  await mkdir(join(gitdir, 'refs', 'remotes', 'origin'), { recursive: true });
  await linkObjects(join(req.mirror, 'objects'), join(gitdir, 'objects'));
  const entries: Array<[string, string]> = [];
  for (const [name, sha] of refs) entries.push([name.startsWith('refs/heads/') ? `refs/remotes/origin/${name.slice(11)}` : name, sha]);
  // Git binary-searches a packed-refs file that declares itself sorted: it must be.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  await writeFile(join(gitdir, 'packed-refs'), `${['# pack-refs with: sorted', ...entries.map(([name, sha]) => `${sha} ${name}`)].join('\n')}\n`);
  const ref = join(gitdir, 'refs', 'heads', ...req.branch.split('/'));
  await mkdir(dirname(ref), { recursive: true });
  await writeFile(ref, `${baseSha}\n`);
  await writeFile(join(gitdir, 'HEAD'), `ref: refs/heads/${req.branch}\n`);
  // origin/HEAD tells isomorphic-git's push what the remote already has; without it, a push
  // sends the whole tree (5,504 objects instead of 18 in the bench).
  await writeFile(join(gitdir, 'refs', 'remotes', 'origin', 'HEAD'), `ref: refs/remotes/origin/${req.base}\n`);
  await writeFile(
    join(gitdir, 'config'),
    `[core]\n${core.map((line) => `\t${line}\n`).join('')}[remote "origin"]\n\turl = ${configValue(req.url)}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n`,
  );
}

/**
 * [core] as `git init` would write it here: exec bits and symlinks kept (jgo runs on Linux and
 * macOS), and ignorecase when this disk does not tell CONFIG from config, found as git finds it.
 * Not copied from the mirror: isomorphic-git's init does not look, and writes false for both.
 */
async function probeCore(gitdir: string): Promise<string[]> {
  await writeFile(join(gitdir, 'config'), '');
  const folds = await stat(join(gitdir, 'CONFIG')).then(() => true, () => false);
  return ['repositoryformatversion = 0', 'filemode = true', 'bare = false', 'logallrefupdates = true', ...(folds ? ['ignorecase = true'] : [])];
}

async function nativeCopy(req: WorkingCopyRequest, refs: RefMap, baseSha: string, ctx: GitContext): Promise<void> {
  // The repository is written as files (what `git clone --local` would write, without its
  // transport: three processes fewer); git itself writes the index and the files.
  await writeGitDir(req, refs, baseSha);
  const result = await runGit(['read-tree', '--reset', '-u', 'HEAD'], { cwd: req.dest, env: ctx.env, signal: ctx.signal });
  if (result.code !== 0) throw new JgoError('worktree_failed', `git read-tree failed: ${result.stderr.trim().split('\n').at(-1) ?? ''}`, EXIT.failed);
}

/** A git config value, quoted so that any character reads back as written. */
function configValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

async function isoCopy(req: WorkingCopyRequest, refs: RefMap, baseSha: string): Promise<void> {
  await writeGitDir(req, refs, baseSha);
  const { git } = await iso();
  await git.checkout({ fs, dir: req.dest, ref: req.branch, force: true });
}

/** Makes the working copy; returns the commit it starts from. */
export async function makeWorkingCopy(req: WorkingCopyRequest, ctx: GitContext): Promise<{ baseSha: string }> {
  checkBranchName(req.base, 'base branch');
  checkBranchName(req.branch);
  // The mirror's refs, read once: the base, and origin's branches and the tags of the copy.
  const refs = req.refs ?? (await readLocalRefs(req.mirror));
  const baseSha = refs.get(`refs/heads/${req.base}`);
  if (baseSha === undefined) {
    throw new UsageError('base_not_found', `the mirror has no branch ${JSON.stringify(req.base)}`, {
      hint: 'Name an existing branch with --base, or run jgo-sync first.',
    });
  }
  await mkdir(join(req.dest, '..'), { recursive: true });
  if (ctx.engines.for('workingCopy') === 'native') await nativeCopy(req, refs, baseSha, ctx);
  else await isoCopy(req, refs, baseSha);
  return { baseSha };
}
