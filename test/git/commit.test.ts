/** Commit and push through the git layer, against git http-backend. */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { changedPaths } from '../../lib/git/status.js';
import { commitChanges, intendToAdd, pushBranch } from '../../lib/git/commit.js';
import { syncMirror } from '../../lib/git/mirror.js';
import { makeWorkingCopy } from '../../lib/git/worktree.js';
import { remoteState } from '../../lib/git/remote.js';
import { type GitContext } from '../../lib/git/context.js';
import { startGitServer, createBareRepo, commitToBare, revParse, type GitServer } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

const git = (dir: string, ...args: string[]) =>
  execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();

/** The token for the one origin of the test's server. */
const creds = (token: string, server: GitServer) => ({ token, from: 'GITHUB_TOKEN' as const, origins: [server.url] });

function ctx(server: GitServer, token?: string): GitContext {
  return {
    credentials: token ? creds(token, server) : undefined,
    log: () => {},
    stderr: new PassThrough(),
    env: { PATH: process.env.PATH, HOME: process.env.HOME },
  };
}

async function workingCopy(t: Test, server: GitServer, branch: string, token?: string) {
  const cache = tempDir(t);
  const url = server.repoUrl('acme/widgets.git');
  const c = ctx(server, token);
  const mirror = await syncMirror(url, cache, c);
  const dest = join(cache, 'work', 'r', 'repo');
  await makeWorkingCopy({ mirror: mirror.path, url, dest, base: 'main', branch }, c);
  return { dest, url, c };
}

const me = { name: 'jgo', email: 'jgo@example.invalid' };

t.test(`additions, edits, deletions and renames in two commits, pushed and verified`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': 'r\n', 'old.txt': 'o\n', 'gone.txt': 'g\n' } });
  const { dest, url, c } = await workingCopy(t, server, 'jgo/20261123-202500');
  writeFileSync(join(dest, 'README.md'), 'r2\n');
  writeFileSync(join(dest, 'NEW.md'), 'n\n');
  rmSync(join(dest, 'gone.txt'));
  renameSync(join(dest, 'old.txt'), join(dest, 'moved.txt'));
  const changes = await changedPaths(dest);
  t.same(changes.map((x) => `${x.kind} ${x.path}`), ['added NEW.md', 'modified README.md', 'deleted gone.txt', 'added moved.txt', 'deleted old.txt']);

  const docs = changes.filter((x) => x.path.endsWith('.md'));
  const rest = changes.filter((x) => !x.path.endsWith('.md'));
  const first = await commitChanges({ dir: dest, message: 'docs: update the readme\n', changes: docs, author: me });
  const second = await commitChanges({ dir: dest, message: 'chore: move old.txt and drop gone.txt\n\nBody line.\n', changes: rest, author: me });
  t.equal(git(dest, 'rev-parse', 'HEAD'), second);
  t.equal(git(dest, 'rev-parse', 'HEAD~1'), first);
  t.equal(git(dest, 'status', '--porcelain'), '', 'everything committed');
  t.equal(git(dest, 'log', '-1', '--format=%an <%ae>|%cn|%B', first), 'jgo <jgo@example.invalid>|jgo|docs: update the readme');
  t.equal(git(dest, 'show', '--name-status', '--format=', second).split('\n').sort().join(','), 'D\tgone.txt,R100\told.txt\tmoved.txt', 'git sees the rename');

  await pushBranch({ dir: dest, url, branch: 'jgo/20261123-202500', credentials: undefined });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/20261123-202500'), second, 'the server has the branch at HEAD');
  const remote = await remoteState(url, c);
  t.equal(remote.refs.get('refs/heads/jgo/20261123-202500'), second);
});

t.test(`a push never forces, and a rejected push says so`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const { dest, url, c } = await workingCopy(t, server, 'jgo/taken');
  await commitToBare(server, 'acme/widgets.git', { branch: 'jgo/taken', files: { 'other.txt': 'someone else\n' }, from: 'main' });
  writeFileSync(join(dest, 'mine.txt'), 'mine\n');
  await commitChanges({ dir: dest, message: 'feat: mine\n', changes: await changedPaths(dest), author: me });
  await t.rejects(pushBranch({ dir: dest, url, branch: 'jgo/taken', credentials: undefined }), { code: 'push_rejected' });
  t.notOk((await revParse(server, 'acme/widgets.git', 'jgo/taken')) === git(dest, 'rev-parse', 'HEAD'), 'the remote branch is untouched');
});

