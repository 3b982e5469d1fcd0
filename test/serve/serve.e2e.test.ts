/**
 * `jgo serve` as a process, driven by the real openai SDK: a chat turn is a run (streamed and
 * not), a later message of the conversation is a follow-up on the same branch, the gate's refusal
 * is the answer, and the journal is served as JSON.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gateAnswer } from '../helpers/llm-server.js';
import { GITHUB_TOKEN, OPENAI_KEY, serve, streamed, subjects, world } from './helpers.js';

t.test('a streamed chat turn is a run; the next message of the conversation is a follow-up on its branch', async (t) => {
  const w = await world(t);
  const s = await serve(t, w, { JGO_SHIP_PR: 'true' });
  const client = s.client();
  const first = 'acme/widgets write notes.md';
  const { data: stream, response } = await client.chat.completions.create({ model: 'jgo', stream: true, messages: [{ role: 'user', content: first }] }).withResponse();
  const runId = response.headers.get('x-jgo-run-id') ?? '';
  t.match(runId, /^\d{8}-\d{6}-[0-9a-f]{4}$/, 'the run id is in a header from the start');
  const answer = await streamed(stream);
  t.match(answer, /gate: executable/, 'progress lines as the run goes');
  t.match(answer, /ship: pushed jgo\//);
  const branch = /Pushed `(jgo\/\d{8}-\d{6})`/.exec(answer)?.[1] ?? '';
  t.ok(branch, 'the answer names the pushed branch');
  t.match(answer, new RegExp(`\\[jgo run ${runId} · ${branch.replace('/', '\\/')} · http://github\\.test:\\d+/acme/widgets/pull/1\\]$`), 'and ends with the marker: run, branch, pull request');

  // The client sends the whole history back; the marker in it makes this a follow-up.
  const next = await client.chat.completions.create({
    model: 'jgo',
    messages: [
      { role: 'user', content: first },
      { role: 'assistant', content: answer },
      { role: 'user', content: 'also mention the README' },
    ],
  }).withResponse();
  const text = next.data.choices[0]?.message.content ?? '';
  t.equal(next.data.object, 'chat.completion');
  t.match(text, new RegExp(`^Pushed \`${branch.replace('/', '\\/')}\` \\(1 commit\\)`), 'the follow-up pushed the same branch');
  const secondId = next.response.headers.get('x-jgo-run-id') ?? '';
  t.same(await subjects(w, branch), ['Initial commit', 'docs: add notes', 'docs: add notes'], 'two runs, one branch');
  t.equal(w.github.pulls.length, 1, 'one pull request');
  t.equal(w.github.comments.length, 1, 'commented by the follow-up');

  const runs = (await (await fetch(`${s.url}/v1/runs`)).json()) as { data: Array<{ run_id: string; thread: string; parent?: string }> };
  const byId = new Map(runs.data.map((r) => [r.run_id, r]));
  t.same([byId.get(runId)?.thread, byId.get(secondId)?.thread, byId.get(secondId)?.parent], [runId, runId, runId], 'one thread in the journal');
  const report = (await (await fetch(`${s.url}/v1/runs/${secondId}`)).json()) as { branch: string; thread: { runs: unknown[] } };
  t.equal(report.branch, branch);
  t.equal(report.thread.runs.length, 2);
  t.equal((await fetch(`${s.url}/v1/runs/20991231-000000-0000`)).status, 404);

  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  t.match(metrics, /jgo_runs_total\{outcome="done"\} 2/);
  t.match(metrics, /jgo_run_duration_seconds_count 2/);
  t.match(metrics, /jgo_tokens_total\{stage="gate"\} \d+/);
  for (const out of [answer, text, metrics, s.stderr(), JSON.stringify(runs), JSON.stringify(report)]) {
    t.notMatch(out, GITHUB_TOKEN);
    t.notMatch(out, OPENAI_KEY);
  }
});

t.test("a request the gate refuses: the reason is the answer, and nothing is pushed", async (t) => {
  const w = await world(t, { replies: [gateAnswer({ executable: false, reason: 'no concrete change to make' })] });
  const s = await serve(t, w);
  // A message that looks like flags is the request's text, never jgo run's options.
  const done = await s.client().chat.completions.create({ model: 'jgo', messages: [{ role: 'user', content: '--continue 20261123-202500-abcd acme/widgets what do you think?' }] });
  t.equal(done.choices[0]?.message.content, 'jgo will not run this: no concrete change to make');
  t.match(JSON.stringify(w.llm.requests[0]?.body), '--continue 20261123-202500-abcd acme/widgets what do you think?', 'the gate was asked the whole text');
  t.equal(w.fake.records().filter((r) => r.kind === 'exec').length, 0, 'codex never ran');
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  t.match(metrics, /jgo_runs_total\{outcome="refused"\} 1/);
});

t.test('the API: models, health, readiness, errors in OpenAI\'s shape', async (t) => {
  const w = await world(t);
  const s = await serve(t, w, { CODEX_BIN: w.env.CODEX_BIN! });
  const models = await s.client().models.list();
  t.same(models.data.map((m) => m.id), ['jgo']);
  t.same(await (await fetch(`${s.url}/healthz`)).json(), { status: 'ok' });
  const ready = await fetch(`${s.url}/readyz`);
  t.equal(ready.status, 200);
  t.match(await ready.json(), { status: 'ready', checks: { settings: 'ok', cache: 'ok', codex: 'ok' } });

  const post = (body: string, type = 'application/json') => fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': type }, body });
  const bad = await post('{"messages": [');
  t.equal(bad.status, 400);
  t.match(await bad.json(), { error: { type: 'invalid_request_error', code: 'invalid_body' } });
  const noMessages = await post('{"model":"jgo","messages":[]}');
  t.equal(noMessages.status, 400);
  t.match(await noMessages.json(), { error: { message: /messages/ } });
  const big = await post(JSON.stringify({ model: 'jgo', messages: [{ role: 'user', content: 'x'.repeat(1024 * 1024 + 10) }] }));
  t.equal(big.status, 413);
  t.match(await big.json(), { error: { code: 'body_too_large' } });
  await t.rejects(s.client().chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }] }), { status: 404, code: 'model_not_found' });
  t.equal((await fetch(`${s.url}/nope`)).status, 404);
  t.equal(w.llm.requests.length, 0, 'no bad request reached the gate');
});

t.test('keys: without one, or with a wrong one, 401; a non-loopback address without keys is refused', async (t) => {
  const w = await world(t);
  const key = 'serve-key-0123456789abcdef0123';
  const s = await serve(t, w, { JGO_SERVE_API_KEYS: `other-key-0123456789abcdef,${key}` });
  await t.rejects(s.client('wrong-key-0123456789abcdef').models.list(), { status: 401, code: 'invalid_api_key' });
  t.equal((await fetch(`${s.url}/v1/models`)).status, 401, 'no key');
  t.equal((await fetch(`${s.url}/metrics`)).status, 401, 'metrics too');
  t.equal((await fetch(`${s.url}/healthz`)).status, 200, 'the probes need none');
  const models = await s.client(key).models.list();
  t.same(models.data.map((m) => m.id), ['jgo'], 'the second key is as good as the first');
  t.notMatch(s.stderr(), key, 'no key in the log');

  const open = await serve(t, w, {}, ['--host', '0.0.0.0']).catch((error: Error) => error);
  t.ok(open instanceof Error, 'the server did not start');
  t.match(String(open), /exited 2: jgo: jgo serve on 0\.0\.0\.0 would take requests from anyone .* JGO_SERVE_API_KEYS is not set/);
  const badPort = await serve(t, w, {}, ['--port', '70000']).catch((error: Error) => error);
  t.match(String(badPort), /exited 2: jgo: --port 70000 is not a port/, 'a bad port: exit 2, one line');
  const taken = await serve(t, w, { JGO_SERVE_API_KEYS: key }, ['--port', new URL(s.url).port]).catch((error: Error) => error);
  t.match(String(taken), /exited 1: jgo: cannot listen on 127\.0\.0\.1:\d+: EADDRINUSE\n  Another process has that port/, 'a port in use: exit 1, what to do');
});

t.test('a client that goes away mid-stream does not stop its run', async (t) => {
  const w = await world(t);
  const s = await serve(t, w);
  const controller = new AbortController();
  const { data: stream, response } = await s.client().chat.completions.create({ model: 'jgo', stream: true, messages: [{ role: 'user', content: 'acme/widgets write notes.md' }] }, { signal: controller.signal }).withResponse();
  const runId = response.headers.get('x-jgo-run-id')!;
  for await (const part of stream) {
    if ((part.choices[0]?.delta?.content ?? '').includes('gate:')) break; // leaves the loop, closing the stream
  }
  controller.abort();
  const { until } = await import('./helpers.js');
  await until(() => {
    try {
      return JSON.parse(readFileSync(join(w.cache, 'runs', runId, 'run.json'), 'utf8')).status === 'done';
    } catch {
      return false;
    }
  });
  const report = (await (await fetch(`${s.url}/v1/runs/${runId}`)).json()) as { status: string; branch: string };
  t.equal(report.status, 'done', 'the run finished without its client');
  t.ok((await subjects(w, report.branch)).includes('docs: add notes'), 'and its branch is pushed');
});

t.test('over HTTP the same bounds hold: a repository on a host jgo may not touch is refused before any git', async (t) => {
  const w = await world(t);
  const s = await serve(t, w);
  const before = w.git.stats.length;
  const done = await s.client().chat.completions.create({ model: 'jgo', messages: [{ role: 'user', content: 'https://evil.example.com/acme/widgets add a file' }] });
  t.match(done.choices[0]?.message.content, /^jgo will not run this: evil\.example\.com is not an allowed git host/);
  t.equal(w.git.stats.length, before, 'no git request was made');
  t.equal(w.fake.records().filter((r) => r.kind === 'exec').length, 0, 'codex never ran');
});

t.test('a client that stalls while sending its request is cut off', async (t) => {
  const { connect } = await import('node:net');
  const w = await world(t);
  const s = await serve(t, w, { JGO_SERVE_REQUEST_TIMEOUT_S: '1' });
  const { port } = new URL(s.url);
  const socket = connect(Number(port), '127.0.0.1');
  let answer = '';
  socket.setEncoding('utf8').on('data', (d: string) => (answer += d));
  const closed = new Promise<number>((resolve) => socket.on('close', () => resolve(Date.now())));
  const began = Date.now();
  socket.write('POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"mod');
  const at = await Promise.race([closed, new Promise<number>((r) => setTimeout(() => r(-1), 10_000))]);
  t.ok(at > 0, 'the server closed the connection');
  t.ok(at - began < 5000, `within seconds (${at - began} ms)`);
  t.match(answer, /^HTTP\/1\.1 408/, 'with 408 Request Timeout');
  const health = await fetch(`${s.url}/healthz`);
  t.equal(health.status, 200, 'and goes on serving others');
});
