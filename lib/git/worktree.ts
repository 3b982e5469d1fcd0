/**
 * The per-run working copy: an ordinary repository (native git must accept it, because codex
 * runs git in it) made from the mirror without touching the network, its objects hardlinked
 * rather than copied, checked out on a new branch, with `origin` pointing at the real remote.
 */
import { copyFile, link, mkdir, readdir, writeFile, readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { JgoError, EXIT, UsageError } from '../errors.js';
import type { GitContext } from './mirror.js';
import { runGit } from './native.js';
import { fs, iso } from './iso.js';
import { readLocalRefs } from './refs.js';

export interface WorkingCopyRequest {
  mirror: string;
  /** The real remote: the working copy's origin. */
  url: string;
  dest: string;
  base: string;
  branch: string;
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

async function linkTree(from: string, to: string): Promise<void> {
  await mkdir(to, { recursive: true });
  const entries = await readdir(from, { withFileTypes: true }).catch(() => []);
  await Promise.all(
    entries.map(async (e) => {
      const src = join(from, e.name);
      const dst = join(to, e.name);
      if (e.isDirectory()) return linkTree(src, dst);
      // Objects never change once written, so sharing the inode is safe; across devices, copy.
      await link(src, dst).catch(() => copyFile(src, dst));
    }),
  );
}

async function nativeCopy(req: WorkingCopyRequest, ctx: GitContext): Promise<void> {
  const run = async (args: string[], cwd?: string) => {
    // The clone reads a local path: allow the file transport for this call alone.
    const result = await runGit(args, { cwd, env: ctx.env, signal: ctx.signal, config: [['protocol.file.allow', 'always']] });
    if (result.code !== 0) throw new JgoError('worktree_failed', `git ${args[0]} failed: ${result.stderr.trim().split('\n').at(-1) ?? ''}`, EXIT.failed);
  };
  // --local hardlinks the mirror's objects; --no-hardlinks would copy them (measured in bench).
  await run(['clone', '--quiet', '--local', '--branch', req.base, '--', req.mirror, req.dest]);
  // What `git remote set-url` and `git checkout -b` would do, as the file writes they come to:
  // the new branch starts where the checkout already is, so neither index nor files change.
  // Two processes fewer on every run.
  const gitdir = join(req.dest, '.git');
  const config = await readFile(join(gitdir, 'config'), 'utf8');
  const origin = /(\[remote "origin"\]\n(?:\t[^\n]*\n)*?)\turl = [^\n]*\n/.exec(config);
  if (!origin) throw new JgoError('worktree_failed', 'git clone wrote no origin to the working copy', EXIT.failed);
  await writeFile(join(gitdir, 'config'), config.replace(origin[0], `${origin[1]}\turl = ${configValue(req.url)}\n`));
  const head = (await readFile(join(gitdir, 'HEAD'), 'utf8')).trim();
  const at = (await readLocalRefs(gitdir)).get(`refs/heads/${req.base}`);
  if (head !== `ref: refs/heads/${req.base}` || at === undefined) throw new JgoError('worktree_failed', `git clone did not check out ${req.base}`, EXIT.failed);
  const ref = join(gitdir, 'refs', 'heads', ...req.branch.split('/'));
  await mkdir(dirname(ref), { recursive: true });
  await writeFile(ref, `${at}\n`, { flag: 'wx' });
  await writeFile(join(gitdir, 'HEAD'), `ref: refs/heads/${req.branch}\n`);
}

/** A git config value, quoted so that any character reads back as written. */
function configValue(value: string): string {
  return `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"`;
}

async function isoCopy(req: WorkingCopyRequest, baseSha: string): Promise<void> {
  const { git } = await iso();
  const gitdir = join(req.dest, '.git');
  await git.init({ fs, dir: req.dest, defaultBranch: req.branch });
  await linkTree(join(req.mirror, 'objects'), join(gitdir, 'objects'));
  const refs = await readLocalRefs(req.mirror);
  const entries: Array<[string, string]> = [[`refs/heads/${req.branch}`, baseSha]];
  for (const [name, sha] of refs) entries.push([name.startsWith('refs/heads/') ? `refs/remotes/origin/${name.slice(11)}` : name, sha]);
  // Git binary-searches a packed-refs file that declares itself sorted: it must be.
  entries.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const lines = ['# pack-refs with: sorted', ...entries.map(([name, sha]) => `${sha} ${name}`)];
  await writeFile(join(gitdir, 'packed-refs'), `${lines.join('\n')}\n`);
  // isomorphic-git's init writes filemode=false, symlinks=false, ignorecase=true, which would hide
  // exec bits and symlinks from the native git that codex runs here. Say what this disk does.
  const config = (await readFile(join(gitdir, 'config'), 'utf8'))
    .replace(/\tfilemode = false/, '\tfilemode = true')
    .replace(/\tsymlinks = false/, '\tsymlinks = true')
    .replace(/\tignorecase = true/, '\tignorecase = false');
  await writeFile(
    join(gitdir, 'config'),
    `${config.trimEnd()}\n[remote "origin"]\n\turl = ${req.url}\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n[branch "${req.base}"]\n\tremote = origin\n\tmerge = refs/heads/${req.base}\n`,
  );
  // origin/HEAD tells isomorphic-git's push what the remote already has; without it, a push
  // sends the whole tree (5,504 objects instead of 18 in the bench).
  await writeFile(join(gitdir, 'refs', 'remotes', 'origin', 'HEAD'), `ref: refs/remotes/origin/${req.base}\n`).catch(async () => {
    await mkdir(join(gitdir, 'refs', 'remotes', 'origin'), { recursive: true });
    await writeFile(join(gitdir, 'refs', 'remotes', 'origin', 'HEAD'), `ref: refs/remotes/origin/${req.base}\n`);
  });
  await git.checkout({ fs, dir: req.dest, ref: req.branch, force: true });
}

/** Makes the working copy; returns the commit it starts from. */
export async function makeWorkingCopy(req: WorkingCopyRequest, ctx: GitContext): Promise<{ baseSha: string }> {
  checkBranchName(req.base, 'base branch');
  checkBranchName(req.branch);
  const baseSha = (await readLocalRefs(req.mirror)).get(`refs/heads/${req.base}`);
  if (baseSha === undefined) {
    throw new UsageError('base_not_found', `the mirror has no branch ${JSON.stringify(req.base)}`, {
      hint: 'Name an existing branch with --base, or run jgo-sync first.',
    });
  }
  await mkdir(join(req.dest, '..'), { recursive: true });
  if (ctx.engines.for('workingCopy') === 'native') await nativeCopy(req, ctx);
  else await isoCopy(req, baseSha);
  return { baseSha };
}
