/**
 * How every executable starts: Node's compile cache, then flags, kept apart from the work, so
 * that `--help` never loads zod, the openai SDK or isomorphic-git. A stage called with no
 * arguments at all (how pipelines and `jgo run` call them) has nothing to parse, so yargs is not
 * loaded on that path.
 */
import { mkdirSync, statSync } from 'node:fs';
import nodeModule from 'node:module';
import { isAbsolute, join, resolve } from 'node:path';
import type { Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import { DEFAULT_CACHE_DIR } from './config.js';
import type { StageSpec } from './stage.js';
import { trace } from './trace.js';

export const VERSION: string = pkg.version;

/** Node 22's compile cache API (module.enableCompileCache), absent from older Nodes. */
type EnableCompileCache = (dir: string) => { status: number; message?: string };

/**
 * Where the compile cache goes: `compile-cache` in the cache directory, found as lib/config.ts
 * finds it, once that directory exists (the settings make it, and say so when they cannot).
 * JGO_CACHE_DIR is taken from the process environment only: the env file is read later, by the
 * settings. A cache is code: its directory must be this user's and writable by no one else.
 */
export function compileCacheDir(env: NodeJS.ProcessEnv = process.env, cwd: string = process.cwd()): string | undefined {
  if (env.JGO_CODE_CACHE === '0') return undefined;
  const home = env.XDG_CACHE_HOME && isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : join(env.HOME ?? '/tmp', '.cache');
  const bases = env.JGO_CACHE_DIR ? [resolve(cwd, env.JGO_CACHE_DIR)] : [DEFAULT_CACHE_DIR, join(home, 'jgo')];
  for (const base of bases) {
    const dir = join(base, 'compile-cache');
    if (isDir(base) && ownedDir(dir)) return dir;
  }
  return undefined;
}

function isDir(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** The directory, made if need be, when this user owns it and no one else can write it. */
function ownedDir(dir: string): boolean {
  try {
    // Not recursive: Node's recursive mkdir never returns for a path that cannot exist (/proc/x).
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    const info = statSync(dir);
    const uid = process.getuid?.();
    return info.isDirectory() && (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * Turns on Node's compile cache, so that the code a start loads is compiled once, not by each of
 * a run's six processes. Anything wrong (a Node without it, no usable directory) means no cache,
 * never a failure.
 */
export function startCompileCache(env: NodeJS.ProcessEnv = process.env): void {
  const enable = (nodeModule as { enableCompileCache?: EnableCompileCache }).enableCompileCache;
  const dir = typeof enable === 'function' ? compileCacheDir(env) : undefined;
  if (enable === undefined || dir === undefined) {
    trace('compile cache off');
    return;
  }
  try {
    const { status } = enable(dir);
    trace(`compile cache ${['failed', 'on', 'on', 'off'][status] ?? 'off'}`);
  } catch {
    trace('compile cache failed');
  }
}

/** Parsed flags plus the positional words (`_`). */
export type Flags<T> = T & { _: Array<string | number> };

export interface ParsedFlags<T> {
  argv?: Flags<T>;
  /** Set when the flags were wrong: the harness reports it (exit 2) as it does bad stdin. */
  error?: string;
}

/** Parses flags with yargs; never exits except for --help and --version. */
export async function parseFlags<T>(
  name: string,
  usage: string,
  build: (y: Argv) => Argv<T>,
  args: string[] = process.argv.slice(2),
  acceptsWords = false,
): Promise<ParsedFlags<T>> {
  // Every option has a default or is optional: with no arguments, the defaults are the answer.
  if (args.length === 0) return { argv: { _: [] } as unknown as Flags<T> };
  const { default: yargs } = await import('yargs');
  let error: string | undefined;
  const parser = build(
    yargs(args)
      .scriptName(name)
      .usage(usage)
      .strictOptions()
      .help('help')
      .alias('h', 'help')
      .version(VERSION)
      .wrap(Math.min(100, process.stdout.columns || 100))
      .fail((message, failure) => {
        error = message || failure?.message || 'bad arguments';
      }),
  );
  const argv = parser.parseSync() as Flags<T>;
  if (error === undefined && !acceptsWords && argv._.length > 0) error = `unexpected argument: ${String(argv._[0])}`;
  return error === undefined ? { argv } : { error: `${error} (see ${name} --help)` };
}

/** The shared `main` of a stage executable: flags, then the stage module, loaded only now. */
export async function stageCommand<T>(
  name: string,
  usage: string,
  build: (y: Argv) => Argv<T>,
  load: (argv: Flags<T> | undefined) => Promise<StageSpec>,
  { acceptsWords = false } = {},
): Promise<void> {
  startCompileCache();
  const flags = await parseFlags(name, usage, build, process.argv.slice(2), acceptsWords);
  const [{ stageMain }, { UsageError }] = await Promise.all([import('./stage.js'), import('./errors.js')]);
  const spec = await load(flags.argv);
  if (flags.error !== undefined) spec.usageError = new UsageError('bad_flags', flags.error);
  await stageMain(spec);
}
