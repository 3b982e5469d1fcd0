/**
 * Flag parsing for every executable, kept apart from the work: `--help` never pays for zod, the
 * openai SDK or isomorphic-git. A stage called with no arguments at all (how pipelines and `jgo
 * run` call them) has nothing to parse, so yargs is not even loaded on that path.
 */
import type { Argv } from 'yargs';
import pkg from '../package.json' with { type: 'json' };
import type { StageSpec } from './stage.js';

export const VERSION: string = pkg.version;

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
  const flags = await parseFlags(name, usage, build, process.argv.slice(2), acceptsWords);
  const [{ stageMain }, { UsageError }] = await Promise.all([import('./stage.js'), import('./errors.js')]);
  const spec = await load(flags.argv);
  if (flags.error !== undefined) spec.usageError = new UsageError('bad_flags', flags.error);
  await stageMain(spec);
}

/** `jgo run`'s flags, all booleans: one table for yargs and for quickRunArgs below. */
export const RUN_FLAGS = {
  json: { describe: 'print the final envelope instead of the branch' },
  quiet: { alias: 'q', describe: "only the branch, or only the error; no stages' progress" },
  'dry-run': { describe: 'stop after jgo-worktree: nothing is changed or pushed' },
  pr: { describe: 'open a pull request for the pushed branch (JGO_SHIP_PR=true); its URL is printed after the branch' },
  draft: { describe: 'open the pull request as a draft (implies --pr)' },
} as const satisfies Record<string, { alias?: string; describe: string }>;

/** `jgo run <request..>` as yargs knows it (cmd/jgo.ts, and the test that holds quickRunArgs to it). */
export function runCommandOptions(y: Argv): Argv {
  const flags = Object.fromEntries(Object.entries(RUN_FLAGS).map(([name, spec]) => [name, { type: 'boolean' as const, default: false, ...spec }]));
  return y
    .positional('request', { type: 'string', array: true, describe: 'owner/repo and what to change' })
    .options(flags)
    .example('$0 run "acme/widgets add install steps to README"', '');
}

export interface RunArgs {
  request: string;
  json: boolean;
  quiet: boolean;
  dryRun: boolean;
  pr: boolean;
  draft: boolean;
}

/**
 * `jgo run` as cron and scripts call it, read without yargs: loading yargs and building its
 * commands cost jgo's start 10-15 ms of CPU while jgo-gate and jgo-sync start beside it, and the
 * run 13-24 ms (two sets of 30 runs, alternated with the build that used yargs). Only the plain
 * form is taken: `run`, then words and RUN_FLAGS, each flag at most once. Anything else
 * (`--help`, `--version`, an unknown, negated or valued flag, `--`, a word `true` or `false` that
 * yargs would read as a flag's value, no request at all) gives undefined, and yargs parses it.
 */
export function quickRunArgs(args: readonly string[]): RunArgs | undefined {
  if (args[0] !== 'run') return undefined;
  const names = new Map<string, keyof typeof RUN_FLAGS>();
  for (const [name, spec] of Object.entries(RUN_FLAGS) as Array<[keyof typeof RUN_FLAGS, { alias?: string }]>) {
    names.set(`--${name}`, name);
    if (spec.alias !== undefined) names.set(`-${spec.alias}`, name);
  }
  const set = new Set<keyof typeof RUN_FLAGS>();
  const words: string[] = [];
  for (const arg of args.slice(1)) {
    const flag = names.get(arg);
    if (flag !== undefined) {
      if (set.has(flag)) return undefined;
      set.add(flag);
    } else if (arg.startsWith('-') || arg === 'true' || arg === 'false' || arg.trim() === '') {
      return undefined;
    } else {
      words.push(arg);
    }
  }
  if (words.length === 0) return undefined;
  return { request: words.join(' '), json: set.has('json'), quiet: set.has('quiet'), dryRun: set.has('dry-run'), pr: set.has('pr'), draft: set.has('draft') };
}
