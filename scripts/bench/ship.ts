/**
 * Untimed helpers for the rows of jgo-ship and the push: working copies (jgo's, made by
 * jgo-worktree, and native git's, a `git clone --local` of the native mirror), the same change
 * written into both, commits, and the served repository's state.
 *
 * Every timed run needs a fresh working copy. One working copy per side is made once (a
 * template, kept while the served main stays where it was) and each run gets a copy of it
 * (copyWorkingCopy), its branch renamed to a fresh name and its index refreshed: to git, that is
 * a fresh working copy, without a jgo-worktree's setup per run.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { runGit as serverGit } from '../../test/helpers/git-server.js';
import { parseEnvelope, type BenchContext } from './context.js';
import type { Cmd } from './measure.js';
import { newFileText } from './repo.js';

/** jgo-ship's default identity; native git commits with the same. */
export const IDENTITY = { name: 'jgo', email: 'jgo@users.noreply.github.com' };

export interface WorkingCopy {
  /** The working tree (its .git inside). */
  dir: string;
  branch: string;
  /** The commit it starts from (the served main when it was made). */
  base: string;
}

export interface JgoTemplate extends WorkingCopy {
  cacheDir: string;
  /** jgo-worktree's output envelope. */
  envelope: Record<string, unknown>;
}

async function run(ctx: BenchContext, cmds: Cmd[]): Promise<string> {
  const sample = await ctx.runner.run(cmds, ctx.setupCapMs);
  if (sample.capped) throw new Error(`untimed setup took over ${ctx.setupCapMs / 1000} s: ${cmds.map((c) => c.argv.join(' ')).join('; ')}`);
  return sample.stdout;
}

/** jgo-worktree at the served main (the warm mirror caught up first). */
export async function jgoTemplate(ctx: BenchContext): Promise<JgoTemplate> {
  const { cacheDir, mirror } = await ctx.ensureWarm();
  const input = { jgo: 1, run_id: ctx.runId(), repo: { ref: ctx.ref, url: ctx.url }, mirror };
  const made = parseEnvelope(await run(ctx, [ctx.stage('jgo-worktree', cacheDir, input)]));
  // jgo-ship pushes to the push-counting proxy's URL for the served repository: another repository
  // URL than the mirror's, so the ship envelopes carry no mirror (a mirror is always repo.url's).
  const envelope: Record<string, unknown> = { ...made, repo: { ref: ctx.ref, url: ctx.pushUrl } };
  delete envelope.mirror;
  const wt = envelope.worktree as { path?: unknown; branch?: unknown; base_sha?: unknown } | undefined;
  if (typeof wt?.path !== 'string' || typeof wt.branch !== 'string' || typeof wt.base_sha !== 'string') throw new Error('jgo-worktree wrote no worktree');
  return { dir: wt.path, branch: wt.branch, base: wt.base_sha, cacheDir, envelope };
}

/** `git clone --local` of the native mirror on a new branch, origin set to the served URL (through the proxy). */
export async function nativeTemplate(ctx: BenchContext, base: string): Promise<WorkingCopy> {
  const mirror = await ctx.ensureNativeMirror();
  const dir = join(ctx.tmp('native-template'), 'repo');
  const branch = 'bench/native-template';
  await run(ctx, [
    ctx.git(['clone', '--local', '--quiet', '--branch', ctx.repo.branch, '--', mirror, dir]),
    ctx.git(['remote', 'set-url', 'origin', ctx.pushUrl], dir),
    ctx.git(['checkout', '--quiet', '-b', branch], dir),
  ]);
  const head = (await run(ctx, [ctx.git(['rev-parse', 'HEAD'], dir)])).trim();
  if (head !== base) throw new Error(`the native working copy starts at ${head}, jgo's at ${base}: the mirrors differ`);
  return { dir, branch, base };
}

/**
 * Copies a working copy: the working tree and the objects hardlinked (nothing writes them in
 * place: git and isomorphic-git write new objects as new files, and the bench's edits replace
 * files by renaming over them), the rest of .git (index, refs, logs, config) copied, since git
 * appends to logs and isomorphic-git rewrites the index in place. 0.3 s for 5,000 files where a
 * full `cp -a` takes 1 s.
 */
const COPY_SCRIPT = `set -e
cp -al "$1" "$2"
rm -rf "$2/.git"
mkdir "$2/.git"
for f in "$1"/.git/*; do
  if [ "\${f##*/}" = objects ]; then cp -al "$f" "$2/.git/"; else cp -a "$f" "$2/.git/"; fi
done`;

/** A fresh working copy from a template, on a fresh branch, its index refreshed. */
export async function copyWorkingCopy(ctx: BenchContext, template: WorkingCopy, branch: string, dest?: string): Promise<WorkingCopy> {
  // jgo's copies go where jgo-ship looks for a run's working copy ($JGO_CACHE_DIR/work/<run_id>/repo);
  // the native side's anywhere, inside a directory of its own.
  const dir = dest ?? join(ctx.tmp('wc'), 'repo');
  const parent = dirname(dir);
  await mkdir(parent, { recursive: true });
  await run(ctx, [
    { argv: ['sh', '-c', COPY_SCRIPT, 'copy', template.dir, dir], env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, cwd: parent },
    ctx.git(['branch', '-m', template.branch, branch], dir),
    // Inodes and ctimes are not what the index recorded: refreshed, git sees the clean tree it is.
    ctx.git(['update-index', '-q', '--refresh'], dir),
  ]);
  return { dir, branch, base: template.base };
}

export interface Change {
  /** Path -> new content: three edited files and one new file. */
  files: Record<string, string>;
  paths: string[];
}

