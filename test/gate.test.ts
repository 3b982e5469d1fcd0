/**
 * jgo-gate against a loopback Chat Completions server, through the real openai SDK and the
 * real stage harness (in-process, so each case costs milliseconds).
 */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runStage } from '../lib/stage.js';
import { gateStage, parseGateReply } from '../lib/stages/gate.js';
import { RUN_ID_FORMAT } from '../lib/envelope.js';
import { startLlmServer, gateAnswer, type LlmReply, type LlmServer } from './helpers/llm-server.js';
import { memoryIO } from './helpers/streams.js';
import { tempDir } from './helpers/run.js';

const fakeKey = () => `test-key-${randomBytes(12).toString('hex')}`;

interface GateOutcome {
  code: number;
  out: Record<string, any>;
  stderr: string;
  stdout: string;
  server: LlmServer;
}

async function runGate(
  t: Test,
  script: LlmReply[],
  input: string,
  env: Record<string, string> = {},
  words: string[] = [],
): Promise<GateOutcome> {
  const server = await startLlmServer(script);
  t.teardown(server.close);
  const io = memoryIO(input, {
    cwd: tempDir(t),
    env: { OPENAI_BASE_URL: server.url, OPENAI_API_KEY: env.OPENAI_API_KEY ?? fakeKey(), MODEL: 'gpt-test-mini', JGO_GIT_BASE_URL: 'http://127.0.0.1:1/git', ...env },
  });
  const code = await runStage(gateStage(words), io);
  const stdout = io.out();
  t.match(stdout, /^[^\n]+\n$/, 'one line on stdout');
  return { code, out: JSON.parse(stdout), stderr: io.err(), stdout, server };
}

