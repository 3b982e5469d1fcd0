/**
 * Bringing the remote into a mirror with git: a fetch into an existing mirror, or a new mirror
 * built at a temporary path and renamed into place, so a sync killed mid-clone leaves nothing
 * half-made where the next one looks.
 */
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JgoError, EXIT } from '../errors.js';
import { mirrorName } from '../cache.js';
import { credentialsFor } from './auth.js';
import type { GitContext } from './context.js';
import { classifyGitFailure, runGit } from './native.js';
import { readHeadBranch } from './refs.js';
import { exists, MARKER } from './mirror-store.js';

/** Branches and tags, nothing else: a remote's refs/pull/* can run to thousands. */
const REFSPECS = ['+refs/heads/*:refs/heads/*', '+refs/tags/*:refs/tags/*'];

/** `git fetch` of every branch and tag into the mirror at `path`, pruning what the remote dropped. */
export async function fetchInto(path: string, url: string, ctx: GitContext): Promise<void> {
  const credentials = credentialsFor(ctx.credentials, url);
  const tty = ctx.stderr.isTTY === true;
  const args = ['fetch', '--prune', '--no-write-fetch-head', tty ? '--progress' : '--quiet', url, ...REFSPECS];
  const result = await runGit(args, { cwd: path, credentials, env: ctx.env, signal: ctx.signal, stderr: tty ? ctx.stderr : undefined });
  if (result.code !== 0) throw classifyGitFailure(result.stderr, url, credentials);
}

/** A new, empty bare repository set up as a mirror of `url` (no credentials anywhere in it). */
async function initMirror(path: string, url: string, defaultBranch: string, ctx: GitContext): Promise<void> {
  const init = await runGit(['init', '--bare', '--quiet', `--initial-branch=${defaultBranch}`, path], { env: ctx.env });
  if (init.code !== 0) throw new JgoError('git_failed', `git init failed: ${init.stderr.trim()}`, EXIT.failed);
  // Appended as text, one write for what would be a `git config` process per key.
  // Packs are kept as they arrive (unpackLimit 1): a few files to verify and for working copies
  // to link, instead of thousands of loose objects. No automatic gc: objects a working copy is
  // being made from stay where they are until the next sync, which holds the lock.
  const config = await readFile(join(path, 'config'), 'utf8');
  const fetch = REFSPECS.map((spec) => `\tfetch = ${spec}\n`).join('');
  await writeFile(join(path, 'config'), `${config.trimEnd()}\n[remote "origin"]\n\turl = ${url}\n${fetch}[gc]\n\tauto = 0\n[transfer]\n\tunpackLimit = 1\n`);
}

/** Points the mirror's HEAD at the remote's default branch, unless it already does. */
export async function setHead(path: string, branch: string): Promise<void> {
  if ((await readHeadBranch(path)) !== branch) await writeFile(join(path, 'HEAD'), `ref: refs/heads/${branch}\n`);
}

/** Builds a mirror at a temporary path and renames it into place (over a broken one, if any). */
export async function build(path: string, url: string, defaultBranch: string, ctx: GitContext): Promise<void> {
  const tmp = join(path, '..', '.tmp', `${mirrorName(url)}-${process.pid}-${process.getBuiltinModule('node:crypto').randomBytes(3).toString('hex')}`);
  await mkdir(tmp, { recursive: true });
  try {
    await initMirror(tmp, url, defaultBranch, ctx);
    await fetchInto(tmp, url, ctx);
    await writeFile(join(tmp, MARKER), JSON.stringify({ url, created: new Date().toISOString() }) + '\n');
    if (await exists(path)) {
      const trash = `${path}.trash-${process.pid}-${Date.now()}`;
      await rename(path, trash);
      await rename(tmp, path);
      await rm(trash, { recursive: true, force: true });
    } else {
      await rename(tmp, path);
    }
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
}