/**
 * The change a codex run might leave: three existing files edited (a line changed, a few
 * inserted) and one new file. Read from a working copy at the base; written into both sides.
 */
export async function makeChange(ctx: BenchContext, dir: string, rand: () => number, n: number): Promise<Change> {
  const files: Record<string, string> = {};
  const pool = ctx.repo.paths;
  while (Object.keys(files).length < 3) {
    const path = pool[Math.floor(rand() * pool.length)];
    if (path === undefined || files[path] !== undefined) continue;
    const lines = (await readFile(join(dir, path), 'utf8')).split('\n');
    const fresh = newFileText(rand).split('\n').filter((l) => l !== '');
    lines[Math.floor(rand() * lines.length)] = fresh[0] ?? 'changed';
    lines.splice(Math.floor(rand() * lines.length), 0, ...fresh.slice(1, 4));
    files[path] = lines.join('\n');
  }
  files[`docs/bench/notes-${n}.md`] = `# Notes ${n}\n\n${newFileText(rand)}`;
  return { files, paths: Object.keys(files).sort() };
}

/** Writes the change: each file replaced by a rename, never written in place (it may be a hardlink to the template's). */
export async function writeChange(dir: string, change: Change): Promise<void> {
  for (const [path, content] of Object.entries(change.files)) {
    const file = join(dir, path);
    await mkdir(dirname(file), { recursive: true });
    await writeFile(`${file}.bench-new`, content);
    await rename(`${file}.bench-new`, file);
  }
}

const identity = ['-c', `user.name=${IDENTITY.name}`, '-c', `user.email=${IDENTITY.email}`];

/** What `git add -A && git commit -m … ` runs (native side of ship, and the untimed commits before a push). */
export function commitCmds(ctx: BenchContext, dir: string, message: string): Cmd[] {
  return [ctx.git([...identity, 'add', '-A'], dir), ctx.git([...identity, 'commit', '--quiet', '--no-verify', '-m', message], dir)];
}

export async function commit(ctx: BenchContext, dir: string, message: string): Promise<string> {
  await run(ctx, commitCmds(ctx, dir, message));
  return head(ctx, dir);
}

export async function head(ctx: BenchContext, dir: string): Promise<string> {
  return (await run(ctx, [ctx.git(['rev-parse', 'HEAD'], dir)])).trim();
}

/** Objects reachable from HEAD and not from the base: what a push of this branch needs to send. */
export async function newObjectCount(ctx: BenchContext, dir: string, base: string): Promise<number> {
  const out = await run(ctx, [ctx.git(['rev-list', '--objects', 'HEAD', '--not', base], dir)]);
  return out.split('\n').filter((l) => l.trim() !== '').length;
}

const servedGitDir = (ctx: BenchContext) => `--git-dir=${join(ctx.server.root, ctx.repoName)}`;

/** The served repository's branches and their commits (one git run). */
export async function servedBranches(ctx: BenchContext): Promise<Map<string, string>> {
  const { stdout } = await serverGit(ctx.server, [servedGitDir(ctx), 'for-each-ref', '--format=%(objectname) %(refname)', 'refs/heads/']);
  const branches = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const [sha, ref] = line.split(' ');
    if (sha && ref?.startsWith('refs/heads/')) branches.set(ref.slice('refs/heads/'.length), sha);
  }
  return branches;
}

/** Deletes these branches from the served repository, those that exist (one git run). */
export async function deleteServed(ctx: BenchContext, branches: string[], existing?: Map<string, string>): Promise<void> {
  const served = existing ?? (await servedBranches(ctx));
  const doomed = branches.filter((b) => served.has(b));
  if (doomed.length === 0) return;
  await serverGit(ctx.server, [servedGitDir(ctx), 'update-ref', '--stdin'], { input: doomed.map((b) => `delete refs/heads/${b}\n`).join('') });
}

/** Puts the served default branch back where it was (after a run that moved it). */
export async function resetServedMain(ctx: BenchContext, sha: string): Promise<void> {
  await serverGit(ctx.server, [servedGitDir(ctx), 'update-ref', `refs/heads/${ctx.repo.branch}`, sha]);
}

/** The prefix of --refs's branches: part of the served repository, never a run's leftover. */
export const EXTRA_BRANCHES = 'bench/ref-';

/** Branches on the served repository that a bench run pushed and did not delete. */
export async function leftoverBranches(ctx: BenchContext): Promise<string[]> {
  return [...(await servedBranches(ctx)).keys()].filter((b) => (b.startsWith('jgo/') || b.startsWith('bench/')) && !b.startsWith(EXTRA_BRANCHES));
}

/** The fake codex (test/helpers/fake-codex.mjs) answering the commit plan at once: one commit of `paths`. */
export async function planScript(dir: string, subject: string, paths: string[]): Promise<string> {
  const file = join(dir, 'fake-codex-script.json');
  const plan = { commits: [{ subject, body: '', paths }] };
  const script = {
    login: 'ok',
    steps: [
      { event: { type: 'thread.started', thread_id: '01a20a82-b8d4-7441-bc3d-5e4fdd50ae6b' } },
      { event: { type: 'turn.started' } },
      { event: { type: 'item.completed', item: { id: 'm1', type: 'agent_message', text: JSON.stringify(plan) } } },
      { event: { type: 'turn.completed', usage: { input_tokens: 1, cached_input_tokens: 0, output_tokens: 1, reasoning_output_tokens: 0 } } },
    ],
  };
  await mkdir(dir, { recursive: true });
  await writeFile(file, JSON.stringify(script));
  return file;
}

export function fakeCodexPath(ctx: BenchContext): string {
  return join(ctx.repoRoot, 'test', 'helpers', 'fake-codex.mjs');
}

