/**
 * End to end: the built jgo-codex runs the real `codex exec` (devDependency @openai/codex 0.171)
 * with JGO_CODEX_PROVIDER=openai-compatible pointed at the scripted loopback Responses server.
 * It proves our argv, stdin handling, environment and event parsing against the real client,
 * offline: codex reaches nothing but 127.0.0.1 (plugins and analytics are off in our argv).
 */
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bin, baseEnv, ROOT, runProcess, tempDir } from '../helpers/run.js';
import { inputTexts, startResponsesServer, type ResponsesScript, type ResponsesServer } from '../helpers/responses-server.js';
import { PINNED_CODEX_VERSION } from '../helpers/fake-codex.js';

const jgoCodex = bin('jgo-codex');
const CODEX_BIN = join(ROOT, 'node_modules', '.bin', 'codex');
const API_KEY = 'sk-jgo-e2e-stage-0123456789';
/** A slug from codex's bundled catalog: apply_patch is offered and there is no metadata warning. */
const MODEL = 'gpt-5.5';

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

/** `codex sandbox` runs `true` under the sandbox codex exec would use (about 0.3 s). */
function sandboxWorks(home: string, cwd: string): boolean {
  const r = spawnSync(CODEX_BIN, ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'true'], {
    cwd,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CODEX_HOME: home },
    encoding: 'utf8',
    timeout: 15_000,
  });
  return r.status === 0;
}

async function server(t: Test, script: ResponsesScript): Promise<ResponsesServer> {
  const s = await startResponsesServer(script);
  t.teardown(() => s.close());
  return s;
}

function setup(t: Test) {
  const home = tempDir(t, 'jgo-home-');
  // Where jgo-worktree leaves a working copy: $JGO_CACHE_DIR/work/<run_id>/repo.
  const repo = join(home, 'cache', 'work', '20261123-202500-7f3a', 'repo');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'jgo/20261123-202500');
  writeFileSync(join(repo, 'README.md'), 'hello\n');
  git(repo, 'add', '.');
  git(repo, '-c', 'user.name=jgo', '-c', 'user.email=jgo@example.invalid', 'commit', '-q', '-m', 'init');
  const input = JSON.stringify({
    jgo: 1,
    run_id: '20261123-202500-7f3a',
    request: 'acme/widgets add notes',
    gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: 'Add a NOTES.md file (jgo stage e2e marker 9c1d).', model: MODEL },
    repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' },
    worktree: { path: repo, branch: 'jgo/20261123-202500', base_branch: 'main', base_sha: git(repo, 'rev-parse', 'HEAD') },
  });
  const sandbox = sandboxWorks(home, repo) ? 'workspace-write' : 'danger-full-access';
  t.comment(`sandbox: ${sandbox}`);
  const env = (s: ResponsesServer) => realCodexEnv(home, s, sandbox);
  return { home, repo, input, env };
}

/** jgo's stages talking to the scripted server through the real codex, openai-compatible. */
function realCodexEnv(home: string, s: ResponsesServer, sandbox: string): Record<string, string> {
  return {
    ...baseEnv(home),
    JGO_CACHE_DIR: join(home, 'cache'),
    CODEX_BIN,
    JGO_CODEX_PROVIDER: 'openai-compatible',
    OPENAI_BASE_URL: s.baseUrl,
    OPENAI_API_KEY: API_KEY,
    MODEL,
    JGO_CODEX_SANDBOX: sandbox,
    JGO_CODEX_TIMEOUT_S: '60',
  };
}

