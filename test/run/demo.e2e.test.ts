/**
 * npm run demo, end to end: jgo run drives every stage as a process, the real codex CLI (the
 * pinned devDependency) edits and plans against the scripted loopback model, and a branch of
 * Conventional Commits lands on the loopback git server. Offline: loopback only.
 */
import t from 'tap';
import { join } from 'node:path';
import { ROOT, runProcess, tempDir, baseEnv } from '../helpers/run.js';

t.test('the demo runs the whole pipeline with the real codex and pushes a branch', async (t) => {
  const home = tempDir(t);
  const result = await runProcess(join(ROOT, 'dist', 'scripts', 'demo.js'), { env: baseEnv(home), cwd: home, timeoutMs: 120_000 });
  t.equal(result.code, 0, result.stderr);
  const branch = /verified: (jgo\/\d{8}-\d{6}) is on the server/.exec(result.stdout)?.[1];
  t.ok(branch, 'the branch was verified on the server');
  t.match(result.stdout, new RegExp(`-> ${branch?.replace('/', '\\/')}\\n`), 'jgo run printed the branch');
  t.match(result.stdout, /[0-9a-f]{7} docs\(readme\): add install steps\n[0-9a-f]{7} docs: add CONTRIBUTING\.md\n/, 'Conventional Commits, in order, on the server');
  for (const stage of ['gate', 'sync', 'worktree', 'codex', 'ship']) t.match(result.stdout, new RegExp(`\\n${stage} \\(\\d+ ms\\) added:`), `${stage}'s envelope is shown`);
  t.match(result.stdout, /"plan": "codex"/, 'the real codex planned the commits');
  t.match(result.stderr, /jgo-codex: codex: Added CONTRIBUTING\.md/, "codex's own output reached stderr");
});