t.test('an executable request: gate, repo and run_id filled, exit 0', async (t) => {
  const key = fakeKey();
  const { code, out, server, stdout, stderr } = await runGate(
    t,
    [gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Add a CONTRIBUTING.md describing how to build and test.' })],
    'acme/widgets add a CONTRIBUTING.md',
    { OPENAI_API_KEY: key },
  );
  t.equal(code, 0);
  t.equal(out.jgo, 1);
  t.match(out.run_id, RUN_ID_FORMAT);
  t.equal(out.request, 'acme/widgets add a CONTRIBUTING.md');
  t.same(out.repo, { ref: 'acme/widgets', url: 'http://127.0.0.1:1/git/acme/widgets.git' });
  t.equal(out.gate.executable, true);
  t.equal(out.gate.model, 'gpt-test-mini');
  t.equal(out.gate.optimized_prompt, 'Add a CONTRIBUTING.md describing how to build and test.');
  t.same(out.gate.usage, { input_tokens: 100, output_tokens: 20, total_tokens: 120 });
  t.equal(out.error, undefined);

  t.equal(server.requests.length, 1);
  const sent = server.requests[0]!;
  t.equal(sent.headers.authorization, `Bearer ${key}`, 'the key goes in the Authorization header');
  const body = sent.body as { model: string; response_format: unknown; messages: Array<{ role: string; content: string }> };
  t.equal(body.model, 'gpt-test-mini');
  t.same(body.response_format, { type: 'json_object' });
  t.equal(body.messages[0]?.role, 'system');
  t.match(body.messages[0]?.content, /Reply with only a JSON object/);
  t.same(body.messages[1], { role: 'user', content: 'acme/widgets add a CONTRIBUTING.md' });
  t.notMatch(stdout + stderr, key, 'the API key appears in no output');
});

t.test('not executable: exit 3, code not_executable, gate.reason says why', async (t) => {
  const { code, out, stderr } = await runGate(t, [gateAnswer({ executable: false, reason: 'It asks a question, not for a change.' })], 'acme/widgets what does this do?');
  t.equal(code, 3);
  t.equal(out.gate.executable, false);
  t.equal(out.gate.reason, 'It asks a question, not for a change.');
  t.same(out.error, { stage: 'gate', code: 'not_executable', message: 'not executable: It asks a question, not for a change.', exit_code: 3 });
  t.equal(out.repo, undefined, 'no repository for a refused request');
  t.match(stderr, /not executable: It asks a question/);
});

t.test("gate.duration_ms is the model's time: both calls of a corrected answer, as the gate waited for them", async (t) => {
  const slow = gateAnswer({ executable: true, repo_ref: 'acme/widgets' }) as { content: string };
  const { code, out } = await runGate(t, [{ content: 'not JSON', delayMs: 150 }, { ...slow, delayMs: 200 }], 'acme/widgets fix the typo');
  t.equal(code, 0);
  t.type(out.gate.duration_ms, 'number');
  t.ok(out.gate.duration_ms >= 350, `${out.gate.duration_ms} ms covers both delayed answers (350 ms)`);
  t.ok(out.gate.duration_ms < 5000, 'and not much more');
});

t.test('an answer that is not JSON is corrected once', async (t) => {
  const { code, out, server } = await runGate(
    t,
    [{ content: 'Sure! The request is executable.' }, gateAnswer({ executable: true, repo_ref: 'acme/widgets' })],
    'acme/widgets fix the typo',
  );
  t.equal(code, 0);
  t.equal(out.gate.executable, true);
  t.equal(server.requests.length, 2);
  const second = server.requests[1]!.body as { messages: Array<{ role: string; content: string }> };
  t.same(second.messages.slice(2).map((m) => m.role), ['assistant', 'user']);
  t.equal(second.messages[2]?.content, 'Sure! The request is executable.');
  t.match(second.messages[3]?.content, /Reply again with only that JSON object/);
  t.same(out.gate.usage, { input_tokens: 200, output_tokens: 40, total_tokens: 240 }, 'usage of both calls');
});

t.test('two bad answers: bad_gate_reply, exit 1, quoting at most 200 characters', async (t) => {
  const long = `{"executable": "yes", "note": "${'x'.repeat(400)}"}`;
  const { code, out } = await runGate(t, [{ content: 'not json' }, { content: long }], 'acme/widgets fix it');
  t.equal(code, 1);
  t.equal(out.error.code, 'bad_gate_reply');
  t.ok(out.error.message.includes(JSON.stringify(`${long.slice(0, 200)}…`)), 'quotes the first 200 characters');
  t.notOk(out.error.message.includes('x'.repeat(201)));
});

t.test('an executable answer without a prompt is not accepted', async (t) => {
  t.match(parseGateReply('{"executable": true, "reason": "ok", "repo_ref": "a/b", "optimized_prompt": ""}').problem, /optimized_prompt/);
  t.ok(parseGateReply('```json\n{"executable": false, "reason": "no"}\n```').reply, 'code fences are tolerated');
});

t.test('a 500 is retried, then succeeds', async (t) => {
  const { code, out, server } = await runGate(t, [{ status: 500 }, gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], 'acme/widgets fix');
  t.equal(code, 0);
  t.equal(out.gate.executable, true);
  t.equal(server.requests.length, 2);
});

t.test('a 429 is retried; JGO_LLM_RETRIES=0 turns retries off', async (t) => {
  const retried = await runGate(t, [{ status: 429 }, gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], 'acme/widgets fix');
  t.equal(retried.code, 0);
  const once = await runGate(t, [{ status: 503 }, gateAnswer({ executable: true })], 'acme/widgets fix', { JGO_LLM_RETRIES: '0' });
  t.equal(once.code, 1);
  t.equal(once.out.error.code, 'llm_error');
  t.equal(once.server.requests.length, 1);
});

t.test('a model that never answers: llm_timeout after JGO_LLM_TIMEOUT_S', async (t) => {
  const started = Date.now();
  const { code, out } = await runGate(t, [{ hang: true }], 'acme/widgets fix', { JGO_LLM_TIMEOUT_S: '1', JGO_LLM_RETRIES: '0' });
  t.equal(code, 1);
  t.equal(out.error.code, 'llm_timeout');
  t.ok(Date.now() - started < 5000, 'gives up on time');
});

t.test('a rejected key: llm_auth_failed', async (t) => {
  const { code, out } = await runGate(t, [{ status: 401, message: 'Incorrect API key' }], 'acme/widgets fix');
  t.equal(code, 1);
  t.equal(out.error.code, 'llm_auth_failed');
});

t.test('an unreachable endpoint: llm_unreachable', async (t) => {
  const io = memoryIO('acme/widgets fix', {
    cwd: tempDir(t),
    env: { OPENAI_BASE_URL: 'http://127.0.0.1:9/v1', OPENAI_API_KEY: fakeKey(), MODEL: 'm', JGO_LLM_RETRIES: '0' },
  });
  t.equal(await runStage(gateStage(), io), 1);
  t.equal(JSON.parse(io.out()).error.code, 'llm_unreachable');
});

t.test('missing settings: exit 2 naming each variable, before any call', async (t) => {
  const io = memoryIO('acme/widgets fix', { cwd: tempDir(t), env: { OPENWEBUI_MODEL: 'm' } });
  t.equal(await runStage(gateStage(), io), 2);
  const out = JSON.parse(io.out());
  t.equal(out.error.code, 'missing_settings');
  t.match(io.err(), /OPENAI_BASE_URL \(or OPENWEBUI_BASE_URL, or LITELLM_BASE_URL\)/);
  t.match(io.err(), /OPENAI_API_KEY \(or OPENWEBUI_API_KEY, or LITELLM_API_KEY\)/);
});

t.test('each fallback reaches the server: OPENWEBUI_*, LITELLM_*, and the env file', async (t) => {
  for (const prefix of ['OPENWEBUI', 'LITELLM']) {
    const server = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets' })]);
    t.teardown(server.close);
    const key = fakeKey();
    const io = memoryIO('acme/widgets fix', {
      cwd: tempDir(t),
      env: { [`${prefix}_BASE_URL`]: server.url, [`${prefix}_API_KEY`]: key, [`${prefix}_MODEL`]: `${prefix.toLowerCase()}-model` },
    });
    t.equal(await runStage(gateStage(), io), 0, prefix);
    t.equal(server.requests[0]?.headers.authorization, `Bearer ${key}`);
    t.equal((server.requests[0]?.body as { model: string }).model, `${prefix.toLowerCase()}-model`);
    t.equal(JSON.parse(io.out()).gate.model, `${prefix.toLowerCase()}-model`);
  }
  const server = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets' })]);
  t.teardown(server.close);
  const dir = tempDir(t);
  const key = fakeKey();
  writeFileSync(join(dir, '.env'), `# settings\nLITELLM_BASE_URL=${server.url}\nLITELLM_API_KEY="${key}"\nMODEL=file-model\n`);
  const io = memoryIO('acme/widgets fix', { cwd: dir, env: {} });
  t.equal(await runStage(gateStage(), io), 0, 'from ./.env');
  t.equal(server.requests[0]?.headers.authorization, `Bearer ${key}`);
  t.notMatch(io.out() + io.err(), key);
});

t.test('the repository is one the request names: the model picks among them, never beyond', async (t) => {
  const fromText = await runGate(t, [gateAnswer({ executable: true, repo_ref: '' })], 'in acme/gadgets, add a LICENSE');
  t.equal(fromText.code, 0);
  t.equal(fromText.out.repo.ref, 'acme/gadgets');
  // Another spelling of a repository the request names is that repository, as the request spells it.
  const picked = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'http://127.0.0.1:1/git/acme/widgets.git/' })], 'copy the CI of acme/gadgets into acme/widgets');
  t.equal(picked.code, 0, picked.stderr);
  t.equal(picked.out.repo.ref, 'acme/widgets');
  t.equal(picked.out.repo.url, 'http://127.0.0.1:1/git/acme/widgets.git');
  const other = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'evil/widgets' })], 'acme/widgets add a LICENSE');
  t.equal(other.code, 3);
  t.equal(other.out.error.code, 'repo_mismatch');
  t.match(other.out.error.message, /evil\/widgets.*acme\/widgets/);
  t.equal(other.out.gate.executable, false);
  t.equal(other.out.repo, undefined);
  const none = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], 'add a LICENSE to the widgets repository');
  t.equal(none.code, 3, 'a repository the request does not name is not taken from the model');
  t.equal(none.out.error.code, 'not_executable');
  t.equal(none.out.gate.executable, false);
  t.match(none.out.gate.reason, /names no repository/);
  t.equal(none.out.repo, undefined);
});