t.test('jgo-codex drives the real codex: files edited, changed_files, usage, thread_id, exit 0', async (t) => {
  const { home, repo, input, env } = setup(t);
  const s = await server(t, [
    { type: 'shell', command: ['bash', '-lc', "printf 'notes from codex\\n' > NOTES.md"], preamble: 'Creating NOTES.md.' },
    { type: 'apply_patch', patch: '*** Begin Patch\n*** Update File: README.md\n@@\n-hello\n+hello, world\n*** End Patch\n' },
    { type: 'message', text: 'Done: added NOTES.md' },
  ]);
  const result = await runProcess(jgoCodex, { input, cwd: home, env: env(s) });
  t.equal(result.code, 0, result.stderr);
  const out = JSON.parse(result.stdout);
  t.equal(out.error, undefined);
  t.same(out.codex.changed_files, ['NOTES.md', 'README.md'], 'the untracked file and the patched one');
  t.equal(out.codex.exit_code, 0);
  t.equal(out.codex.last_message, 'Done: added NOTES.md');
  t.match(out.codex.thread_id, /^[0-9a-f-]{36}$/);
  t.match(out.codex.usage, { input_tokens: 300, output_tokens: 60, total_tokens: 360 }, 'three model calls, summed by codex');
  t.same(out.codex.failed_commands, []);
  t.equal(out.codex.model, MODEL, 'the model codex recorded using');
  t.equal(out.codex.version, PINNED_CODEX_VERSION, 'codex --version of the pinned release');
  t.equal(readFileSync(join(repo, 'NOTES.md'), 'utf8'), 'notes from codex\n');
  t.equal(readFileSync(join(repo, 'README.md'), 'utf8'), 'hello, world\n');

  // Watching: the real events rendered on stderr.
  t.match(result.stderr, /jgo-codex: thread [0-9a-f-]{36}/);
  t.match(result.stderr, /jgo-codex: \$ printf 'notes from codex\\n' > NOTES\.md/);
  t.match(result.stderr, /jgo-codex:   ok \(exit 0\): printf/);
  t.match(result.stderr, /jgo-codex: edited: update README\.md/);
  t.match(result.stderr, /jgo-codex: codex: Done: added NOTES\.md/);
  t.notMatch(result.stdout + result.stderr, API_KEY, 'the key is in no output');

  // What the model server saw: our key by env_key, our prompt via stdin, nothing else.
  t.equal(s.turnsUsed(), 3);
  t.same(s.unexpected, [], 'no requests beyond the script');
  const reqs = s.responsesRequests();
  for (const r of reqs) t.equal(r.headers.authorization, `Bearer ${API_KEY}`);
  t.ok(reqs.every((r) => (r.json as { model?: unknown }).model === out.codex.model), 'the model in the envelope is the one the server was asked for');
  const texts = inputTexts(reqs[0]?.json);
  t.ok(texts.some((x) => x.includes('jgo stage e2e marker 9c1d')), 'the gate prompt reached the model');
  t.ok(texts.some((x) => x.includes('Do not commit, push')), 'with our rules');
  t.ok(s.requests.every((r) => r.headers.host === `127.0.0.1:${s.port}`), 'loopback only');

  // Secrets stay off disk; the shell snapshot is off.
  const codexHome = join(home, 'cache', 'codex');
  t.ok(existsSync(join(codexHome, 'sessions')), 'codex used $JGO_CACHE_DIR/codex');
  t.notOk(existsSync(join(codexHome, 'shell_snapshots')), 'no shell snapshots');
  t.equal(git(repo, 'rev-list', '--count', 'HEAD'), '1', 'codex committed nothing');
});

t.test('a model call the server refuses: the real turn.failed becomes codex_failed, exit 1', async (t) => {
  const { home, input, env } = setup(t);
  const s = await server(t, [{ type: 'http_error', status: 400, message: 'scripted refusal 41f2' }]);
  const result = await runProcess(jgoCodex, { input, cwd: home, env: env(s) });
  t.equal(result.code, 1, result.stderr);
  const out = JSON.parse(result.stdout);
  t.match(out.error, { stage: 'codex', code: 'codex_failed', message: /scripted refusal 41f2/ });
  t.equal(out.codex.exit_code, 1);
  t.equal(out.codex.last_message, '');
  t.match(result.stderr, /turn failed: .*scripted refusal 41f2/);
});

t.test('jgo-codex | jgo-ship with the real codex: a branch of Conventional Commits lands on the server', async (t) => {
  const { startGitServer, createBareRepo, revParse } = await import('../helpers/git-server.js');
  const gitServer = await startGitServer();
  t.teardown(gitServer.close);
  await createBareRepo(gitServer, 'acme/widgets.git', { files: { 'README.md': 'hello\n' } });
  const home = tempDir(t, 'jgo-home-');
  const s = await server(t, [
    { type: 'shell', command: ['bash', '-lc', "printf 'notes\\n' > NOTES.md && printf 'hello, world\\n' > README.md"] },
    { type: 'message', text: 'Done: added NOTES.md and greeted the world' },
    { type: 'json', value: { commits: [
      { subject: 'docs: add NOTES.md', body: '', paths: ['NOTES.md'] },
      { subject: 'docs(readme): greet the world', body: 'A friendlier first line.', paths: ['README.md'] },
    ] } },
  ]);
  const env = { ...realCodexEnv(home, s, sandboxWorks(home, home) ? 'workspace-write' : 'danger-full-access'), JGO_GIT_BASE_URL: gitServer.url };
  const start = JSON.stringify({
    jgo: 1,
    run_id: '20261123-202500-7f3a',
    request: 'acme/widgets add notes and greet the world',
    gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: 'Add NOTES.md and make README.md say hello, world.', model: MODEL },
    repo: { ref: 'acme/widgets', url: gitServer.repoUrl('acme/widgets.git') },
  });
  let input = start;
  for (const stage of ['jgo-sync', 'jgo-worktree', 'jgo-codex', 'jgo-ship']) {
    const result = await runProcess(bin(stage), { input, cwd: home, env });
    t.equal(result.code, 0, `${stage}: ${result.stderr}`);
    input = result.stdout;
  }
  const out = JSON.parse(input);
  t.equal(out.ship.plan, 'codex', 'the real codex planned the commits');
  t.same(out.ship.commits.map((c: { subject: string }) => c.subject), ['docs: add NOTES.md', 'docs(readme): greet the world']);
  t.equal(await revParse(gitServer, 'acme/widgets.git', 'jgo/20261123-202500'), out.ship.remote_sha);
  const planRequest = s.responsesRequests().at(-1);
  t.ok(planRequest?.json && JSON.stringify(planRequest.json).includes('"commits"'), 'the output schema reached the model');
  t.notMatch(input, API_KEY);
});

