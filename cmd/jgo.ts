#!/usr/bin/env node
/**
 * jgo: runs the pipeline (run, resume), looks after its journal (runs, show, gc) and checks the
 * setup (doctor). Flags here; each command's handler is one call into lib/run/commands.ts (or
 * the doctor), loaded only once that command is chosen.
 */
import { dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCompileCache, VERSION } from '../lib/cli.js';
import { debugging, traceExit } from '../lib/trace.js';

startCompileCache();

// jgo-gate.js and the other stages are built beside this file.
const binDir = dirname(fileURLToPath(import.meta.url));
const io = () => ({ stdout: process.stdout, stderr: process.stderr, env: process.env, cwd: process.cwd(), binDir });
const commands = () => import('../lib/run/commands.js');
const exit = (code: number): never => {
  traceExit();
  process.exit(code);
};

/** The flags of run and resume, all booleans. */
const runFlags = {
  json: { type: 'boolean', default: false, describe: 'print the final envelope instead of the branch' },
  quiet: { type: 'boolean', default: false, alias: 'q', describe: "only the branch, or only the error; no stages' progress" },
  pr: { type: 'boolean', default: false, describe: 'open a pull request for the pushed branch (JGO_SHIP_PR=true); its URL is printed after the branch' },
  draft: { type: 'boolean', default: false, describe: 'open the pull request as a draft (implies --pr)' },
} as const;

async function main(): Promise<void> {
  const { default: yargs } = await import('yargs');
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });

  await yargs(process.argv.slice(2))
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
      (y) =>
        y
          .positional('request', { type: 'string', array: true, demandOption: true, describe: 'owner/repo and what to change' })
          .options(runFlags)
          .option('dry-run', { type: 'boolean', default: false, describe: 'stop after jgo-worktree: nothing is changed or pushed' })
          .option('continue', {
            type: 'string',
            alias: 'c',
            requiresArg: true,
            describe: "a follow-up: add to the branch and pull request of this run's thread (a run id, a branch, or a pull request's URL or number)",
          })
          .option('run-id', { type: 'string', requiresArg: true, describe: "the new run's id (YYYYMMDD-HHMMSS-xxxx), for a caller that names it first; default: a fresh one" })
          .example('$0 run "acme/widgets add install steps to README"', '')
          .example('$0 run --continue 20261123-202500-7f3a "also add a test"', 'a follow-up on the same branch'),
      async (argv) => exit(await (await commands()).runCommand(argv.request.join(' '), argv, io())),
    )
    .command(
      'resume <run_id>',
      'continue a run from the first stage that failed or never ran',
      (y) => y.positional('run_id', { type: 'string', demandOption: true }).options(runFlags),
      async (argv) => exit(await (await commands()).resumeCommand(argv.run_id, argv, io())),
    )
    .command(
      'runs',
      'list recent runs',
      (y) => y.option('json', { type: 'boolean', default: false }).option('limit', { type: 'number', default: 20 }),
      async (argv) => exit(await (await commands()).runsCommand(argv, io())),
    )
    .command(
      'show <run_id>',
      'what a run did and cost',
      (y) => y.positional('run_id', { type: 'string', demandOption: true }).option('json', { type: 'boolean', default: false }),
      async (argv) => exit(await (await commands()).showCommand(argv.run_id, argv, io())),
    )
    .command(
      'gc',
      'remove working copies and journals of finished runs older than --days',
      (y) => y.option('days', { type: 'number', default: 7, describe: '0 removes every finished run' }).option('json', { type: 'boolean', default: false }),
      async (argv) => exit(await (await commands()).gcCommand(argv, io())),
    )
    .command(
      'serve',
      'the resident jgo: an OpenAI-compatible chat API where each chat turn is a run (prints its base URL first)',
      (y) =>
        y
          .option('host', { type: 'string', requiresArg: true, describe: 'address to listen on (JGO_SERVE_HOST, default 127.0.0.1)' })
          .option('port', { type: 'number', requiresArg: true, describe: 'port (JGO_SERVE_PORT, default 8080; 0 picks a free one)' })
          .example('$0 serve --port 8080', 'then point an OpenAI client at http://127.0.0.1:8080/v1, model "jgo"'),
      async (argv) => exit(await (await import('../lib/serve/index.js')).serveCommand({ host: argv.host, port: argv.port }, { ...io(), jgo: fileURLToPath(import.meta.url) })),
    )
    .command(
      'doctor',
      'check settings, the model endpoint, codex, the cache and git access, without spending tokens',
      (y) =>
        y
          .option('repo', { type: 'string', describe: 'owner/repo (or URL) to check read and push permission for' })
          .option('json', { type: 'boolean', default: false }),
      async (argv) => exit(await (await import('../lib/doctor.js')).doctorCommand({ json: argv.json, ...(argv.repo ? { repo: argv.repo } : {}) }, io())),
    )
    .demandCommand(1, 'name a command: run, resume, runs, show, gc, serve or doctor')
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
    .parseAsync();
}

// The commands report their own failures; anything that still escapes is one line, never a stack.
main().catch((error: unknown) => {
  process.stderr.write(`jgo: unexpected failure: ${error instanceof Error ? error.message : String(error)}\n`);
  if (debugging() && error instanceof Error && error.stack) process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