t.test('each refused repository form from the model exits 3 before anything else', async (t) => {
  const hostile = ['file:///srv/git/x.git', 'ext::sh -c id', '/srv/git/x.git', '../x/y', '-x/y', 'acme/wid gets', 'git@github.com:a/b.git', 'https://evil.example/acme/widgets'];
  for (const ref of hostile) {
    const { code, out } = await runGate(t, [gateAnswer({ executable: true, repo_ref: ref })], 'acme/widgets please do the thing');
    t.equal(code, 3, ref);
    t.equal(out.error.code, 'repo_mismatch');
    t.equal(out.gate.executable, false);
    t.equal(out.repo, undefined);
  }
});

t.test('a repository on another host is refused unless JGO_GIT_ALLOWED_HOSTS lists it', async (t) => {
  const request = 'https://Git.Example.com:443/team/app/ add a LICENSE';
  const answer = () => [gateAnswer({ executable: true, repo_ref: 'https://git.example.com/team/app' })];
  const refused = await runGate(t, answer(), request);
  t.equal(refused.code, 3);
  t.equal(refused.out.error.code, 'host_not_allowed');
  t.match(refused.stderr, /JGO_GIT_ALLOWED_HOSTS/);
  t.equal(refused.out.repo, undefined);
  const allowed = await runGate(t, answer(), request, { JGO_GIT_ALLOWED_HOSTS: 'git.example.com' });
  t.equal(allowed.code, 0, allowed.stderr);
  t.equal(allowed.out.repo.url, 'https://git.example.com/team/app.git', 'host case, default port, trailing / normalized');
  const otherPort = await runGate(t, answer(), request, { JGO_GIT_ALLOWED_HOSTS: 'git.example.com:8443' });
  t.equal(otherPort.out.error.code, 'host_not_allowed', 'a host is its name and port');
  const bad = await runGate(t, [], 'acme/widgets x', { JGO_GIT_ALLOWED_HOSTS: 'https://x/y' });
  t.equal(bad.code, 2);
  t.equal(bad.out.error.code, 'invalid_setting');
  t.equal(bad.server.requests.length, 0, 'a bad setting stops the gate before the model is asked');
});

