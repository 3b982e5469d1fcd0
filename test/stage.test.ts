import t, { type Test } from 'tap';
import { runStage, type StageSpec } from '../lib/stage.js';
import { JgoError, EXIT } from '../lib/errors.js';
import { PassThrough } from 'node:stream';
import { memoryIO } from './helpers/streams.js';
import { tempDir } from './helpers/run.js';

const echoStage = (overrides: Partial<StageSpec> = {}): StageSpec => ({
  name: 'sync',
  usage: 'jgo-gate ... | jgo-sync',
  run: async (envelope) => ({ ...envelope, mirror: { path: '/m.git', default_branch: 'main', head_sha: 'a'.repeat(40) } }),
  ...overrides,
});

const oneLine = (t: Test, out: string) => {
  t.match(out, /^[^\n]*\n$/, 'exactly one line on stdout');
  return JSON.parse(out) as Record<string, unknown> & { error?: { code: string; exit_code: number; stage: string } };
};

t.test('an envelope in, the enriched envelope out, exit 0', async (t) => {
  const io = memoryIO(JSON.stringify({ jgo: 1, run_id: 'r1', extra: { kept: true } }), { cwd: tempDir(t) });
  const code = await runStage(echoStage(), io);
  t.equal(code, 0);
  const out = oneLine(t, io.out());
  t.same(out, { jgo: 1, run_id: 'r1', extra: { kept: true }, mirror: { path: '/m.git', default_branch: 'main', head_sha: 'a'.repeat(40) } });
  t.equal(io.err(), '');
});

t.test('bad stdin is a usage error (exit 2) that says what was wrong and how to call', async (t) => {
  const cases: Array<[string, string, RegExp, boolean?]> = [
    ['empty', '', /stdin is empty/],
    ['blank', '  \n ', /stdin is empty/],
    ['a terminal', '', /stdin is a terminal/, true],
    ['not JSON', '{"jgo": 1,\n "x": }', /stdin:2:7: not JSON/],
    ['plain text to a stage that wants JSON', 'acme/widgets fix', /stdin:1:1: not JSON/],
    ['an array', '[{"jgo":1}]', /an array, expected one JSON object/],
    ['a number', '42', /a number, expected one JSON object/],
    ['null', 'null', /null, expected one JSON object/],
    ['no version', '{"request":"x"}', /without "jgo": 1/],
    ['an unknown version', '{"jgo":2}', /unknown envelope version 2/],
    ['a field of the wrong type', '{"jgo":1,"mirror":{"path":"relative","default_branch":"main","head_sha":"x"}}', /mirror\.path: must be an absolute path/],
  ];
  for (const [name, input, message, tty] of cases) {
    const io = memoryIO(input, { cwd: tempDir(t), tty: tty ?? false });
    let ran = false;
    const code = await runStage(echoStage({ run: async (e) => ((ran = true), e) }), io);
    t.equal(code, EXIT.usage, `${name}: exit 2`);
    t.notOk(ran, `${name}: the stage did not run`);
    const out = oneLine(t, io.out());
    t.equal(out.error?.exit_code, 2);
    t.equal(out.error?.stage, 'sync');
    t.match(io.err(), message, `${name}: says what was wrong`);
    t.match(io.err(), /usage: jgo-gate \.\.\. \| jgo-sync/, `${name}: shows how to call`);
    t.notMatch(io.err(), /    at /, `${name}: no stack trace`);
  }
});

t.test('an upstream error passes through unchanged with its exit code', async (t) => {
  const upstream = { jgo: 1, run_id: 'r2', request: 'x', gate: { executable: false, reason: 'vague', repo_ref: '', optimized_prompt: '', model: 'm' }, error: { stage: 'gate', code: 'not_executable', message: 'not executable: vague', exit_code: 3 } };
  const io = memoryIO(JSON.stringify(upstream), { cwd: tempDir(t) });
  let ran = false;
  const code = await runStage(echoStage({ run: async (e) => ((ran = true), e) }), io);
  t.equal(code, 3);
  t.notOk(ran);
  t.same(JSON.parse(io.out()), upstream);
});