t.test("a follow-up with the real codex: `exec resume` goes on in the first run's thread, in the new working copy", async (t) => {
  const { home, input, env } = setup(t);
  const s = await server(t, [
    { type: 'shell', command: ['bash', '-lc', "printf 'notes\\n' > NOTES.md"] },
    { type: 'message', text: 'Done: first turn 5e7a' },
    { type: 'shell', command: ['bash', '-lc', "printf 'more\\n' >> NOTES.md && pwd > WHERE.txt"] },
    { type: 'message', text: 'Done: follow-up' },
  ]);
  const first = await runProcess(jgoCodex, { input, cwd: home, env: env(s) });
  t.equal(first.code, 0, first.stderr);
  const thread = JSON.parse(first.stdout).codex.thread_id as string;
  t.match(thread, /^[0-9a-f-]{36}$/);

  // The follow-up's own working copy, where its jgo-worktree would have made it.
  const runId = '20261123-203000-0b1c';
  const repo = join(home, 'cache', 'work', runId, 'repo');
  mkdirSync(repo, { recursive: true });
  git(repo, 'init', '-q', '-b', 'jgo/20261123-202500');
  writeFileSync(join(repo, 'NOTES.md'), 'notes\n');
  git(repo, 'add', '.');
  git(repo, '-c', 'user.name=jgo', '-c', 'user.email=jgo@example.invalid', 'commit', '-q', '-m', 'docs: add NOTES.md');
  const follow = {
    ...JSON.parse(input),
    run_id: runId,
    request: 'also add more notes',
    gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: 'Append a line to NOTES.md (follow-up marker 3b9e).', model: MODEL },
    worktree: { path: repo, branch: 'jgo/20261123-202500', base_branch: 'main', base_sha: git(repo, 'rev-parse', 'HEAD') },
    continue: { thread: '20261123-202500-7f3a', parent: '20261123-202500-7f3a', branch: 'jgo/20261123-202500', thread_id: thread, history: [{ run_id: '20261123-202500-7f3a', request: 'acme/widgets add notes', commits: [] }] },
  };
  const second = await runProcess(jgoCodex, { input: JSON.stringify(follow), cwd: home, env: env(s) });
  t.equal(second.code, 0, second.stderr);
  const out = JSON.parse(second.stdout);
  t.equal(out.codex.resumed, true, 'the envelope says it resumed');
  t.equal(out.codex.thread_id, thread, 'the same thread');
  t.match(second.stderr, new RegExp(`resuming thread ${thread}`));
  t.equal(readFileSync(join(repo, 'NOTES.md'), 'utf8'), 'notes\nmore\n');
  t.equal(readFileSync(join(repo, 'WHERE.txt'), 'utf8').trim(), repo, "codex worked in the follow-up's working copy");
  // The model was sent the whole conversation: the first run's prompt and answer, then the new one.
  const texts = inputTexts(s.responsesRequests()[2]?.json);
  t.ok(texts.some((x) => x.includes('jgo stage e2e marker 9c1d')), "the first run's prompt");
  t.ok(texts.some((x) => x.includes('Done: first turn 5e7a')), "the first run's answer");
  t.ok(texts.some((x) => x.includes('follow-up marker 3b9e') && x.includes('continues our conversation')), 'and the follow-up');
  t.notMatch(second.stdout + second.stderr, API_KEY);
});
