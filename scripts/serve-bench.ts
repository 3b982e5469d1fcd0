/**
 * `jgo serve` under load, on loopback: the first streamed byte of an accepted request, the idle
 * server's resident memory, and N requests through JGO_SERVE_CONCURRENCY=2 against N/2 times one
 * run alone (the queue's own cost). The model is the scripted loopback server; codex is the fake,
 * which waits `--codex-ms` in each edit as a real codex waits on its model.
 *
 *   node dist/scripts/serve-bench.js [--requests 20] [--codex-ms 2000] [--json]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGitServer, createBareRepo, revParse } from '../test/helpers/git-server.js';
import { startLlmServer, gateAnswer } from '../test/helpers/llm-server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const usage = 'usage: node dist/scripts/serve-bench.js [--requests N] [--codex-ms MS] [--json]\n';
let values: { requests: string; 'codex-ms': string; json: boolean; help: boolean };
try {
  values = parseArgs({ options: { requests: { type: 'string', default: '20' }, 'codex-ms': { type: 'string', default: '2000' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } }).values as typeof values;
} catch (error) {
  process.stderr.write(`serve-bench: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const requests = Number(values.requests);
const codexMs = Number(values['codex-ms']);

/** Every exec, edit or plan, fits this script: it writes notes.md and answers a plan for it. */
function fakeScript(): unknown {
  const plan = JSON.stringify({ commits: [{ subject: 'docs: add notes', body: '', paths: ['notes.md'] }] });
  return {
    login: 'ok',
    steps: [
      { event: { type: 'thread.started', thread_id: 't' } },
      { event: { type: 'turn.started' } },
      { sleep: codexMs },
      { write: 'notes.md', content: 'notes for {{cwd}}\n' },
      { event: { type: 'item.completed', item: { id: 'm', type: 'agent_message', text: plan } } },
      { event: { type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } } },
    ],
  };
}

function startServe(env: NodeJS.ProcessEnv, cwd: string): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, [join(root, 'dist', 'cmd', 'jgo.js'), 'serve', '--port', '0'], { env, cwd, stdio: ['ignore', 'pipe', 'ignore'] });
  return new Promise((done, fail) => {
    let out = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      out += d;
      if (out.includes('\n')) done({ url: out.split('\n')[0]!, child });
    });
    child.on('exit', (code) => fail(new Error(`jgo serve exited ${code}`)));
  });
}

/** One streamed turn: when its first byte came, when it ended, and the branch it pushed. */
async function turn(url: string, i: number): Promise<{ firstByteMs: number; totalMs: number; branch: string | undefined }> {
  const began = performance.now();
  const response = await fetch(`${url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'jgo', stream: true, messages: [{ role: 'user', content: `acme/widgets write notes.md, take ${i}` }] }),
  });
  const reader = response.body!.getReader();
  let firstByteMs = -1;
  let text = '';
  const decoder = new TextDecoder();
  for (;;) {
    const { done, value } = await reader.read();
    if (firstByteMs < 0) firstByteMs = performance.now() - began;
    if (done) break;
    text += decoder.decode(value, { stream: true });
  }
  const content = text.split('\n').filter((l) => l.startsWith('data: {')).map((l) => (JSON.parse(l.slice(6)) as { choices: Array<{ delta: { content?: string } }> }).choices[0]?.delta.content ?? '').join('');
  return { firstByteMs, totalMs: performance.now() - began, branch: /Pushed `(jgo\/[\w-]+)`/.exec(content)?.[1] };
}

const residentMiB = (pid: number) => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'jgo-serve-bench-'));
  const git = await startGitServer();
  await createBareRepo(git, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const llm = await startLlmServer(Array.from({ length: requests + 4 }, () => gateAnswer({ executable: true, repo_ref: '', optimized_prompt: 'Write notes.md.' })));
  const script = join(home, 'fake-script.json');
  writeFileSync(script, JSON.stringify(fakeScript()));
  const env = {
    PATH: process.env.PATH,
    HOME: home,
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: 'serve-bench-key-000000',
    MODEL: 'm',
    JGO_GIT_BASE_URL: git.url,
    JGO_CACHE_DIR: join(home, 'cache'),
    CODEX_BIN: join(root, 'test', 'helpers', 'fake-codex.mjs'),
    CODEX_FAKE_SCRIPT: script,
    JGO_ENV_FILE: join(home, 'none.env'),
    JGO_SERVE_CONCURRENCY: '2',
    JGO_SERVE_QUEUE_MAX: String(requests + 10),
  };
  const { url, child } = await startServe(env, home);
  try {
    await new Promise((r) => setTimeout(r, 1000));
    const idle = residentMiB(child.pid!);
    await turn(url, -1); // the mirror is made: the runs after it are warm
    const alone = await turn(url, 0);
    const began = performance.now();
    const all = await Promise.all(Array.from({ length: requests }, (_, i) => turn(url, i + 1)));
    const loadMs = performance.now() - began;
    let pushed = 0;
    for (const r of all) if (r.branch && (await revParse(git, 'acme/widgets.git', r.branch))) pushed++;
    const ideal = (requests / 2) * alone.totalMs;
    const summary = {
      requests,
      codex_ms: codexMs,
      first_byte_ms: Math.round(alone.firstByteMs * 10) / 10,
      first_byte_ms_under_load: Math.round(Math.max(...all.map((r) => r.firstByteMs)) * 10) / 10,
      idle_rss_mib: Math.round(idle * 10) / 10,
      one_run_ms: Math.round(alone.totalMs),
      load_ms: Math.round(loadMs),
      ideal_ms: Math.round(ideal),
      over_ideal: Math.round((loadMs / ideal - 1) * 1000) / 10,
      pushed,
    };
    if (values.json) process.stdout.write(`${JSON.stringify(summary)}\n`);
    else {
      process.stdout.write(
        `first streamed byte    ${summary.first_byte_ms} ms (under load, the slowest: ${summary.first_byte_ms_under_load} ms; target 100 ms)\n` +
          `idle server            ${summary.idle_rss_mib} MiB resident (target 100 MiB)\n` +
          `${requests} requests, 2 at a time  ${summary.load_ms} ms against ${requests / 2} x one run (${summary.one_run_ms} ms) = ${summary.ideal_ms} ms: ${summary.over_ideal}% over (target 10%)\n` +
          `branches pushed        ${pushed} of ${requests}\n`,
      );
    }
    if (pushed !== requests) process.exitCode = 1;
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await llm.close();
    await git.close();
    rmSync(home, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`serve-bench: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
