/**
 * The pipeline's own cost: `jgo run` end to end on a warm cache (the mirror exists), minus codex's
 * time (the edit run and the planning run, as the envelopes report them) and the model's (the
 * loopback model server's answering), with a scripted fake codex. What remains is jgo: five process starts,
 * the envelope hand-offs, the warm sync, the working copy, the commits, the push and its proof.
 *
 *   node dist/scripts/overhead.js [--runs 11] [--files 50] [--json]
 *
 * JGO_TRACE=1 passes through (and the runs are not --quiet then), to see where each run's time goes.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { startGitServer, createBareRepo } from '../test/helpers/git-server.js';
import { startLlmServer, gateAnswer } from '../test/helpers/llm-server.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const usage = 'usage: node dist/scripts/overhead.js [--runs N] [--files N] [--json]\n';
let parsed;
try {
  parsed = parseArgs({ options: { runs: { type: 'string', default: '11' }, files: { type: 'string', default: '50' }, json: { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h', default: false } } });
} catch (error) {
  process.stderr.write(`overhead: ${(error as Error).message}\n${usage}`);
  process.exit(2);
}
const { values } = parsed;
if (values.help) {
  process.stdout.write(usage);
  process.exit(0);
}
const runs = Number(values.runs);
const files = Number(values.files);

/** How long any of these spans (epoch ms) was under way between `from` and `to`: their union. */
function busy(spans: ReadonlyArray<{ started: number; ended: number }>, from: number, to: number): number {
  const clipped = spans.map((r) => [Math.max(r.started, from), Math.min(r.ended || to, to)] as const).sort((a, b) => a[0] - b[0]);
  let total = 0;
  let reach = from;
  for (const [start, end] of clipped) {
    if (end > Math.max(start, reach)) total += end - Math.max(start, reach);
    reach = Math.max(reach, end);
  }
  return total;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? (s[(s.length - 1) / 2] as number) : ((s[s.length / 2 - 1] as number) + (s[s.length / 2] as number)) / 2;
};