t.test(`pushing to a repository that needs a token`, async (t) => {
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const server = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const { dest, url, c } = await workingCopy(t, server, 'jgo/b', token);
  writeFileSync(join(dest, 'x.txt'), 'x\n');
  await commitChanges({ dir: dest, message: 'feat: x\n', changes: await changedPaths(dest), author: me });
  await t.rejects(pushBranch({ dir: dest, url, branch: 'jgo/b', credentials: undefined }), { code: 'auth_failed' });
  await pushBranch({ dir: dest, url, branch: 'jgo/b', credentials: creds(token, server) });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/b'), git(dest, 'rev-parse', 'HEAD'));
  t.notMatch(git(dest, 'config', '--list'), token, 'the token is not in .git/config');
});

t.test(`the remote's default branch moved while we worked`, async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const { dest, url, c } = await workingCopy(t, server, 'jgo/moved');
  await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'upstream.txt': 'u\n' } });
  writeFileSync(join(dest, 'mine.txt'), 'm\n');
  const sha = await commitChanges({ dir: dest, message: 'feat: mine\n', changes: await changedPaths(dest), author: me });
  await pushBranch({ dir: dest, url, branch: 'jgo/moved', credentials: undefined });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/moved'), sha);
});

t.test('new files added with intent, then each commit is one `git commit --include` of exactly its paths', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': 'r\n', 'old.txt': 'o\n', 'gone.txt': 'g\n' } });
  const { dest, url, c } = await workingCopy(t, server, 'jgo/intent');
  writeFileSync(join(dest, 'README.md'), 'r2\n');
  writeFileSync(join(dest, 'NEW.md'), 'n\n');
  rmSync(join(dest, 'gone.txt'));
  renameSync(join(dest, 'old.txt'), join(dest, 'moved.txt'));
  const changes = await changedPaths(dest);
  t.equal(await intendToAdd(dest, changes), true);
  t.match(git(dest, 'diff', '--name-only'), /^NEW\.md$/m, 'the new files are in the index with intent to add: git diff shows them');
  t.equal(git(dest, 'diff', '--cached', '--name-only'), '', 'and nothing is staged');
  t.same((await changedPaths(dest)).map((x) => `${x.kind} ${x.path}`), changes.map((x) => `${x.kind} ${x.path}`), 'and still read as added');

  // A git on PATH that notes each command, to count the processes a commit takes.
  const bin = tempDir(t);
  const log = join(bin, 'commands.log');
  const real = execFileSync('sh', ['-c', 'command -v git'], { encoding: 'utf8' }).trim();
  writeFileSync(join(bin, 'git'), `#!/bin/sh\necho "$1" >> '${log}'\nexec '${real}' "$@"\n`, { mode: 0o755 });
  const env = { PATH: `${bin}:${process.env.PATH}`, HOME: dest };
  const docs = changes.filter((x) => x.path.endsWith('.md'));
  const rest = changes.filter((x) => !x.path.endsWith('.md'));
  const first = await commitChanges({ dir: dest, message: 'docs: update the readme\n', changes: docs, author: me, intended: true }, env);
  t.equal(git(dest, 'show', '--name-status', '--format=', first).split('\n').sort().join(','), 'A\tNEW.md,M\tREADME.md', 'the first commit holds exactly its paths');
  t.equal(git(dest, 'diff', '--name-only', '--', 'moved.txt'), 'moved.txt', 'the other new file is still only intended');
  t.equal(git(dest, 'diff', '--cached', '--name-only'), '', 'and still nothing is staged');
  const second = await commitChanges({ dir: dest, message: 'chore: move old.txt and drop gone.txt\n', changes: rest, author: me, intended: true }, env);
  t.equal(git(dest, 'show', '--name-status', '--format=', second).split('\n').sort().join(','), 'D\tgone.txt,R100\told.txt\tmoved.txt', 'the second, the rest, the rename seen');
  t.equal(git(dest, 'status', '--porcelain'), '', 'everything committed');
  t.same(readFileSync(log, 'utf8').trim().split('\n'), ['commit', 'commit'], 'one git process per commit');

  await pushBranch({ dir: dest, url, branch: 'jgo/intent', credentials: undefined });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/intent'), second);
  const files = git(dest, 'ls-tree', '-r', '--name-only', second).split('\n');
  t.same(files, ['NEW.md', 'README.md', 'moved.txt'], 'and the pushed tree is the working tree');
});

