/**
 * `jgo run` in its plain form is read without yargs (lib/cli.ts quickRunArgs). What it takes it
 * must read exactly as yargs would; everything else it must leave to yargs.
 */
import t from 'tap';
import yargs from 'yargs';
import { quickRunArgs, runCommandOptions, RUN_FLAGS, type RunArgs } from '../../lib/cli.js';

/** What yargs makes of the same words, with jgo's own definition of `run`; undefined if it fails or is not `run`. */
function byYargs(args: string[]): RunArgs | undefined {
  let failed = false;
  const argv = yargs(args)
    .command('run <request..>', '', runCommandOptions)
    .strict()
    .help(false)
    .version(false)
    .exitProcess(false)
    .fail(() => {
      failed = true;
    })
    .parseSync() as Record<string, unknown> & { _: unknown[] };
  if (failed || argv._[0] !== 'run') return undefined;
  return {
    request: ((argv.request as string[] | undefined) ?? []).join(' '),
    json: argv.json as boolean,
    quiet: argv.quiet as boolean,
    dryRun: argv.dryRun as boolean,
    pr: argv.pr as boolean,
    draft: argv.draft as boolean,
  };
}

const plain = { json: false, quiet: false, dryRun: false, pr: false, draft: false };

t.test('the plain forms are read as yargs reads them', async (t) => {
  const cases: Array<[string[], RunArgs]> = [
    [['run', 'acme/widgets add a CONTRIBUTING.md'], { ...plain, request: 'acme/widgets add a CONTRIBUTING.md' }],
    [['run', 'acme/widgets', 'add', 'a', 'file'], { ...plain, request: 'acme/widgets add a file' }],
    [['run', '--quiet', 'acme/widgets fix it'], { ...plain, quiet: true, request: 'acme/widgets fix it' }],
    [['run', '-q', '--json', 'acme/widgets fix', 'it', '--dry-run'], { ...plain, quiet: true, json: true, dryRun: true, request: 'acme/widgets fix it' }],
    [['run', '--pr', '--draft', 'https://github.com/acme/widgets.git', 'do x'], { ...plain, pr: true, draft: true, request: 'https://github.com/acme/widgets.git do x' }],
    [['run', 'acme/widgets bump to 2.0 and 42 more'], { ...plain, request: 'acme/widgets bump to 2.0 and 42 more' }],
    [['run', 'acme/widgets', '42'], { ...plain, request: 'acme/widgets 42' }],
  ];
  for (const [args, expected] of cases) {
    t.same(quickRunArgs(args), expected, args.join(' '));
    t.same(byYargs(args), expected, `yargs agrees: ${args.join(' ')}`);
  }
});

t.test('anything else is left to yargs', async (t) => {
  const left: string[][] = [
    ['run'],
    ['run', '--json'],
    ['run', '--help', 'acme/widgets x'],
    ['run', '-h'],
    ['run', '--version'],
    ['run', '--json', 'false', 'acme/widgets x'],
    ['run', '--quiet', 'true', 'acme/widgets x'],
    ['run', '--json', '--json', 'acme/widgets x'],
    ['run', '-q', '--quiet', 'acme/widgets x'],
    ['run', '--no-json', 'acme/widgets x'],
    ['run', '--json=true', 'acme/widgets x'],
    ['run', '--dryRun', 'acme/widgets x'],
    ['run', '--', 'acme/widgets x'],
    ['run', '-qj', 'acme/widgets x'],
    ['run', '--base', 'develop', 'acme/widgets x'],
    ['run', ''],
    ['run', ' '],
    ['resume', '20261124-000000-abcd'],
    ['runs'],
    [],
  ];
  for (const args of left) t.equal(quickRunArgs(args), undefined, JSON.stringify(args));
});

t.test('every flag of the table is understood both ways', async (t) => {
  for (const [name, spec] of Object.entries(RUN_FLAGS)) {
    const forms = [`--${name}`, ...('alias' in spec ? [`-${spec.alias}`] : [])];
    for (const form of forms) {
      const quick = quickRunArgs(['run', form, 'acme/widgets x']);
      t.ok(quick, `${form} is taken`);
      t.same(quick, byYargs(['run', form, 'acme/widgets x']), `${form}: yargs agrees`);
    }
  }
});
