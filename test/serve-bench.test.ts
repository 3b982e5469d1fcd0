/**
 * `node dist/scripts/serve-bench.js` in its smallest form: the figures depend on the machine;
 * what is checked is that each is measured, and that every request's branch was pushed.
 */
import t from 'tap';
import { join } from 'node:path';
import { ROOT, runProcess } from './helpers/run.js';

t.test('serve-bench.js measures the first byte, the idle memory and a loaded queue, every branch pushed', async (t) => {
  const result = await runProcess(join(ROOT, 'dist', 'scripts', 'serve-bench.js'), { args: ['--requests', '2', '--codex-ms', '0', '--json'], env: { PATH: process.env.PATH, HOME: process.env.HOME }, timeoutMs: 120_000 });
  t.equal(result.code, 0, result.stderr);
  const s = JSON.parse(result.stdout) as Record<string, number>;
  t.equal(s.requests, 2);
  t.equal(s.pushed, 2, 'both branches are on the server');
  t.ok(s.first_byte_ms! > 0 && s.first_byte_ms! < s.one_run_ms!, 'the first byte comes before the run is done');
  t.ok(s.idle_rss_mib! > 10, 'the idle memory is read off /proc');
  t.ok(s.load_ms! > 0 && s.ideal_ms === Math.round(s.one_run_ms!), 'two requests at two a time: one run\'s time is the ideal');
});
