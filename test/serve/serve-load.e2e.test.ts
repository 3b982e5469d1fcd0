/**
 * `jgo serve` under load and across a restart, driven by the real openai SDK: ten conversations
 * at once through two run slots, a full queue, and SIGTERM during a run followed by a server
 * that marks it interrupted and resumes it.
 */
import t from 'tap';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { anyRun, serve, streamed, subjects, until, world } from './helpers.js';

const record = (cache: string, id: string) => JSON.parse(readFileSync(join(cache, 'runs', id, 'run.json'), 'utf8')) as { status: string; started: string; ended?: string; thread?: string };

t.test('ten conversations at once, two runs at a time: all complete, none lost, each on its own branch', async (t) => {
  const w = await world(t);
  const s = await serve(t, w, { JGO_SERVE_CONCURRENCY: '2' });
  const client = s.client();
  const answers = await Promise.all(
    Array.from({ length: 10 }, async (_, i) => {
      const stream = await client.chat.completions.create({ model: 'jgo', stream: true, messages: [{ role: 'user', content: `acme/widgets write notes.md, take ${i}` }] });
      return streamed(stream);
    }),
  );
  const branches = answers.map((a) => /Pushed `(jgo\/[\w-]+)`/.exec(a)?.[1]);
  t.equal(branches.filter(Boolean).length, 10, 'every conversation got a pushed branch');
  t.equal(new Set(branches).size, 10, 'ten branches');
  for (const branch of branches) t.same(await subjects(w, branch!), ['Initial commit', 'docs: add notes']);
  t.ok(answers.some((a) => /waiting: \d+ in the queue|waiting: next in the queue/.test(a)), 'the queued ones were told their place');
  // No more than two runs overlapped at any moment.
  const runs = readdirSync(join(w.cache, 'runs')).map((id) => record(w.cache, id));
  const edges = runs.flatMap((r) => [[Date.parse(r.started), 1], [Date.parse(r.ended!), -1]] as const).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  let at = 0;
  let most = 0;
  for (const [, d] of edges) most = Math.max(most, (at += d));
  t.ok(most <= 2, `at most two runs at once (${most})`);
  const metrics = await (await fetch(`${s.url}/metrics`)).text();
  t.match(metrics, /jgo_runs_total\{outcome="done"\} 10/);
  t.match(metrics, /jgo_queue_depth 0/);
  t.match(metrics, /jgo_runs_in_progress 0/);
});