t.test('JGO_REPOS limits the repositories jgo may touch', async (t) => {
  const env = { JGO_REPOS: 'acme/*, tools/jgo' };
  const inside = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'Acme/widgets' })], 'Acme/widgets add a LICENSE', env);
  t.equal(inside.code, 0, inside.stderr);
  const exact = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'tools/jgo' })], 'tools/jgo add a LICENSE', env);
  t.equal(exact.code, 0, exact.stderr);
  const outside = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'tools/other' })], 'tools/other add a LICENSE', env);
  t.equal(outside.code, 3);
  t.equal(outside.out.error.code, 'repo_not_allowed');
  t.match(outside.out.error.message, /tools\/other/);
});

t.test('a request over JGO_MAX_REQUEST_BYTES is refused before any model call', async (t) => {
  const long = `acme/widgets ${'é'.repeat(60)}`; // 133 bytes, 73 characters
  const over = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], long, { JGO_MAX_REQUEST_BYTES: '100' });
  t.equal(over.code, 2);
  t.equal(over.out.error.code, 'request_too_large');
  t.match(over.stderr, /133 bytes, over JGO_MAX_REQUEST_BYTES=100/);
  t.equal(over.server.requests.length, 0);
  const big = await runGate(t, [], `acme/widgets ${'x'.repeat(64 * 1024)}`);
  t.equal(big.out.error.code, 'request_too_large', 'the default is 64 KiB');
  t.equal(big.server.requests.length, 0);
  const fits = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], long, { JGO_MAX_REQUEST_BYTES: '133' });
  t.equal(fits.code, 0, fits.stderr);
});

