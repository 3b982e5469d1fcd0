#!/usr/bin/env node
/**
 * jgo: runs the pipeline (run, resume) and looks after its journal (runs, show, gc).
 * Flags here; the work in lib/run/, loaded only once a command is chosen.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { traceExit } from '../lib/trace.js';

// Beside the shim that booted us (lib/boot.ts), where jgo-gate.js and the other stages are.
const binDir = (globalThis as { __jgoBinDir?: string }).__jgoBinDir ?? dirname(fileURLToPath(import.meta.url));

async function main(): Promise<void> {
  const io = () => ({ stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), binDir });
  const commands = () => import('../lib/run/commands.js');
  const exit = (code: number) => {
    traceExit();
    process.exit(code);
  };
  const { quickRunArgs, runCommandOptions, VERSION } = await import('../lib/cli.js');
  // `jgo run` in its plain form (how cron calls it) is read without yargs; anything else below.
  const quick = quickRunArgs(process.argv.slice(2));
  if (quick) {
    const { request, ...options } = quick;
    return exit(await (await commands()).runCommand(request, options, io()));
  }
  const { default: yargs } = await import('yargs');

  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });

  const argv = (await yargs(process.argv.slice(2))
    .scriptName('jgo')
    .usage(`$0 <command>

One chat request in, one pushed git branch out. jgo run composes the stages
jgo-gate | jgo-sync | jgo-worktree | jgo-codex | jgo-ship as processes and keeps a
journal of every run in $JGO_CACHE_DIR/runs. jgo doctor finds what is misconfigured.

Exit codes: 0 done, 1 a stage failed at run time, 2 usage or settings,
3 the gate refused the request, 4 nothing to ship.`)
    .command(
      'run <request..>',
      'run the whole pipeline; prints the pushed branch last on stdout',
      runCommandOptions,
    )
    .command(
      'resume <run_id>',
      'continue a run from the first stage that failed or never ran',
      (y) =>
        y
          .positional('run_id', { type: 'string', demandOption: true })
          .option('json', { type: 'boolean', default: false })
          .option('quiet', { type: 'boolean', alias: 'q', default: false })
          .option('pr', { type: 'boolean', default: false, describe: 'open a pull request for the pushed branch' })
          .option('draft', { type: 'boolean', default: false, describe: 'as a draft (implies --pr)' }),
    )
    .command(
      'runs',
      'list recent runs',
      (y) => y.option('json', { type: 'boolean', default: false }).option('limit', { type: 'number', default: 20 }),
    )
    .command(
      'show <run_id>',
      'what a run did and cost',
      (y) => y.positional('run_id', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
    )
    .command(
      'gc',
      'remove working copies and journals of finished runs older than --days',
      (y) => y.option('days', { type: 'number', default: 7, describe: '0 removes every finished run' }).option('json', { type: 'boolean', default: false }),
    )
    .command(
      'doctor',
      'check settings, the model endpoint, codex, the cache and git access, without spending tokens',
      (y) =>
        y
          .option('repo', { type: 'string', describe: 'owner/repo (or URL) to check read and push permission for' })
          .option('json', { type: 'boolean', default: false }),
    )
    .demandCommand(1, 'name a command: run, resume, runs, show, gc or doctor')
    .strict()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(Math.min(100, process.stdout.columns || 100))
    .fail((message, error, y) => {
      if (error) throw error;
      process.stderr.write(`jgo: ${message}\n\n`);
      y.showHelp((s: string) => process.stderr.write(`${s}\n`));
      process.exit(2);
    })
    .parseAsync()) as Parsed;
  // The command is run here, not from a yargs handler: with a handler, yargs renders the whole
  // help text (to have it cached) before the handler's first await, 10 ms of every start.
  const options = { json: argv.json ?? false, quiet: argv.quiet ?? false, pr: argv.pr ?? false, draft: argv.draft ?? false };
  switch (argv._[0]) {
    case 'run':
      return exit(await (await commands()).runCommand((argv.request ?? []).join(' '), { ...options, dryRun: argv.dryRun ?? false }, io()));
    case 'resume':
      return exit(await (await commands()).resumeCommand(argv.run_id ?? '', options, io()));
    case 'runs':
      return exit(await (await commands()).runsCommand({ json: options.json, limit: argv.limit ?? 20 }, io()));
    case 'show':
      return exit(await (await commands()).showCommand(argv.run_id ?? '', { json: options.json }, io()));
    case 'gc':
      return exit(await (await commands()).gcCommand({ days: argv.days ?? 7, json: options.json }, io()));
    case 'doctor':
      return exit(await (await import('../lib/doctor.js')).doctorCommand({ json: options.json, ...(argv.repo ? { repo: argv.repo } : {}) }, io()));
  }
}

/** What the commands below may set; yargs checked each against its command's options. */
interface Parsed {
  _: Array<string | number>;
  request?: string[];
  run_id?: string;
  json?: boolean;
  quiet?: boolean;
  dryRun?: boolean;
  pr?: boolean;
  draft?: boolean;
  limit?: number;
  days?: number;
  repo?: string;
}

// The commands report their own failures; anything that still escapes is one line, never a stack.
main().catch((error: unknown) => {
  process.stderr.write(`jgo: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
  if (process.env.JGO_DEBUG === '1' && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
