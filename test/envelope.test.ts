import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Envelope, RUN_ID_FORMAT, RunId, addUsage, describeIssues, newRunId, runStamp, totalTokens, utcStamp } from '../lib/envelope.js';

const root = join(import.meta.dirname, '..');
const sha = 'a'.repeat(40);

t.test('a bad envelope is described field by field, in zod\'s English words and ours', async (t) => {
  const parsed = Envelope.safeParse({
    jgo: 1,
    gate: { executable: 'yes', reason: 'r', repo_ref: 'a/b', optimized_prompt: 'p', model: 'm', usage: { input_tokens: -1, output_tokens: 1.5 } },
    repo: { ref: 'a/b', url: 'nope' },
    mirror: { path: 'relative', default_branch: '', head_sha: 'abc' },
    codex: { exit_code: null, last_message: '', duration_ms: -2, sandbox: 'everywhere' },
    error: { stage: 'deploy', code: 'Bad', message: 'm', exit_code: 9 },
  });
  t.notOk(parsed.success);
  if (parsed.success) return;
  t.same(describeIssues(parsed.error).split('; '), [
    'gate.executable: Invalid input: expected boolean, received string',
    'gate.usage.input_tokens: Too small: expected number to be >=0',
    'gate.usage.output_tokens: Invalid input: expected int, received number',
    'repo.url: Invalid URL',
    'mirror.path: must be an absolute path',
    'mirror.default_branch: Too small: expected string to have >=1 characters',
    'mirror.head_sha: must be a full hex object id',
    'codex.duration_ms: Too small: expected number to be >=0',
    'codex.sandbox: Invalid option: expected one of "workspace-write"|"read-only"|"danger-full-access"',
    'error.stage: Invalid option: expected one of "gate"|"sync"|"worktree"|"codex"|"ship"|"run"',
    'error.code: error.code is a snake_case word',
    'error.exit_code: Too big: expected number to be <=4',
  ]);
});

t.test('a good envelope passes whole, fields this version does not know kept at every level', async (t) => {
  const envelope = {
    jgo: 1,
    run_id: '20261123-202500-7f3a',
    request: 'acme/widgets fix',
    mine: { kept: true },
    gate: { executable: true, reason: 'ok', repo_ref: 'acme/widgets', optimized_prompt: 'p', model: 'm', duration_ms: 3, extra: 1 },
    repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git', extra: 2 },
    mirror: { path: '/c/repos/x.git', default_branch: 'main', head_sha: sha, fetched: false, extra: 3 },
    worktree: { path: '/c/runs-x/repo', branch: 'jgo/20261123-202500', base_branch: 'main', base_sha: sha },
    codex: { exit_code: 0, changed_files: ['README.md'], last_message: 'done', duration_ms: 10, commands: [{ command: 'ls', exit_code: null, extra: 4 }] },
    ship: { branch: 'jgo/20261123-202500', commits: [{ sha, subject: 'docs: x' }], pushed: true, remote_sha: sha, pr: { url: 'u', number: 7 } },
  };
  const parsed = Envelope.safeParse(envelope);
  t.ok(parsed.success, parsed.success ? 'valid' : describeIssues(parsed.error));
  t.same(parsed.data, envelope, 'nothing dropped, nothing added');
});

t.test('schemas are declared through lib/zod.ts, the one place zod is configured', async (t) => {
  // lib/zod.ts sets zod's English messages (zod/mini has none of its own) and turns off its JIT;
  // a module importing 'zod' itself would also pull zod's classic API back into the bundles.
  const offenders: string[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(join(root, dir), { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) walk(path);
      else if (/\.ts$/.test(entry.name) && path !== join('lib', 'zod.ts') && /from ['"]zod(\/[^'"]*)?['"]/.test(readFileSync(join(root, path), 'utf8'))) offenders.push(path);
    }
  };
  for (const dir of ['lib', 'cmd', 'scripts']) walk(dir);
  t.same(offenders, []);
  for (const dir of ['cmd', 'chunks']) {
    for (const file of readdirSync(join(root, 'dist', dir)).filter((f) => f.endsWith('.js'))) {
      // classic's schemas share methods such as .superRefine(); mini has none of them.
      t.notMatch(readFileSync(join(root, 'dist', dir, file), 'latin1'), /\bsuperRefine\(\w+,\w+\)\{return this\.check\(/, `${dir}/${file} holds zod/mini, not zod's classic API`);
    }
  }
});

t.test('run ids are UTC timestamps plus random hex, and the schema accepts them', async (t) => {
  const now = new Date('2026-11-23T20:25:07.123Z');
  t.equal(utcStamp(now), '20261123-202507');
  const id = newRunId(now);
  t.match(id, /^20261123-202507-[0-9a-f]{4}$/);
  t.match(id, RUN_ID_FORMAT);
  t.ok(RunId.safeParse(id).success);
  t.equal(runStamp(id), '20261123-202507');
  t.equal(runStamp('custom'), undefined);
  t.not(newRunId(), newRunId());
});

t.test('usages add up count by count; a total is input plus output where none is given', async (t) => {
  t.same(addUsage(undefined, undefined), {});
  t.same(addUsage({ input_tokens: 5 }, undefined), { input_tokens: 5 });
  t.same(addUsage({}, { input_tokens: 10, output_tokens: 2, total_tokens: 13 }), { input_tokens: 10, output_tokens: 2, total_tokens: 13 });
  t.same(addUsage({ input_tokens: 10, cached_input_tokens: 4, output_tokens: 2, total_tokens: 12 }, { input_tokens: 1, reasoning_output_tokens: 3, output_tokens: 1 }), {
    input_tokens: 11,
    cached_input_tokens: 4,
    output_tokens: 3,
    reasoning_output_tokens: 3,
    total_tokens: 14,
  });
  t.equal(totalTokens(undefined), 0);
  t.equal(totalTokens({ input_tokens: 2, output_tokens: 3 }), 5);
  t.equal(totalTokens({ input_tokens: 2, output_tokens: 3, total_tokens: 9 }), 9);
});
