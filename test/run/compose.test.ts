/** lib/run/compose.ts: handing a stage its envelope, and when the next stage may be started. */
import t from 'tap';
import { join } from 'node:path';
import { launchStage, type PipelineContext } from '../../lib/run/compose.js';
import { loadSettings } from '../../lib/config.js';
import { Redactor } from '../../lib/redact.js';
import { ENVELOPE_VERSION } from '../../lib/envelope.js';
import { tempDir } from '../helpers/run.js';

function context(home: string, stages: Record<string, string>): PipelineContext {
  const env = { PATH: process.env.PATH, HOME: home, JGO_ENV_FILE: join(home, 'none.env'), ...stages };
  return {
    settings: loadSettings({ env, cwd: home }),
    binDir: join(home, 'bin'),
    env,
    cwd: home,
    stderr: undefined,
    redact: new Redactor([]),
    signal: new AbortController().signal,
  };
}

const input = { jgo: ENVELOPE_VERSION, request: 'acme/widgets fix the typo' } as const;

t.test('"delivered" comes once the stage has its envelope and EOF, before its answer', async (t) => {
  const home = tempDir(t);
  // A replaced stage that answers only after reading to EOF: `delivered` must come first.
  const node = JSON.stringify(process.execPath);
  const echo = `${node} -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>process.stdout.write(JSON.stringify({...JSON.parse(s),seen:true})+'\\n'))"`;
  const ctx = context(home, { JGO_STAGE_SYNC: echo });
  const stage = launchStage('sync', ctx);
  const order: string[] = [];
  const outcome = stage.feed({ ...input }, () => order.push('delivered'));
  const result = await outcome;
  order.push('answered');
  t.same(order, ['delivered', 'answered']);
  t.equal(result.exitCode, 0);
  t.match(result.envelope, { request: input.request, seen: true });
});

t.test('a stage that exits without reading its stdin: "delivered" still comes, exactly once', async (t) => {
  const home = tempDir(t);
  const ctx = context(home, { JGO_STAGE_SYNC: 'sh -c "exit 3"' });
  const stage = launchStage('sync', ctx);
  let calls = 0;
  // Large enough not to fit in the pipe at once, so the write meets the closed reader.
  const big = { ...input, request: `${input.request} ${'x'.repeat(256 * 1024)}` };
  const result = await stage.feed(big, () => calls++);
  await stage.gone();
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(calls, 1);
  t.equal(result.exitCode, 3);
  t.match(result.envelope.error, { stage: 'sync', code: 'bad_stage_output' });
});
