/**
 * `--repo`: the benchmark on a repository that exists instead of the generated one. A path (a
 * bare or non-bare git repository on disk) or an http(s) URL. The served copy is a
 * `git clone --bare --no-local` of it (packed as a host keeps it, the source never written to);
 * a URL is first cloned with `git clone --mirror` into a cache under os.tmpdir(), reused by the
 * next run. Every row then runs unchanged against the served copy.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { packBytes, type BenchRepo, type GitRunner } from './repo.js';

export type RepoSource = { kind: 'path'; path: string } | { kind: 'url'; url: string };

/** --repo names no repository the bench can use: a usage error, one line. */
export class RepoProblem extends Error {}

/**
 * Checks --repo before anything starts: a URL's form (no credentials in it), or a path's being a
 * git repository with a commit (`git ls-remote` enters the path itself, never a parent of it).
 */
export function checkRepoSource(raw: string, env: NodeJS.ProcessEnv): RepoSource {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(raw)) {
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      throw new RepoProblem(`--repo: ${JSON.stringify(raw)} is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new RepoProblem(`--repo: only http(s) URLs or local paths, not ${url.protocol}`);
    if (url.username !== '' || url.password !== '') throw new RepoProblem('--repo: no credentials in the URL (a git credential helper gives them to git)');
    return { kind: 'url', url: url.href };
  }
  const path = resolve(raw);
  if (!existsSync(path)) throw new RepoProblem(`--repo: ${path} does not exist`);
  const probe = spawnSync('git', ['ls-remote', path, 'HEAD'], { encoding: 'utf8', env, timeout: 60_000 });
  if (probe.status !== 0) throw new RepoProblem(`--repo: ${path} is not a git repository`);
  if (!/^[0-9a-f]{40,64}\tHEAD$/m.test(probe.stdout)) throw new RepoProblem(`--repo: ${path} has no commit at HEAD`);
  return { kind: 'path', path };
}

export function sourceName(source: RepoSource): string {
  return source.kind === 'path' ? source.path : source.url;
}

/** Where a URL's mirror is cached: one per URL. */
export function mirrorCachePath(url: string): string {
  const slug = new URL(url).pathname.replace(/\.git$/, '').split('/').filter(Boolean).slice(-2).join('-').replace(/[^A-Za-z0-9._-]/g, '_');
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 12);
  return join(tmpdir(), `jgo-bench-mirror-${slug || 'repo'}-${hash}.git`);
}

const COMPLETE = 'jgo-bench-mirror-complete';

/** The URL's mirror in the cache: cloned now unless a complete one is there. */
async function cachedMirror(url: string, git: GitRunner, log: (line: string) => void): Promise<{ path: string; cached: boolean }> {
  const path = mirrorCachePath(url);
  if (existsSync(join(path, COMPLETE))) {
    log(`using the cached mirror ${path} of ${url}: clone skipped`);
    return { path, cached: true };
  }
  log(`cloning ${url} (git clone --mirror, cached afterwards at ${path})`);
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  try {
    await git(['clone', '--mirror', '--quiet', url, tmp]);
    await writeFile(join(tmp, COMPLETE), `${url}\n`);
    await rm(path, { recursive: true, force: true });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return { path, cached: false };
}

/** The regular files of the tip (`git ls-tree -r`), and how many blobs it has in all (symlinks too). */
async function tipFiles(git: GitRunner, gitDir: string): Promise<{ count: number; regular: Set<string> }> {
  const out = await git(['--git-dir', gitDir, 'ls-tree', '-r', '-z', 'HEAD']);
  const regular = new Set<string>();
  let count = 0;
  for (const entry of out.split('\0')) {
    const m = /^(\d{6}) (\w+) [0-9a-f]+\t(.*)$/s.exec(entry);
    if (!m || m[2] !== 'blob') continue;
    count++;
    if (m[1] === '100644' || m[1] === '100755') regular.add(m[3] as string);
  }
  return { count, regular };
}

/** The tip's text files (git grep -I: not binary, not empty): the ones rows edit. */
async function textFiles(git: GitRunner, gitDir: string, regular: Set<string>): Promise<string[]> {
  // git grep exits 1 when nothing matches (a repository of binaries only).
  const out = await git(['--git-dir', gitDir, 'grep', '-I', '-l', '-z', '-e', '', 'HEAD']).catch(() => '');
  return out
    .split('\0')
    .map((p) => p.replace(/^HEAD:/, ''))
    .filter((p) => regular.has(p))
    .sort();
}

/** The served copy of --repo's repository at `dest`, and what the report says of it. */
export async function sourceRepo(source: RepoSource, dest: string, git: GitRunner, log: (line: string) => void): Promise<BenchRepo> {
  const started = Date.now();
  const from = source.kind === 'url' ? await cachedMirror(source.url, git, log) : { path: source.path, cached: false };
  await mkdir(dirname(dest), { recursive: true });
  await git(['clone', '--bare', '--no-local', '--quiet', from.path, dest]);
  const branch = (await git(['--git-dir', dest, 'symbolic-ref', '--short', 'HEAD'])).trim();
  await git(['--git-dir', dest, 'rev-parse', '--verify', '--quiet', 'HEAD^{commit}']).catch(() => {
    throw new Error(`${sourceName(source)}: its HEAD names ${branch}, a branch it does not have`);
  });
  const { count, regular } = await tipFiles(git, dest);
  const paths = await textFiles(git, dest, regular);
  if (paths.length < 4) throw new Error(`${sourceName(source)}: its ${branch} has ${paths.length} text files; the rows edit at least 4`);
  const commits = Number((await git(['--git-dir', dest, 'rev-list', '--count', 'HEAD'])).trim());
  const bytes = await packBytes(dest);
  log(`serving a copy of ${sourceName(source)}: ${count} files, ${commits} commits on ${branch}, pack ${(bytes / 1024 / 1024).toFixed(1)} MiB (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  return { files: count, commits, path: dest, source: source.kind, name: sourceName(source), cached: from.cached, packBytes: bytes, branch, paths };
}