t.test("a conversation's turns run one after another; a full queue is 429 with Retry-After", async (t) => {
  const w = await world(t, { codex: anyRun([{ sleep: 1500 }]) });
  const s = await serve(t, w, { JGO_SERVE_CONCURRENCY: '2', JGO_SERVE_QUEUE_MAX: '1' });
  const client = s.client();
  const first = await client.chat.completions.create({ model: 'jgo', messages: [{ role: 'user', content: 'acme/widgets write notes.md' }] });
  const answer = first.choices[0]!.message.content!;
  const history = [{ role: 'user' as const, content: 'acme/widgets write notes.md' }, { role: 'assistant' as const, content: answer }];
  // Two follow-ups of the same conversation at once: the second waits though a slot is free.
  const [a, b] = [
    client.chat.completions.create({ model: 'jgo', messages: [...history, { role: 'user', content: 'also a' }] }).withResponse(),
    client.chat.completions.create({ model: 'jgo', messages: [...history, { role: 'user', content: 'also b' }] }).withResponse(),
  ];
  await until(() => s.stderr().includes('waiting') || readdirSync(join(w.cache, 'runs')).length >= 2, 10_000).catch(() => {});
  await new Promise((r) => setTimeout(r, 300));
  // One runs, one waits: the queue (max 1) is full now.
  await t.rejects(client.chat.completions.create({ model: 'jgo', messages: [{ role: 'user', content: 'acme/widgets another' }] }), { status: 429, code: 'queue_full' });
  const raw = await fetch(`${s.url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: 'jgo', messages: [{ role: 'user', content: 'acme/widgets x' }] }) });
  t.equal(raw.status, 429);
  t.equal(raw.headers.get('retry-after'), '60');
  const [ra, rb] = await Promise.all([a, b]);
  const ids = [ra.response.headers.get('x-jgo-run-id')!, rb.response.headers.get('x-jgo-run-id')!];
  const [ea, eb] = ids.map((id) => record(w.cache, id));
  const [early, late] = Date.parse(ea!.started) < Date.parse(eb!.started) ? [ea!, eb!] : [eb!, ea!];
  t.ok(Date.parse(late.started) >= Date.parse(early.ended!), "the conversation's second turn began after its first ended");
  const branch = /Pushed `(jgo\/[\w-]+)`/.exec(answer)![1]!;
  t.equal((await subjects(w, branch)).length, 4, 'three runs on the one branch');
  t.match(await (await fetch(`${s.url}/metrics`)).text(), /jgo_runs_total\{outcome="rejected"\} 2/);
});

t.test('SIGTERM during a run: it is interrupted, and the restarted server resumes it', async (t) => {
  const w = await world(t, { codex: anyRun([{ sleep: 60_000 }]) });
  const s = await serve(t, w, { JGO_SERVE_GRACE_S: '1' });
  const { data: stream, response } = await s.client().chat.completions.create({ model: 'jgo', stream: true, messages: [{ role: 'user', content: 'acme/widgets write notes.md' }] }).withResponse();
  const runId = response.headers.get('x-jgo-run-id')!;
  const reading = streamed(stream);
  await until(() => w.fake.records().some((r) => r.kind === 'exec'), 20_000);
  s.child.kill('SIGTERM');
  t.equal(await s.exited, 0, 'the server stops cleanly');
  const answer = await reading;
  t.match(answer, new RegExp(`run ${runId} was interrupted, and can be continued with \`jgo resume ${runId}\``), 'the client is told');
  t.equal(record(w.cache, runId).status, 'interrupted', 'the journal says interrupted');
  t.match(s.stderr(), /interrupting 1 run\(s\)/);

  w.script(anyRun());
  const again = await serve(t, w, { JGO_SERVE_RESUME: 'true' });
  await until(() => record(w.cache, runId).status === 'done', 30_000);
  t.match(again.stderr(), new RegExp(`resuming run ${runId}`));
  const report = (await (await fetch(`${again.url}/v1/runs/${runId}`)).json()) as { branch: string; status: string };
  t.equal(report.status, 'done');
  t.same(await subjects(w, report.branch), ['Initial commit', 'docs: add notes'], 'the resumed run pushed its branch');
});

t.test('a run left running by a server that was killed is marked interrupted on start', async (t) => {
  const w = await world(t, { codex: anyRun([{ sleep: 60_000 }]) });
  const s = await serve(t, w);
  const pending = s.client().chat.completions.create({ model: 'jgo', stream: true, messages: [{ role: 'user', content: 'acme/widgets write notes.md' }] }).withResponse();
  const { response, data } = await pending;
  const runId = response.headers.get('x-jgo-run-id')!;
  void streamed(data).catch(() => '');
  await until(() => w.fake.records().some((r) => r.kind === 'exec'), 20_000);
  // The server and its run die at once, as in an OOM kill of the pod.
  const runPid = (JSON.parse(readFileSync(join(w.cache, 'runs', runId, 'run.json'), 'utf8')) as { pid: number }).pid;
  for (const pid of [s.child.pid!, runPid, ...w.fake.records().map((r) => r.pid)]) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* gone already */
    }
  }
  await s.exited;
  await until(() => {
    try {
      process.kill(runPid, 0);
      return false;
    } catch {
      return true;
    }
  });
  const again = await serve(t, w);
  t.match(again.stderr(), new RegExp(`run ${runId} was left running by a jgo that stopped: marked interrupted`));
  t.equal(record(w.cache, runId).status, 'interrupted');
});