t.test('a stage failure becomes error.{stage,code,message,exit_code} with the partial result', async (t) => {
  const io = memoryIO('{"jgo":1,"run_id":"r3"}', { cwd: tempDir(t) });
  const code = await runStage(
    echoStage({
      run: async () => {
        throw new JgoError('auth_failed', 'the server refused the credentials', EXIT.failed, { hint: 'Set GITHUB_TOKEN.', patch: { note: 'partial' } });
      },
    }),
    io,
  );
  t.equal(code, 1);
  t.same(JSON.parse(io.out()), {
    jgo: 1,
    run_id: 'r3',
    note: 'partial',
    error: { stage: 'sync', code: 'auth_failed', message: 'the server refused the credentials', exit_code: 1 },
  });
  t.match(io.err(), /^jgo-sync: the server refused the credentials\n  Set GITHUB_TOKEN\.\n$/);
});

t.test('an unexpected exception is exit 1 code internal, with a stack only under JGO_DEBUG=1', async (t) => {
  const boom = echoStage({
    run: async () => {
      throw new TypeError('cannot read x of undefined');
    },
  });
  const quiet = memoryIO('{"jgo":1}', { cwd: tempDir(t) });
  t.equal(await runStage(boom, quiet), 1);
  t.equal(JSON.parse(quiet.out()).error.code, 'internal');
  t.notMatch(quiet.err(), /    at /);
  const loud = memoryIO('{"jgo":1}', { cwd: tempDir(t), env: { JGO_DEBUG: '1' } });
  t.equal(await runStage(boom, loud), 1);
  t.match(loud.err(), /TypeError: cannot read x of undefined\n\s+at /);
});