t.test('every stdin form: plain text, an envelope with request, arguments', async (t) => {
  const plain = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], '  acme/widgets fix the typo\n');
  t.equal(plain.out.request, 'acme/widgets fix the typo');
  const envelope = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], JSON.stringify({ jgo: 1, run_id: '20261123-202500-7f3a', request: 'acme/widgets fix', extra: 1 }));
  t.equal(envelope.code, 0);
  t.equal(envelope.out.run_id, '20261123-202500-7f3a', 'an existing run_id is kept');
  t.equal(envelope.out.extra, 1, 'unknown fields pass through');
  const args = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets' })], '', {}, ['acme/widgets', 'fix', 'it']);
  t.equal(args.out.request, 'acme/widgets fix it');
  const noRequest = await runGate(t, [], '{"jgo":1}');
  t.equal(noRequest.code, 2);
  t.equal(noRequest.out.error.code, 'no_request');
  t.equal(noRequest.server.requests.length, 0);
});

t.test('an upstream error is passed through without calling the model', async (t) => {
  const upstream = { jgo: 1, request: 'x', error: { stage: 'run', code: 'interrupted', message: 'stopped', exit_code: 1 } };
  const { code, out, server } = await runGate(t, [], JSON.stringify(upstream));
  t.equal(code, 1);
  t.same(out, upstream);
  t.equal(server.requests.length, 0);
});

t.test("a follow-up: the model sees the thread so far, and the thread's repository is kept", async (t) => {
  const follow = {
    thread: '20261123-202500-aaaa',
    parent: '20261123-202500-aaaa',
    branch: 'jgo/20261123-202500',
    repo: { ref: 'acme/widgets', url: 'http://127.0.0.1:1/git/acme/widgets.git' },
    history: [{ run_id: '20261123-202500-aaaa', request: 'acme/widgets add a CONTRIBUTING.md', commits: [{ sha: 'a'.repeat(40), subject: 'docs: add CONTRIBUTING.md' }] }],
  };
  const input = (request: string) => JSON.stringify({ jgo: 1, run_id: '20261123-203000-bbbb', request, continue: follow });
  const also = await runGate(t, [gateAnswer({ executable: true, repo_ref: '', optimized_prompt: 'Add a test for CONTRIBUTING.md.' })], input('also add a test for it'));
  t.equal(also.code, 0, also.stderr);
  t.same(also.out.repo, follow.repo, 'a request naming no repository works on the thread\'s');
  t.same(also.out.continue, follow, 'continue is passed on for the stages after');
  const asked = (also.server.requests[0]!.body as { messages: Array<{ content: string }> }).messages[1]!.content;
  t.match(asked, /follow-up .* branch jgo\/20261123-202500 in the repository acme\/widgets/);
  t.match(asked, /Request: "acme\/widgets add a CONTRIBUTING\.md"\n {3}- docs: add CONTRIBUTING\.md/, 'the earlier request and its commits');
  t.match(asked, /The new request:\nalso add a test for it$/);

  const named = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Add a test.' })], input('in acme/widgets also add a test'));
  t.equal(named.code, 0, 'naming the thread\'s own repository is fine');
  const moved = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'acme/gadgets', optimized_prompt: 'x' })], input('now do the same in acme/gadgets'));
  t.equal(moved.code, 3, 'a follow-up cannot move to another repository');
  t.equal(moved.out.error.code, 'repo_mismatch');
  t.match(moved.out.error.message, /stays in its thread's repository acme\/widgets/);
  const modelMoved = await runGate(t, [gateAnswer({ executable: true, repo_ref: 'evil/widgets', optimized_prompt: 'x' })], input('also add a test'));
  t.equal(modelMoved.out.error.code, 'repo_mismatch', "nor may the model move it");
});
