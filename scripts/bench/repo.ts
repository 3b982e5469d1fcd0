/**
 * The benchmark's repository: generated with one `git fast-import` stream (files spread across
 * directories, text of 1-8 KiB, each commit editing a few files and adding some), repacked as a
 * hosting service would keep it, and cached under os.tmpdir() keyed by its size, so a rerun
 * skips generation. Deterministic: the same size gives the same history, shas aside (dates).
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Bump when the generator changes, so stale caches are not reused. */
const GENERATOR_VERSION = 1;
const MARKER = 'jgo-bench-repo.json';

export interface RepoSize {
  files: number;
  commits: number;
}

export interface BenchRepo extends RepoSize {
  /** The bare repository (the cache: copy it before changing it). */
  path: string;
  /** Where it comes from: generated here, or --repo's path or URL (what the report names). */
  source: 'generated' | 'path' | 'url';
  name: string;
  /** Whether it came from the cache (a generated one, or a URL's mirror). */
  cached: boolean;
  /** Bytes of its packs: what a clone transfers, near enough. */
  packBytes: number;
  /** The default branch and the paths of its tip's text files (for later commits and edits). */
  branch: string;
  paths: string[];
}

/** A small seeded PRNG (mulberry32): the same size always gives the same repository. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = (
  'alpha beta gamma delta branch commit mirror fetch worktree stage envelope config value result error ' +
  'request response handler buffer stream parse format render index cache token client server route ' +
  'update create delete insert select filter reduce map options context logger metric retry timeout ' +
  'session user account widget install build release version module package import export return const ' +
  'let async await function class interface type string number boolean array object promise signal'
).split(' ');
const TOP = ['src', 'lib', 'pkg', 'internal', 'cmd', 'docs', 'test', 'web', 'scripts', 'config'];
const EXT = ['.ts', '.ts', '.ts', '.go', '.py', '.md', '.json', '.css', '.sh', '.txt'];

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)] as T;
}

function line(rand: () => number): string {
  const indent = '  '.repeat(Math.floor(rand() * 4));
  const n = 2 + Math.floor(rand() * 9);
  const words: string[] = [];
  for (let i = 0; i < n; i++) words.push(pick(rand, WORDS));
  const shape = rand();
  if (shape < 0.15) return `${indent}// ${words.join(' ')}`;
  if (shape < 0.3) return `${indent}${words[0]} ${words[1]}(${words.slice(2).join(', ')}) {`;
  if (shape < 0.4) return `${indent}}`;
  return `${indent}${words[0]} ${words[1]} = ${words.slice(2).join('.')}(${Math.floor(rand() * 1000)});`;
}

/** 1 to 8 KiB, most files small: 1 KiB + 7 KiB x r^2. */
function fileText(rand: () => number): string[] {
  const target = 1024 + Math.floor(7 * 1024 * rand() * rand());
  const lines: string[] = [];
  let size = 0;
  while (size < target) {
    const l = line(rand);
    lines.push(l);
    size += l.length + 1;
  }
  return lines;
}

/** An edit as people make them: a few lines changed, some inserted, kept under 8 KiB. */
function edit(rand: () => number, lines: string[]): void {
  const changes = 1 + Math.floor(rand() * 3);
  for (let i = 0; i < changes; i++) lines[Math.floor(rand() * lines.length)] = line(rand);
  const inserts = Math.floor(rand() * 6);
  const at = Math.floor(rand() * (lines.length + 1));
  const added: string[] = [];
  for (let i = 0; i < inserts; i++) added.push(line(rand));
  lines.splice(at, 0, ...added);
  while (lines.join('\n').length > 8 * 1024) lines.splice(Math.floor(rand() * lines.length), 1);
}