t.test('secret values in use never reach stdout or stderr', async (t) => {
  const key = `key-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const io = memoryIO('{"jgo":1}', { cwd: tempDir(t), env: { OPENAI_API_KEY: key } });
  await runStage(
    echoStage({
      run: async (_e, ctx) => {
        ctx.log(`about to use ${key}`);
        throw new JgoError('llm_auth_failed', `server said: bad key ${key}`);
      },
    }),
    io,
  );
  t.notMatch(io.out() + io.err(), key);
  t.match(io.err(), /\[redacted\]/);
});

t.test('encoded secret values never reach stdout or stderr either', async (t) => {
  const key = `key-${Math.random().toString(36).slice(2)}${Date.now()}`;
  const forms = [Buffer.from(key).toString('base64'), Buffer.from(key).toString('hex'), encodeURIComponent(key).replace(/./g, (c) => `%${c.charCodeAt(0).toString(16)}`)];
  const io = memoryIO('{"jgo":1}', { cwd: tempDir(t), env: { OPENAI_API_KEY: key } });
  await runStage(
    echoStage({
      run: async (e, ctx) => {
        ctx.log(`about to use ${forms[0]}`);
        return { ...e, note: forms.join(' ') };
      },
    }),
    io,
  );
  for (const form of forms) t.notMatch(io.out() + io.err(), form);
  // base64 is matched by its stable core: a character or two of padding may stay.
  t.match(io.out(), /\[redacted\]\S{0,4} \[redacted\] \[redacted\]/);
});

t.test('bad settings are reported after the envelope is in, so a stage started ahead says nothing until fed', async (t) => {
  const stdin = new PassThrough();
  const cwd = tempDir(t);
  // A directory where the env file should be: reading it fails with EISDIR.
  const io = { ...memoryIO('', { cwd, env: { JGO_ENV_FILE: cwd } }), stdin };
  let ran = false;
  const running = runStage(echoStage({ run: async (envelope) => ((ran = true), envelope) }), io);
  await new Promise((r) => setTimeout(r, 20));
  t.equal(io.err(), '', 'nothing printed while waiting');
  t.equal(io.out(), '');
  stdin.end('{"jgo":1}');
  t.equal(await running, 2);
  t.match(io.err(), /cannot read the env file .*EISDIR/);
  t.equal(oneLine(t, io.out()).error?.code, 'env_file_unreadable');
  t.notOk(ran);
});

t.test('work a stage leaves for after its answer runs once the envelope is written, and cannot fail the stage', async (t) => {
  const io = memoryIO(JSON.stringify({ jgo: 1 }), { cwd: tempDir(t) });
  const seen: string[] = [];
  const code = await runStage(
    echoStage({
      run: async (envelope, context) => {
        context.afterAnswer?.(async () => {
          seen.push(`after, stdout then: ${io.out().trim()}`);
        });
        context.afterAnswer?.(() => Promise.reject(new Error('cleanup failed')));
        return { ...envelope, mirror: { path: '/m.git', default_branch: 'main', head_sha: 'a'.repeat(40) } };
      },
    }),
    io,
  );
  t.equal(code, 0);
  t.same(seen, [`after, stdout then: ${io.out().trim()}`], 'ran after the envelope was out, before the stage returned');
  t.match(io.out(), /"mirror"/);
  t.equal(io.err(), '', 'a failure afterwards is not reported');
});

t.test('a full disk is disk_full (exit 1), whether Node or git says so; the partial result is kept', async (t) => {
  const enospc = Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
  const throws: Array<[string, unknown, RegExp]> = [
    ['a write of ours', enospc, /^jgo-sync: the disk is full: ENOSPC: no space left on device, write\n/],
    ['git, in a JgoError', new JgoError('worktree_failed', 'git read-tree failed: error: unable to write file: No space left on device', EXIT.failed, { patch: { note: 'partial' } }), /^jgo-sync: the disk is full: git read-tree failed: error: unable to write file: No space left on device\n/],
    ['a cause', new Error('fetch failed', { cause: enospc }), /^jgo-sync: the disk is full: fetch failed\n/],
  ];
  for (const [name, thrown, line] of throws) {
    const io = memoryIO('{"jgo":1,"run_id":"r9"}', { cwd: tempDir(t) });
    const code = await runStage(echoStage({ run: async () => { throw thrown; } }), io);
    t.equal(code, 1, `${name}: exit 1`);
    const out = oneLine(t, io.out());
    t.equal(out.error?.code, 'disk_full', name);
    t.match(io.err(), line, `${name}: one line that says so`);
    t.notMatch(io.err(), /    at /, `${name}: no stack trace`);
    if (name.startsWith('git')) t.equal(out.note, 'partial', 'the partial result stays');
  }
});

t.test('the JSON scanner finds errors without recursion, however deep', async (t) => {
  const { jsonErrorWhere, jsonDepthOffset } = await import('../lib/json-where.js');
  t.equal(jsonErrorWhere('{"a":[1,{"b":[]},"c"],"d":{}}'), undefined, 'valid');
  t.equal(jsonErrorWhere('{"a":[1,{"b":[]},"c"],"d":{}'), '1:29', 'unclosed at the end');
  t.equal(jsonErrorWhere('[1,2,]'), '1:6');
  t.equal(jsonErrorWhere('{"a" 1}'), '1:6');
  t.equal(jsonErrorWhere('['.repeat(100_000)), '1:100001', '100,000 open arrays: the end');
  t.equal(jsonErrorWhere(`${'['.repeat(100_000)}x`), '1:100001', 'and the bad token inside them');
  t.equal(jsonDepthOffset('{"a":"[[[[","b":[[1]]}', 3), -1, 'brackets in strings do not count');
  t.equal(jsonDepthOffset('[[[[1]]]]', 3), 3, 'the fourth level is where it is too deep');
});