async function main(): Promise<void> {
  const home = mkdtempSync(join(tmpdir(), 'jgo-overhead-'));
  const git = await startGitServer();
  await createBareRepo(git, 'acme/widgets.git', { files: Object.fromEntries(Array.from({ length: files }, (_, i) => [`src/f${i}.txt`, `line ${i}\n`.repeat(20)])) });
  const llm = await startLlmServer(Array.from({ length: runs + 1 }, () => gateAnswer({ executable: true, repo_ref: 'acme/widgets', optimized_prompt: 'Add NOTES.md.' })));
  const script = join(home, 'fake-script.json');
  writeFileSync(
    script,
    JSON.stringify({
      login: 'ok',
      runs: [
        { steps: [{ event: { type: 'thread.started', thread_id: 't' } }, { event: { type: 'turn.started' } }, { write: 'NOTES.md', content: 'notes\n' }, { event: { type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } } }] },
        { steps: [{ event: { type: 'thread.started', thread_id: 't' } }, { event: { type: 'turn.started' } }, { event: { type: 'item.completed', item: { id: 'm', type: 'agent_message', text: JSON.stringify({ commits: [{ subject: 'docs: add NOTES.md', body: '', paths: ['NOTES.md'] }] }) } } }, { event: { type: 'turn.completed', usage: { input_tokens: 1, output_tokens: 1 } } }] },
      ],
    }),
  );
  const cache = join(home, 'cache');
  const results: Array<{ wall: number; codex: number; model: number; server: number; stages: Record<string, number> }> = [];
  for (let i = 0; i <= runs; i++) {
    const record = join(home, `record-${i}.jsonl`);
    const env = {
      PATH: process.env.PATH,
      HOME: home,
      OPENAI_BASE_URL: llm.url,
      OPENAI_API_KEY: 'overhead-key-000000',
      MODEL: 'm',
      JGO_GIT_BASE_URL: git.url,
      JGO_CACHE_DIR: cache,
      CODEX_BIN: join(root, 'test', 'helpers', 'fake-codex.mjs'),
      CODEX_FAKE_SCRIPT: script,
      CODEX_FAKE_RECORD: record,
      JGO_ENV_FILE: join(home, 'none.env'),
      ...(process.env.JGO_CODE_CACHE ? { JGO_CODE_CACHE: process.env.JGO_CODE_CACHE } : {}),
      ...(process.env.JGO_TRACE ? { JGO_TRACE: process.env.JGO_TRACE } : {}),
    };
    const started = process.hrtime.bigint();
    const startedAt = Date.now();
    const before = git.stats.length;
    const asked = llm.spans.length;
    const code = await new Promise<number>((done) => {
      const child = spawn(process.execPath, [join(root, 'dist', 'cmd', 'jgo.js'), 'run', ...(process.env.JGO_TRACE ? [] : ['--quiet']), `acme/widgets add notes ${i}`], { env, cwd: home, stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('close', (c) => done(c ?? 1));
    });
    const wall = Number(process.hrtime.bigint() - started) / 1e6;
    const endedAt = Date.now();
    // The loopback servers' shares: while any of their requests was being answered. The model's
    // is the server's own time: the SDK's work in the gate (most of the 20-30 ms the gate reports
    // waiting, as the first request of a fresh process) is jgo's.
    const server = busy(git.stats.slice(before), startedAt, endedAt);
    const model = busy(llm.spans.slice(asked), startedAt, endedAt);
    if (code !== 0) throw new Error(`jgo run failed with exit ${code}`);
    const id = readdirSync(join(cache, 'runs')).sort().at(-1) ?? '';
    const stages: Record<string, number> = {};
    let codex = 0;
    for (const file of readdirSync(join(cache, 'runs', id)).filter((f) => /^\d-/.test(f))) {
      const rec = JSON.parse(readFileSync(join(cache, 'runs', id, file), 'utf8')) as {
        stage: string;
        duration_ms: number;
        envelope: { codex?: { duration_ms?: number }; ship?: { plan_duration_ms?: number } };
      };
      stages[rec.stage] = rec.duration_ms;
      if (rec.stage === 'codex') codex += rec.envelope.codex?.duration_ms ?? 0;
      if (rec.stage === 'ship') codex += rec.envelope.ship?.plan_duration_ms ?? 0;
    }
    if (i > 0) results.push({ wall, codex, model, server, stages }); // run 0 builds the mirror: the cache is warm after it
  }
  // The machine's own speed at the time, for reading the figure: a bare Node start, in the
  // environment the runs had (NODE_EXTRA_CA_CERTS in the caller's, say, costs every start 40 ms).
  const nodeStarts: number[] = [];
  for (let i = 0; i < 7; i++) {
    const began = process.hrtime.bigint();
    await new Promise<void>((done) => spawn(process.execPath, ['-e', '0'], { stdio: 'ignore', env: { PATH: process.env.PATH, HOME: home } }).on('close', () => done()));
    nodeStarts.push(Number(process.hrtime.bigint() - began) / 1e6);
  }
  await llm.close();
  await git.close();
  rmSync(home, { recursive: true, force: true });
  // codex's time is what the envelopes report (each run and the login check before it); the
  // model's, what the model server spent answering.
  const overhead = median(results.map((r) => r.wall - r.codex - r.model));
  const withoutServer = median(results.map((r) => r.wall - r.codex - r.model - r.server));
  const summary = {
    runs,
    files,
    wall_ms: Math.round(median(results.map((r) => r.wall))),
    codex_ms: Math.round(median(results.map((r) => r.codex))),
    model_ms: Math.round(median(results.map((r) => r.model)) * 10) / 10,
    git_server_ms: Math.round(median(results.map((r) => r.server))),
    overhead_ms: Math.round(overhead),
    overhead_without_server_ms: Math.round(withoutServer),
    stages_ms: Object.fromEntries(['gate', 'sync', 'worktree', 'codex', 'ship'].map((s) => [s, Math.round(median(results.map((r) => r.stages[s] ?? 0)))])),
    node_start_ms: Math.round(median(nodeStarts)),
    target_ms: 1000,
  };
  if (values.json) {
    process.stdout.write(`${JSON.stringify(summary)}\n`);
    return;
  }
  process.stdout.write(
    `pipeline overhead on a warm cache (${files}-file repository, medians of ${runs} runs, fake codex, loopback model):\n` +
      `  jgo run wall time        ${summary.wall_ms} ms\n` +
      `  of which codex           ${summary.codex_ms} ms (2 runs, each with its login check, as the envelopes report them)\n` +
      `  of which the model       ${summary.model_ms} ms (the loopback model server answering the gate)\n` +
      `  jgo's own cost           ${summary.overhead_ms} ms   target < 1000 ms: ${summary.overhead_ms < 1000 ? 'pass' : 'FAIL'}\n` +
      `  of which the git remote  ${summary.git_server_ms} ms (the loopback git http-backend answering jgo's requests)\n` +
      `  jgo's own cost without the remote's time too: ${summary.overhead_without_server_ms} ms` +
      `   target < 1000 ms: ${summary.overhead_without_server_ms < 1000 ? 'pass' : 'FAIL'}\n` +
      `  (a bare \`node -e 0\` takes ${summary.node_start_ms} ms on this machine now; a run starts six jgo processes and four of the fake codex)\n` +
      `  per stage (process wall) ${Object.entries(summary.stages_ms).map(([s, ms]) => `${s} ${ms}`).join(', ')}\n`,
  );
}

await main();