/** `files` paths: about 20 files a directory, one to three levels under a top-level folder. */
function makePaths(rand: () => number, files: number): string[] {
  const dirs: string[] = [];
  const ndirs = Math.max(1, Math.ceil(files / 20));
  const seen = new Set<string>();
  while (dirs.length < ndirs) {
    const depth = 1 + Math.floor(rand() * 3);
    const parts = [pick(rand, TOP)];
    for (let i = 0; i < depth; i++) parts.push(`${pick(rand, WORDS)}${rand() < 0.3 ? `_${Math.floor(rand() * 10)}` : ''}`);
    const dir = parts.join('/');
    if (!seen.has(dir)) {
      seen.add(dir);
      dirs.push(dir);
    }
  }
  const paths: string[] = [];
  for (let i = 0; i < files; i++) paths.push(`${pick(rand, dirs)}/${pick(rand, WORDS)}_${i}${pick(rand, EXT)}`);
  return paths;
}

function data(text: string): string {
  return `data ${Buffer.byteLength(text)}\n${text}\n`;
}

export interface GitRunner {
  (args: string[], options?: { cwd?: string; input?: AsyncIterable<string> | string }): Promise<string>;
}

/** Runs git with an isolated environment (no system or user config), streaming stdin. */
export function gitRunner(env: NodeJS.ProcessEnv): GitRunner {
  return (args, options = {}) =>
    new Promise((resolve, reject) => {
      const child = spawn('git', args, { cwd: options.cwd, env, stdio: ['pipe', 'pipe', 'pipe'] });
      const out: Buffer[] = [];
      let err = '';
      child.stdout.on('data', (d: Buffer) => out.push(d));
      child.stderr.on('data', (d: Buffer) => {
        if (err.length < 8192) err += d.toString('utf8');
      });
      child.stdin.on('error', () => {});
      child.once('error', reject);
      child.once('close', (code) => {
        if (code === 0) resolve(Buffer.concat(out).toString('utf8'));
        else reject(new Error(`git ${args.join(' ')} failed (exit ${code}): ${err.trim().slice(-2000)}`));
      });
      const input = options.input;
      if (input === undefined || typeof input === 'string') {
        child.stdin.end(input ?? '');
        return;
      }
      void (async () => {
        try {
          for await (const chunk of input) {
            if (!child.stdin.write(chunk)) await new Promise<void>((r) => child.stdin.once('drain', () => r()));
          }
        } finally {
          child.stdin.end();
        }
      })().catch(reject);
    });
}

/** The fast-import stream: one commit at a time, so memory stays small. */
async function* history(size: RepoSize, paths: string[], rand: () => number): AsyncGenerator<string> {
  const contents: string[][] = [];
  const commits = Math.max(1, size.commits);
  // Three files in five exist from the start; the rest arrive over the history.
  const initial = commits === 1 ? paths.length : Math.max(1, Math.ceil(paths.length * 0.6));
  const later = paths.length - initial;
  let created = 0;
  const epoch = 1_600_000_000;
  const tags = Math.max(1, Math.floor(commits / 200));
  for (let c = 0; c < commits; c++) {
    const when = epoch + c * 3600;
    const who = (n: number) => `Dev ${n} <dev${n}@example.invalid> ${when} +0000`;
    const author = Math.floor(rand() * 12);
    let chunk = `commit refs/heads/main\nmark :${c + 1}\nauthor ${who(author)}\ncommitter ${who(author)}\n`;
    const upTo = c === 0 ? initial : initial + Math.floor((c * later) / Math.max(1, commits - 1));
    const touched: string[] = [];
    if (c > 0) {
      const edits = 1 + Math.floor(rand() * 4);
      for (let e = 0; e < edits; e++) {
        const i = Math.floor(rand() * created);
        const lines = contents[i];
        if (!lines) continue;
        edit(rand, lines);
        touched.push(`M 100644 inline ${paths[i]}\n${data(`${lines.join('\n')}\n`)}`);
      }
    }
    for (; created < upTo; created++) {
      const lines = fileText(rand);
      contents[created] = lines;
      touched.push(`M 100644 inline ${paths[created]}\n${data(`${lines.join('\n')}\n`)}`);
    }
    const subject = c === 0 ? 'Initial import' : `${pick(rand, ['fix', 'feat', 'refactor', 'docs', 'test', 'chore'])}: ${pick(rand, WORDS)} ${pick(rand, WORDS)} ${pick(rand, WORDS)}`;
    chunk += data(`${subject}\n`);
    // File by file: a first commit of 30,000 files (--preset many) is tens of MiB of text.
    yield chunk;
    yield* touched;
    // A few branches and annotated tags along the way, as real repositories have.
    if (c > 0 && c % Math.max(1, Math.floor(commits / tags)) === 0) {
      yield `tag v0.${c}.0\nfrom :${c + 1}\ntagger ${who(0)}\n${data(`Release 0.${c}.0\n`)}`;
    }
    if (c === Math.floor(commits * 0.7) || c === Math.floor(commits * 0.9)) {
      yield `reset refs/heads/release-${c}\nfrom :${c + 1}\n\n`;
    }
  }
  yield 'done\n';
}

