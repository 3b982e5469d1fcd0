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