t.test('a commit starts no `git maintenance` in the one-run working copy', async (t) => {
  const { createHash } = await import('node:crypto');
  const { existsSync, readdirSync } = await import('node:fs');
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const { dest } = await workingCopy(t, server, 'jgo/quiet');
  // Set up so that git's automatic maintenance would pack, in the foreground, the moment a
  // commit asks for it: two loose objects in objects/17 (git's sample) pass gc.auto=1.
  git(dest, 'config', 'gc.auto', '1');
  git(dest, 'config', 'gc.autoDetach', 'false');
  git(dest, 'config', 'maintenance.autoDetach', 'false');
  const blobId = (text: string) => createHash('sha1').update(`blob ${Buffer.byteLength(text)}\0${text}`).digest('hex');
  const blobs: string[] = [];
  for (let i = 0; blobs.length < 3; i++) {
    const text = `quiet ${i}\n`;
    if (!blobId(text).startsWith('17')) continue;
    writeFileSync(join(dest, `q${i}.txt`), text);
    blobs.push(blobId(text));
  }
  // (The commit or its tree may land in objects/17 too, by chance: the blobs are what is checked.)
  const loose = () => blobs.filter((id) => existsSync(join(dest, '.git', 'objects', id.slice(0, 2), id.slice(2)))).length;
  const packs = () => (existsSync(join(dest, '.git', 'objects', 'pack')) ? readdirSync(join(dest, '.git', 'objects', 'pack')).filter((f) => f.endsWith('.pack')).length : 0);
  const before = packs();
  await commitChanges({ dir: dest, message: 'feat: three files\n', changes: await changedPaths(dest), author: me });
  t.equal(loose(), 3, 'the new objects are still loose: no gc ran');
  t.equal(packs(), before, 'and no pack was made');
  // The same setup does make git pack when a commit is made without jgo's setting: the test can fail.
  writeFileSync(join(dest, 'more.txt'), 'more\n');
  git(dest, 'add', 'more.txt');
  git(dest, '-c', 'user.name=t', '-c', 'user.email=t@t', 'commit', '-q', '-m', 'more');
  t.equal(loose(), 0, "plain git commit's maintenance packs them");
});

t.test('readFilesAt: many files at a commit in one git process, as readFileAt reads each', async (t) => {
  const { execFileSync } = await import('node:child_process');
  const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { readFileAt, readFilesAt } = await import('../../lib/git/history.js');
  const dir = mkdtempSync(join(tmpdir(), 'jgo-readfiles-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const git = (...args: string[]) => execFileSync('git', args, { cwd: dir, encoding: 'utf8', env: { PATH: process.env.PATH, HOME: dir, GIT_CONFIG_NOSYSTEM: '1' } }).trim();
  git('init', '-q', '-b', 'main');
  const files: Record<string, string> = { 'a.txt': 'alpha\n', 'dir/b.txt': 'beta\nwith lines\n', 'empty.txt': '', 'line\nbreak.txt': 'odd name\n', 'ü n i.txt': 'unicode\n' };
  for (const [name, text] of Object.entries(files)) {
    execFileSync('mkdir', ['-p', join(dir, name, '..')]);
    writeFileSync(join(dir, name), text);
  }
  git('add', '-A');
  git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-q', '-m', 'files');
  const sha = git('rev-parse', 'HEAD');
  const asked = [...Object.keys(files), 'missing.txt', 'dir'];
  const batch = await readFilesAt(dir, sha, asked);
  for (const name of asked) t.equal(batch.get(name), await readFileAt(dir, sha, name).then((x) => (name === 'dir' ? undefined : x)), `${JSON.stringify(name)} as readFileAt reads it`);
  t.same(Object.fromEntries([...batch].filter(([, v]) => v !== undefined)), files, 'each file whole, a tree and a missing path undefined');
});
