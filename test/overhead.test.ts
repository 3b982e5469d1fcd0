/**
 * `node dist/scripts/overhead.js` (npm run bench's last part, issue 6 point 8) in its smallest
 * form: one warm run, as JSON. The figure itself depends on the machine; what is checked is that
 * it is measured and accounted for.
 */
import t from 'tap';
import { join } from 'node:path';
import { ROOT, runProcess } from './helpers/run.js';

t.test('overhead.js measures a warm jgo run and splits it into codex, the model, the git server and jgo', async (t) => {
  const result = await runProcess(join(ROOT, 'dist', 'scripts', 'overhead.js'), { args: ['--runs', '1', '--json'], env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeoutMs: 120_000 });
  t.equal(result.code, 0, result.stderr);
  const s = JSON.parse(result.stdout) as Record<string, number | Record<string, number>>;
  t.equal(s.runs, 1);
  t.equal(s.target_ms, 1000);
  const wall = s.wall_ms as number;
  const codex = s.codex_ms as number;
  const model = s.model_ms as number;
  const own = s.overhead_ms as number;
  const server = s.git_server_ms as number;
  t.ok(codex > 0, 'codex took time (two runs and their login checks)');
  t.ok(own > 0 && own < wall, 'jgo took some of the wall time, not all');
  t.ok(model > 0 && model < 20, "the model's time is the loopback server's answering: a few ms at most");
  t.ok(Math.abs(wall - codex - model - own) <= 1, 'wall = codex + the model + jgo');
  t.ok(server > 0 && server < own, 'the git server answered requests within jgo\'s share');
  t.ok(Math.abs((s.overhead_without_server_ms as number) - (own - server)) <= 1, 'and without the server, the rest');
  t.same(Object.keys(s.stages_ms as object), ['gate', 'sync', 'worktree', 'codex', 'ship']);
  t.ok((s.node_start_ms as number) > 0, "the machine's own speed is reported with the figure");
});
