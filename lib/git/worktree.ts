/**
 * The per-run working copy: an ordinary repository (native git must accept it, because codex
 * runs git in it) made from the mirror without touching the network, its objects hardlinked
 * rather than copied, checked out on a new branch, with `origin` pointing at the real remote.
 */
import { constants, copyFileSync, linkSync, mkdirSync, readdirSync, type Dirent } from 'node:fs';
import { mkdir, readdir, stat, writeFile } from 'node:fs/promises';
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
  listed?: (dir: string) => void;
}

/**
 * Hardlinks (else copies) a mirror's object store into a working copy's. Objects never change
 * once written, so sharing the inode is safe.
 *
 * Done without the mirror's lock, so another run's jgo-sync may pack the mirror's loose objects
 * meanwhile (`git repack -d`): a loose object listed here can be gone when it is linked, and is
 * then skipped. git writes the new pack, its index last, before it removes the loose objects, and
 * the walk takes the loose objects' directories (00-ff) first and the pack directory last: by the
 * time it lists the packs, the pack of any loose object that vanished is there.
 *
 * Synchronous: a mirror holds up to a few hundred loose objects in as many fan-out directories,
 * and each mkdir, readdir and link sent through libuv's thread pool waited its turn on two busy
 * cores (50 loose objects: 14-19 ms, against 5-7 ms on this thread, on an idle machine).
 */
export function linkObjects(from: string, to: string, hooks: LinkHooks = {}): void {
  const walk = (src: string, dst: string): void => {
    mkdirSync(dst, { recursive: true });
    let entries: Dirent[];
    try {
      entries = readdirSync(src, { withFileTypes: true });
    } catch {
      return;
    }
    hooks.listed?.(src);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const e of entries) {
      if (e.isDirectory()) walk(join(src, e.name), join(dst, e.name));
      else share(join(src, e.name), join(dst, e.name));
    }
  };
  walk(from, to);
}

/** One object file shared, unless its source has vanished (packed away meanwhile). */
function share(src: string, dst: string): void {
  const code = (error: unknown) => (error as NodeJS.ErrnoException).code;
  try {
    linkSync(src, dst);
    return;
  } catch (error) {
    // Already there: never copied onto, as it may be the mirror's own inode.
    if (code(error) === 'EEXIST' || code(error) === 'ENOENT') return;
  }
  try {
    // Across devices: a copy, never over an existing file.
    copyFileSync(src, dst, constants.COPYFILE_EXCL);
  } catch (error) {
    if (code(error) !== 'EEXIST' && code(error) !== 'ENOENT') throw error;
  }
}

async function writeGitDir(req: WorkingCopyRequest, refs: RefMap, baseSha: string): Promise<void> {
  const gitdir = join(req.dest, '.git');
  await mkdir(join(gitdir, 'refs', 'tags'), { recursive: true });
  const core = await probeCore(gitdir);
  await mkdir(join(gitdir, 'refs', 'remotes', 'origin'), { recursive: true });
  linkObjects(join(req.mirror, 'objects'), join(gitdir, 'objects'));
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
