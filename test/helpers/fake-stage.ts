/**
 * A stand-in stage for `JGO_STAGE_<NAME>`: a real process that reads its envelope, notes in a log
 * that it ran, can be told to wait for a file, to fail while a file exists, or to answer
 * something of its own, and passes the envelope on with a field of its own.
 */
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const SCRIPT = `import { appendFileSync, existsSync, readFileSync } from 'node:fs';
const [name, dir] = process.argv.slice(2);
const at = (what) => dir + '/' + name + '.' + what;
const chunks = [];
process.stdin.on('data', (d) => chunks.push(d));
process.stdin.on('end', async () => {
  const envelope = JSON.parse(Buffer.concat(chunks).toString('utf8'));
  appendFileSync(dir + '/log', name + ' ' + process.pid + '\\n');
  while (existsSync(at('hold'))) await new Promise((r) => setTimeout(r, 20));
  if (existsSync(at('answer'))) {
    process.stdout.write(readFileSync(at('answer')));
    return;
  }
  if (existsSync(at('fail'))) {
    const error = { stage: name, code: 'fake_failure', message: name + ' was told to fail', exit_code: 1 };
    process.stdout.write(JSON.stringify({ ...envelope, error }) + '\\n');
    process.exitCode = 1;
    return;
  }
  process.stdout.write(JSON.stringify({ ...envelope, ['fake_' + name]: true }) + '\\n');
});
`;

export interface FakeStages {
  dir: string;
  /** JGO_STAGE_<NAME> for each stage named, running the stand-in. */
  env: (...stages: string[]) => Record<string, string>;
  /** While set, the stage waits after logging that it started. */
  hold: (stage: string, on: boolean) => void;
  /** While set, the stage fails (fake_failure, exit 1). */
  fail: (stage: string, on: boolean) => void;
  /** What the stage writes on stdout instead of an envelope. */
  answer: (stage: string, text: string) => void;
  /** The stages that have started, in order, with their process ids. */
  log: () => Array<{ stage: string; pid: number }>;
}

function flag(path: string, on: boolean): void {
  if (on) writeFileSync(path, '');
  else rmSync(path, { force: true });
}

export function fakeStages(dir: string): FakeStages {
  const script = join(dir, 'fake-stage.mjs');
  writeFileSync(script, SCRIPT);
  return {
    dir,
    env: (...stages) => Object.fromEntries(stages.map((s) => [`JGO_STAGE_${s.toUpperCase()}`, `"${process.execPath}" "${script}" ${s} "${dir}"`])),
    hold: (stage, on) => flag(join(dir, `${stage}.hold`), on),
    fail: (stage, on) => flag(join(dir, `${stage}.fail`), on),
    answer: (stage, text) => writeFileSync(join(dir, `${stage}.answer`), text),
    log: () =>
      existsSync(join(dir, 'log'))
        ? readFileSync(join(dir, 'log'), 'utf8')
            .trim()
            .split('\n')
            .map((line) => ({ stage: line.split(' ')[0] ?? '', pid: Number(line.split(' ')[1]) }))
        : [],
  };
}
