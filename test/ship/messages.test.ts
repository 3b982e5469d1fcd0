/** Commit messages are pushed with the change: ship reads them whole and scans them. */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { commitMessages, scanMessage } from '../../lib/ship/scan.js';
import { tempDir } from '../helpers/run.js';

function git(cwd: string, ...args: string[]): string {
  const r = spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd, encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: cwd, GIT_CONFIG_NOSYSTEM: '1' } });
  if (r.status !== 0) throw new Error(`git ${args.join(' ')}: ${r.stderr}`);
  return r.stdout.trim();
}

t.test('the full messages of the commits since the base, each scanned line by line', async (t) => {
  const dir = tempDir(t);
  const secret = `s3cret-${'v'.repeat(12)}`;
  git(dir, 'init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'a'), '1');
  git(dir, 'add', '.');
  git(dir, 'commit', '-q', '-m', 'base');
  const base = git(dir, 'rev-parse', 'HEAD');
  t.same(await commitMessages(dir, base), [], 'nothing since the base');
  writeFileSync(join(dir, 'a'), '2');
  git(dir, 'commit', '-q', '-am', 'feat: two', '-m', `the body names ${Buffer.from(secret).toString('base64url')}`);
  writeFileSync(join(dir, 'a'), '3');
  git(dir, 'commit', '-q', '-am', 'fix: three');
  const messages = await commitMessages(dir, base);
  t.equal(messages.length, 2);
  t.ok(messages.every((m) => /^[0-9a-f]{40}$/.test(m.sha)));
  const hits = messages.flatMap((m) => scanMessage(`the message of ${m.sha.slice(0, 12)}`, m.message, [secret]));
  t.equal(hits.length, 1, 'the base64 in the body');
  t.match(hits[0], { line: 3, what: 'the value of a secret setting in use' });
});
