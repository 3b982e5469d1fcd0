/** The built jgo-gate executable, run as a process with real stdin and stdout. */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { spawn } from 'node:child_process';
import { bin, baseEnv, runProcess, tempDir } from '../helpers/run.js';
import { startLlmServer, gateAnswer } from '../helpers/llm-server.js';

const gate = bin('jgo-gate');

t.test('echo "acme/widgets add a CONTRIBUTING.md" | jgo-gate prints a valid envelope', async (t) => {
  const server = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Add CONTRIBUTING.md.' })]);
  t.teardown(server.close);
  const home = tempDir(t);
  const key = `test-key-${randomBytes(12).toString('hex')}`;
  const base = 'http://127.0.0.1:8123/git';
  const result = await runProcess(gate, {
    input: 'acme/widgets add a CONTRIBUTING.md\n',
    cwd: home,
    env: { ...baseEnv(home), OPENAI_BASE_URL: server.url, OPENAI_API_KEY: key, MODEL: 'gpt-test-mini', JGO_GIT_BASE_URL: base },
  });
  t.equal(result.code, 0, result.stderr);
  t.match(result.stdout, /^\{[^\n]*\}\n$/, 'exactly one line of JSON on stdout');
  const out = JSON.parse(result.stdout);
  const { Envelope } = await import('../../lib/envelope.js');
  t.ok(Envelope.safeParse(out).success, 'the output is a valid envelope v1');
  t.equal(out.repo.url, `${base}/acme/widgets.git`);
  t.equal(out.gate.executable, true);
  t.notMatch(result.stdout + result.stderr, key, 'the API key is in no output');
  t.match(result.stderr, /^jgo-gate: executable/);
});

t.test('the request as arguments; a refusal exits 3', async (t) => {
  const server = await startLlmServer([gateAnswer({ executable: false, reason: 'too vague' })]);
  t.teardown(server.close);
  const home = tempDir(t);
  const result = await runProcess(gate, {
    args: ['acme/widgets', 'make', 'it', 'better'],
    cwd: home,
    env: { ...baseEnv(home), OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'k-123456', MODEL: 'm' },
  });
  t.equal(result.code, 3);
  t.equal(JSON.parse(result.stdout).gate.reason, 'too vague');
  t.equal((server.requests[0]?.body as { messages: Array<{ content: string }> }).messages[1]?.content, 'acme/widgets make it better');
});

t.test('bad flags and bad stdin: exit 2, a message, no stack trace', async (t) => {
  const home = tempDir(t);
  const flags = await runProcess(gate, { args: ['--frobnicate'], cwd: home, env: baseEnv(home) });
  t.equal(flags.code, 2);
  t.match(flags.stderr, /Unknown argument: frobnicate/);
  const empty = await runProcess(gate, { cwd: home, env: baseEnv(home) });
  t.equal(empty.code, 2);
  t.match(empty.stderr, /stdin is empty/);
  t.match(empty.stderr, /usage: jgo-gate/);
  t.notMatch(empty.stderr + flags.stderr, /\n\s+at /);
  t.equal(JSON.parse(empty.stdout).error.code, 'no_input');
});

t.test('--help is the manual, on stdout, exit 0', async (t) => {
  const home = tempDir(t);
  const help = await runProcess(gate, { args: ['--help'], cwd: home, env: baseEnv(home) });
  t.equal(help.code, 0);
  t.match(help.stdout, /Exit codes:/);
  t.match(help.stdout, /echo "acme\/widgets/);
});

t.test('a reader that closes early (| head -c 0) is not an error', async (t) => {
  const server = await startLlmServer([gateAnswer({ executable: true, repo_ref: 'acme/widgets' })]);
  t.teardown(server.close);
  const home = tempDir(t);
  const code = await new Promise<number | null>((resolve) => {
    const child = spawn(process.execPath, [gate, 'acme/widgets', 'fix'], {
      cwd: home,
      env: { ...baseEnv(home), OPENAI_BASE_URL: server.url, OPENAI_API_KEY: 'k-123456', MODEL: 'm' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d));
    child.stdout.destroy(); // the reader is gone before anything is written
    child.on('close', (c) => {
      t.notMatch(stderr, /EPIPE|Error/, 'nothing about EPIPE on stderr');
      resolve(c);
    });
  });
  t.equal(code, 0);
});

t.test("the SDK's retries and errors, as the process meets them", async (t) => {
  const home = tempDir(t);
  const env = (url: string) => ({ ...baseEnv(home), OPENAI_BASE_URL: url, OPENAI_API_KEY: 'k-123456', MODEL: 'm', JGO_LLM_RETRIES: '1' });

  // A 500, retried; then a 401, whose JSON body and status become llm_auth_failed.
  const failing = await startLlmServer([{ status: 500 }, { status: 401, message: 'Incorrect API key' }]);
  t.teardown(failing.close);
  const refused = await runProcess(gate, { args: ['acme/widgets', 'fix'], cwd: home, env: env(failing.url) });
  t.equal(refused.code, 1, refused.stderr);
  t.equal(failing.requests.length, 2, 'the 500 was retried once');
  t.equal(JSON.parse(refused.stdout).error.code, 'llm_auth_failed');

  // A 500, then the answer: executable, with the model's fields read from the JSON body.
  const server = await startLlmServer([{ status: 500 }, gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Fix it.' })]);
  t.teardown(server.close);
  const ok = await runProcess(gate, { args: ['acme/widgets', 'fix'], cwd: home, env: env(server.url) });
  t.equal(ok.code, 0, ok.stderr);
  t.equal(JSON.parse(ok.stdout).gate.optimized_prompt, 'Fix it.');
  const headers = server.requests[1]?.headers ?? {};
  t.equal(headers['content-type'], 'application/json', 'the request went out with its headers');
  t.equal(headers.authorization, 'Bearer k-123456');
  t.equal(headers['x-stainless-retry-count'], '1', 'the retry says so, as the SDK does');
});
