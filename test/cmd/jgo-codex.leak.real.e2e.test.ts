/**
 * End to end with the real `codex exec` (devDependency @openai/codex), offline against the
 * scripted loopback Responses server: an agent turn that runs `env` (and writes the tokens
 * base64- and hex-encoded, and into the working copy) fails the run with secret_on_disk; no file
 * under the cache holds a token in any form afterwards, codex's sqlite state and WAL included; and
 * the next run on the same cache (the same CODEX_HOME) goes all the way to a pushed branch.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { bin, baseEnv, ROOT, runProcess, tempDir } from '../helpers/run.js';
import { startResponsesServer } from '../helpers/responses-server.js';
import { startGitServer, createBareRepo, revParse } from '../helpers/git-server.js';
import { filesHolding } from '../helpers/secret-forms.js';

const CODEX_BIN = join(ROOT, 'node_modules', '.bin', 'codex');
const MODEL = 'gpt-5.5';
// Assembled at run time: no token-shaped string sits in the source.
const GITHUB_TOKEN = ['gh', 'p_', 'Rw4'.repeat(12)].join('');
const API_KEY = ['sk-', 'jgo-leak-', 'e2e'.repeat(8)].join('');

/** `codex sandbox` runs `true` under the sandbox codex exec would use. */
function sandboxWorks(home: string): boolean {
  const r = spawnSync(CODEX_BIN, ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'true'], {
    cwd: home,
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: home, CODEX_HOME: home },
    timeout: 15_000,
  });
  return r.status === 0;
}

const dumpEnv = [
  'env',
  'printf %s "$GITHUB_TOKEN" | base64',
  'printf %s "$JGO_CODEX_API_KEY" | od -An -tx1 | tr -d " \\n"',
  'env > .env.dump',
].join('; ');

t.test('an agent that runs env: secret_on_disk, nothing left on the cache, and the next run ships', async (t) => {
  const gitServer = await startGitServer();
  t.teardown(gitServer.close);
  await createBareRepo(gitServer, 'acme/widgets.git', { files: { 'README.md': 'hello\n' } });
  const s = await startResponsesServer([
    { type: 'shell', command: ['bash', '-lc', dumpEnv] },
    { type: 'message', text: 'Printed the environment.' },
    { type: 'shell', command: ['bash', '-lc', "printf 'notes\\n' > NOTES.md"] },
    { type: 'message', text: 'Added NOTES.md.' },
    { type: 'json', value: { commits: [{ subject: 'docs: add NOTES.md', body: '', paths: ['NOTES.md'] }] } },
  ]);
  t.teardown(() => s.close());
  const home = tempDir(t, 'jgo-home-');
  const cache = join(home, 'cache');
  const env = {
    ...baseEnv(home),
    JGO_CACHE_DIR: cache,
    JGO_GIT_BASE_URL: gitServer.url,
    GITHUB_TOKEN,
    CODEX_BIN,
    JGO_CODEX_PROVIDER: 'openai-compatible',
    OPENAI_BASE_URL: s.baseUrl,
    OPENAI_API_KEY: API_KEY,
    MODEL,
    JGO_CODEX_SANDBOX: sandboxWorks(home) ? 'workspace-write' : 'danger-full-access',
    JGO_CODEX_TIMEOUT_S: '60',
  };
  const start = (runId: string) =>
    JSON.stringify({
      jgo: 1,
      run_id: runId,
      request: 'acme/widgets add notes',
      gate: { executable: true, reason: 'clear', repo_ref: 'acme/widgets', optimized_prompt: 'Add NOTES.md.', model: MODEL },
      repo: { ref: 'acme/widgets', url: gitServer.repoUrl('acme/widgets.git') },
    });
  const pipeline = async (runId: string, stages: string[]) => {
    let input = start(runId);
    for (const stage of stages) {
      const result = await runProcess(bin(stage), { input, cwd: home, env });
      t.notMatch(result.stdout + result.stderr, GITHUB_TOKEN, `${stage}: the token is in no output`);
      t.notMatch(result.stdout + result.stderr, API_KEY, `${stage}: the key is in no output`);
      if (result.code !== 0) return { stage, result };
      input = result.stdout;
    }
    return { stage: 'done', result: { code: 0, stdout: input, stderr: '' } };
  };

  const first = await pipeline('20261123-202500-7f3a', ['jgo-sync', 'jgo-worktree', 'jgo-codex']);
  t.equal(first.stage, 'jgo-codex', first.result.stderr);
  t.equal(first.result.code, 1);
  const failed = JSON.parse(first.result.stdout);
  t.match(failed.error, { stage: 'codex', code: 'secret_on_disk', message: /removed \d+ files? of codex's from CODEX_HOME; removed the working copy$/ });
  t.match(failed.codex.commands, [{ command: /^(\/bin\/bash -lc ')?env; printf/, exit_code: 0 }], 'the real agent did run env');
  t.comment(failed.error.message.replaceAll(cache, '$JGO_CACHE_DIR'));
  t.same(await filesHolding(cache, GITHUB_TOKEN), [], 'no file under the cache holds the token, in any form');
  t.same(await filesHolding(cache, API_KEY), [], 'nor the model key');

  const second = await pipeline('20261123-202501-7f3b', ['jgo-sync', 'jgo-worktree', 'jgo-codex', 'jgo-ship']);
  t.equal(second.stage, 'done', second.result.stderr);
  const shipped = JSON.parse(second.result.stdout);
  t.same(shipped.ship.commits.map((c: { subject: string }) => c.subject), ['docs: add NOTES.md']);
  t.equal(await revParse(gitServer, 'acme/widgets.git', shipped.ship.branch), shipped.ship.remote_sha);
  t.same(s.unexpected, [], 'no requests beyond the script');
  t.same(await filesHolding(cache, GITHUB_TOKEN), [], 'still nothing after the next run');
  t.same(await filesHolding(cache, API_KEY), []);
});