function generatedName(size: RepoSize): string {
  return `generated (${size.files} files, ${size.commits} commits)`;
}

export async function packBytes(repo: string): Promise<number> {
  const dir = join(repo, 'objects', 'pack');
  let total = 0;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    if (name.endsWith('.pack')) total += (await stat(join(dir, name))).size;
  }
  return total;
}

/** The sizes --preset names; `default` is the bench's own default. */
export const PRESETS: Readonly<Record<string, RepoSize>> = {
  default: { files: 5000, commits: 2000 },
  many: { files: 50_000, commits: 200 },
};

export function repoCachePath(size: RepoSize): string {
  return join(tmpdir(), `jgo-bench-repo-v${GENERATOR_VERSION}-f${size.files}-c${size.commits}.git`);
}

/** The cached repository for this size, generated first when missing. */
export async function benchRepo(size: RepoSize, git: GitRunner, log: (line: string) => void): Promise<BenchRepo> {
  const path = repoCachePath(size);
  const paths = makePaths(prng(size.files * 7919 + 1), size.files);
  if (existsSync(join(path, MARKER))) {
    const marker = JSON.parse(await readFile(join(path, MARKER), 'utf8')) as { files?: number; commits?: number };
    if (marker.files === size.files && marker.commits === size.commits) {
      log(`using the cached repository ${path} (${size.files} files, ${size.commits} commits): generation skipped`);
      return { ...size, path, source: 'generated', name: generatedName(size), cached: true, packBytes: await packBytes(path), branch: 'main', paths };
    }
  }
  const started = Date.now();
  log(`generating a repository of ${size.files} files and ${size.commits} commits (cached afterwards at ${path})`);
  const tmp = `${path}.tmp-${process.pid}`;
  await rm(tmp, { recursive: true, force: true });
  await mkdir(tmp, { recursive: true });
  try {
    await git(['init', '--quiet', '--bare', '--initial-branch=main', tmp]);
    await git(['--git-dir', tmp, 'fast-import', '--quiet', '--done'], { input: history(size, paths, prng(size.commits * 104729 + size.files)) });
    // As a host keeps it: one pack, deltas recomputed (fast-import's are only against the previous version).
    await git(['--git-dir', tmp, 'repack', '-a', '-d', '-f', '-q', '--window=10', '--depth=50']);
    await git(['--git-dir', tmp, 'pack-refs', '--all']);
    await writeFile(join(tmp, MARKER), JSON.stringify({ ...size, generator: GENERATOR_VERSION }) + '\n');
    await rm(path, { recursive: true, force: true });
    await rename(tmp, path);
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  const bytes = await packBytes(path);
  log(`generated in ${((Date.now() - started) / 1000).toFixed(1)} s: pack ${(bytes / 1024 / 1024).toFixed(1)} MiB`);
  return { ...size, path, source: 'generated', name: generatedName(size), cached: false, packBytes: bytes, branch: 'main', paths };
}

/** New text for a file (used by later commits to the served repository). */
export function newFileText(rand: () => number): string {
  return `${fileText(rand).join('\n')}\n`;
}
