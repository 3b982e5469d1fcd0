/**
 * npm run demo: the whole pipeline, offline, before any credentials are configured.
 *
 * On 127.0.0.1 only: a git smart-HTTP server (git's own http-backend) with a small sample
 * repository, a model server that answers the gate (Chat Completions) and scripts the real codex
 * CLI (Responses API: one edit, then a commit plan). `jgo run` drives the five stages as
 * processes; the demo then prints each stage's envelope from the journal and the branch as the
 * server has it.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startGitServer, createBareRepo, runGit } from '../test/helpers/git-server.js';
import { startLlmServer, gateAnswer } from '../test/helpers/llm-server.js';
import { startResponsesServer } from '../test/helpers/responses-server.js';
import { startRouter } from '../test/helpers/router.js';

const here = dirname(fileURLToPath(import.meta.url));
const root = resolve(here, '..', '..');
const jgo = join(root, 'dist', 'cmd', 'jgo.js');
const codexBin = join(root, 'node_modules', '.bin', 'codex');
/** A model codex knows (its bundled catalog), so it offers the apply_patch tool. */
const MODEL = 'gpt-5.5';
const REQUEST = 'acme/widgets add a CONTRIBUTING.md and install steps to the README';

const dim = (s: string) => (process.stdout.isTTY ? `\x1b[2m${s}\x1b[0m` : s);
const bold = (s: string) => (process.stdout.isTTY ? `\x1b[1m${s}\x1b[0m` : s);

/** Long strings shortened, so an envelope fits on a screen. */
function shorten(value: unknown): unknown {
  if (typeof value === 'string') return value.length > 120 ? `${value.slice(0, 117)}…` : value;
  if (Array.isArray(value)) return value.map(shorten);
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, shorten(v)]));
  return value;
}

async function main(): Promise<number> {
  const home = mkdtempSync(join(tmpdir(), 'jgo-demo-'));
  const git = await startGitServer();
  await createBareRepo(git, 'acme/widgets.git', {
    files: {
      'README.md': '# widgets\n\nWidgets for every occasion.\n',
      'package.json': '{\n  "name": "widgets",\n  "scripts": { "dev": "node server.js" }\n}\n',
      'server.js': "console.log('widgets on :3000');\n",
    },
  });
  const llm = await startLlmServer([
    gateAnswer({
      executable: true,
      reason: 'A concrete documentation change to one repository.',
      repo_ref: 'acme/widgets',
      optimized_prompt: 'Add CONTRIBUTING.md (how to propose changes) and an "Install" section to README.md (npm ci, npm run dev).',
    }),
  ]);
  const model = await startResponsesServer([
    { type: 'shell', command: ['bash', '-lc', "printf '# Contributing\\n\\nOpen an issue first, then a pull request.\\n' > CONTRIBUTING.md"], preamble: 'Adding CONTRIBUTING.md.' },
    { type: 'apply_patch', patch: '*** Begin Patch\n*** Update File: README.md\n@@\n Widgets for every occasion.\n+\n+## Install\n+\n+    npm ci\n+    npm run dev\n*** End Patch\n' },
    { type: 'message', text: 'Added CONTRIBUTING.md and an Install section to README.md.' },
    {
      type: 'json',
      value: {
        commits: [
          { subject: 'docs: add CONTRIBUTING.md', body: 'How to propose a change.', paths: ['CONTRIBUTING.md'] },
          { subject: 'docs(readme): add install steps', body: '', paths: ['README.md'] },
        ],
      },
    },
  ]);
  const router = await startRouter({ '/chat/completions': llm.url, '/responses': model.baseUrl, '/models': llm.url });
  const cache = join(home, 'cache');
  // codex's own sandbox needs user namespaces; where there are none, the demo runs unsandboxed.
  const sandboxOk = spawnSync(codexBin, ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'true'], { env: { PATH: process.env.PATH, HOME: home, CODEX_HOME: home }, timeout: 15_000 }).status === 0;
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: home,
    LANG: 'C.UTF-8',
    OPENAI_BASE_URL: router.url,
    OPENAI_API_KEY: 'demo-key-not-a-secret',
    MODEL,
    JGO_GIT_BASE_URL: git.url,
    JGO_CACHE_DIR: cache,
    CODEX_BIN: codexBin,
    JGO_CODEX_PROVIDER: 'openai-compatible',
    JGO_CODEX_SANDBOX: sandboxOk ? 'workspace-write' : 'danger-full-access',
    JGO_CODEX_TIMEOUT_S: '120',
    JGO_ENV_FILE: join(home, 'none.env'),
  };
  process.stdout.write(`${bold('jgo demo')}: everything on 127.0.0.1 — git at ${git.url}, model at ${router.url}, the real codex (${codexBin.replace(`${root}/`, '')})\n`);
  process.stdout.write(`${bold('$')} jgo run "${REQUEST}"\n`);
  const code = await new Promise<number>((done) => {
    const child = spawn(process.execPath, [jgo, 'run', REQUEST], { env, cwd: home, stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('close', (c) => {
      process.stdout.write(`${bold('->')} ${out.trim()}\n`);
      done(c ?? 1);
    });
  });
  const runs = readdirSync(join(cache, 'runs'));
  const journal = join(cache, 'runs', runs[0] ?? '');
  for (const file of readdirSync(journal).filter((f) => /^\d-/.test(f)).sort()) {
    const record = JSON.parse(readFileSync(join(journal, file), 'utf8')) as { stage: string; duration_ms: number; envelope: Record<string, unknown> };
    const fields: Record<string, string[]> = { gate: ['run_id', 'gate', 'repo'], sync: ['mirror'], worktree: ['worktree'], codex: ['codex'], ship: ['ship'] };
    const added = Object.fromEntries((fields[record.stage] ?? []).map((f) => [f, record.envelope[f]]));
    process.stdout.write(`\n${bold(`${record.stage}`)} ${dim(`(${record.duration_ms} ms)`)} added:\n${JSON.stringify(shorten(added), null, 2)}\n`);
  }
  if (code === 0) {
    const branch = (JSON.parse(readFileSync(join(journal, '5-ship.json'), 'utf8')) as { envelope: { ship: { branch: string } } }).envelope.ship.branch;
    const log = await runGit(git, ['--git-dir', join(git.root, 'acme', 'widgets.git'), 'log', '--format=%h %s', `main..${branch}`]);
    process.stdout.write(`\n${bold('on the server')}: ${branch}\n${log.stdout}`);
    process.stdout.write(`\nverified: ${branch} is on the server\n`);
  }
  await router.close();
  await model.close();
  await llm.close();
  await git.close();
  rmSync(home, { recursive: true, force: true });
  return code;
}

process.exit(await main());
