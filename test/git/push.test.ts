/** lib/git/push.ts: a new branch pushed with one POST and a pack from git pack-objects, against git http-backend. */
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { commitChanges, makeWorkingCopy, pushBranch, syncMirror, EngineChooser, type GitContext } from '../../lib/git/index.js';
import { openPushTarget, parsePushAdvertisement, pushWithPack, reportOf } from '../../lib/git/push.js';
import { startGitServer, createBareRepo, commitToBare, revParse, type GitServer } from '../helpers/git-server.js';
import { tempDir } from '../helpers/run.js';

const pkt = (s: string | Buffer) => {
  const b = typeof s === 'string' ? Buffer.from(s) : s;
  return Buffer.concat([Buffer.from((b.length + 4).toString(16).padStart(4, '0')), b]);
};
const me = { name: 'jgo', email: 'jgo@example.invalid' };
const env = { PATH: process.env.PATH, HOME: process.env.HOME };

function ctx(token?: string): GitContext {
  return { engines: new EngineChooser('native'), credentials: token ? { token, from: 'GITHUB_TOKEN' } : undefined, log: () => {}, stderr: new PassThrough(), env };
}

/** A working copy of acme/widgets on `branch`, with one commit on top of main; its sha and main's. */
async function oneCommit(t: Test, server: GitServer, branch: string, token?: string) {
  const cache = tempDir(t);
  const url = server.repoUrl('acme/widgets.git');
  const c = ctx(token);
  const mirror = await syncMirror(url, cache, c);
  const dir = join(cache, 'work', 'r', 'repo');
  await makeWorkingCopy({ mirror: mirror.path, url, dest: dir, base: 'main', branch }, c);
  writeFileSync(join(dir, 'NOTES.md'), `notes ${randomBytes(4).toString('hex')}\n`);
  writeFileSync(join(dir, 'README.md'), '# widgets\n\nmore\n');
  const sha = await commitChanges({ dir, message: 'docs: notes', changes: [{ path: 'NOTES.md', kind: 'added' }, { path: 'README.md', kind: 'modified' }], author: me }, c.engines, env);
  return { dir, url, sha, base: mirror.headSha };
}

const served = (server: GitServer) => server.stats.map((r) => `${r.method} ${r.service}`);
const fsck = (server: GitServer) => execFileSync('git', ['fsck', '--no-progress'], { cwd: join(server.root, 'acme/widgets.git'), encoding: 'utf8', env: { ...env, GIT_CONFIG_NOSYSTEM: '1' } });

t.test('a new branch: the advertisement read ahead, then one POST; the remote has the commit and is sound', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git', { files: Object.fromEntries(Array.from({ length: 30 }, (_, i) => [`src/f${i}.txt`, `line ${i}\n`.repeat(30)])) });
  const w = await oneCommit(t, server, 'jgo/20261124-060000');
  server.resetStats();
  const target = await openPushTarget(w.url, undefined);
  t.ok(target?.capabilities.has('report-status'));
  t.ok(target?.refs.has('refs/heads/main'), 'the advertisement says where the base branch is');
  t.same(served(server), ['GET git-receive-pack']);
  t.equal(await pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/20261124-060000', sha: w.sha, base: w.base, credentials: undefined, env }, target!), true);
  t.same(served(server), ['GET git-receive-pack', 'POST git-receive-pack'], 'the push is one POST');
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/20261124-060000'), w.sha);
  t.equal(fsck(server), '', 'the thin pack was completed: every object is there');
  // The pack held the new commit only: its tree, the two blobs, and no file of the 30 it did not touch.
  const count = Number(execFileSync('git', ['rev-list', '--objects', '--count', `${w.base}..${w.sha}`], { cwd: w.dir, encoding: 'utf8' }).trim());
  t.ok(count <= 5, `the commit brings ${count} objects`);
});

t.test('not the plain case: nothing is sent, and pushBranch runs git push', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const w = await oneCommit(t, server, 'jgo/again');
  await commitToBare(server, 'acme/widgets.git', { branch: 'jgo/again', files: { 'x.txt': 'x\n' }, from: 'main' });
  const target = await openPushTarget(w.url, undefined);
  server.resetStats();
  t.equal(await pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/again', sha: w.sha, base: w.base, credentials: undefined, env }, target!), false, 'the branch is already there: for git push to say how it stands');
  t.same(served(server), [], 'nothing was sent');

  const fresh = await oneCommit(t, server, 'jgo/negotiated');
  server.resetStats();
  // The base branch moved (negotiate): git push, which negotiates, and not the one POST.
  await pushBranch({ dir: fresh.dir, url: fresh.url, branch: 'jgo/negotiated', credentials: undefined, negotiate: true, ahead: { target: openPushTarget(fresh.url, undefined), base: fresh.base, sha: fresh.sha } }, new EngineChooser('native'), { env });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/negotiated'), fresh.sha);
  t.same(
    served(server).filter((r) => r.endsWith('receive-pack')).sort(),
    ['GET git-receive-pack', 'GET git-receive-pack', 'POST git-receive-pack'],
    'git push asked for its own advertisement (and negotiated): the one read ahead was not used',
  );

  const plain = await oneCommit(t, server, 'jgo/plain');
  server.resetStats();
  await pushBranch({ dir: plain.dir, url: plain.url, branch: 'jgo/plain', credentials: undefined, negotiate: false, ahead: { target: openPushTarget(plain.url, undefined), base: plain.base, sha: plain.sha } }, new EngineChooser('native'), { env });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/plain'), plain.sha);
  t.same(served(server).sort(), ['GET git-receive-pack', 'POST git-receive-pack'], 'the plain case through pushBranch: jgo\'s push');
});

t.test('a pack the remote cannot take (thin against a commit it lacks): nothing updated, and git push does it', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const w = await oneCommit(t, server, 'jgo/lean');
  // A second commit on top of the first, which the remote has never seen; the pack leans on it.
  writeFileSync(join(w.dir, 'MORE.md'), 'more\n');
  const top = await commitChanges({ dir: w.dir, message: 'docs: more', changes: [{ path: 'MORE.md', kind: 'added' }], author: me }, new EngineChooser('native'), env);
  const target = await openPushTarget(w.url, undefined);
  t.equal(await pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/lean', sha: top, base: w.sha, credentials: undefined, env }, target!), false);
  await t.rejects(revParse(server, 'acme/widgets.git', 'jgo/lean'), /has no ref/, 'no branch was made');
  await pushBranch({ dir: w.dir, url: w.url, branch: 'jgo/lean', credentials: undefined, negotiate: false, ahead: { target: openPushTarget(w.url, undefined), base: w.sha, sha: top } }, new EngineChooser('native'), { env });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/lean'), top, 'git push sent what was missing');
  t.equal(fsck(server), '');
});

t.test('refused by the remote: push_rejected with its reason; a branch made meanwhile is not overwritten', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const w = await oneCommit(t, server, 'jgo/raced');
  const target = await openPushTarget(w.url, undefined);
  const theirs = await commitToBare(server, 'acme/widgets.git', { branch: 'jgo/raced', files: { 'y.txt': 'y\n' }, from: 'main' });
  await t.rejects(pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/raced', sha: w.sha, base: w.base, credentials: undefined, env }, target!), { code: 'push_rejected' });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/raced'), theirs, 'theirs stands: jgo never forces');

  const hook = join(server.root, 'acme/widgets.git', 'hooks', 'pre-receive');
  writeFileSync(hook, '#!/bin/sh\necho "branches need review" >&2\nexit 1\n');
  chmodSync(hook, 0o755);
  const h = await oneCommit(t, server, 'jgo/hooked');
  const e = await pushWithPack({ dir: h.dir, url: h.url, branch: 'jgo/hooked', sha: h.sha, base: h.base, credentials: undefined, env }, (await openPushTarget(h.url, undefined))!).catch((error: unknown) => error);
  t.match(e, { code: 'push_rejected', message: /rejected the push of jgo\/hooked: pre-receive hook declined/ });
});

t.test('a private repository: the token in a header, never in a URL; without it, no target (git push says why)', async (t) => {
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const server = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const w = await oneCommit(t, server, 'jgo/private', token);
  t.equal(await openPushTarget(w.url, undefined), undefined);
  const target = await openPushTarget(w.url, { token, from: 'GITHUB_TOKEN' });
  t.ok(target);
  server.resetStats();
  t.equal(await pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/private', sha: w.sha, base: w.base, credentials: { token, from: 'GITHUB_TOKEN' }, env }, target!), true);
  t.same(server.stats.map((r) => r.auth), [true]);
  t.notOk(server.stats.some((r) => r.path.includes(token) || r.query.includes(token)));
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/private'), w.sha);
  await t.rejects(pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/private2', sha: w.sha, base: w.base, credentials: { token: 'wrong', from: 'GITHUB_TOKEN' }, env }, target!), { code: 'auth_failed' });
});

t.test('parsing the advertisement and the report', async (t) => {
  const a = 'a'.repeat(40);
  const caps = 'report-status report-status-v2 delete-refs side-band-64k quiet atomic ofs-delta object-format=sha1 agent=git/2.39';
  const ad = Buffer.from(pkt('# service=git-receive-pack\n').toString() + '0000' + pkt(`${a} refs/heads/main\0${caps}\n`).toString() + pkt(`${a} refs/tags/v1\n`).toString() + '0000');
  const parsed = parsePushAdvertisement(ad);
  t.same([...(parsed?.refs ?? [])], [['refs/heads/main', a], ['refs/tags/v1', a]]);
  t.ok(parsed?.capabilities.has('side-band-64k'));
  const empty = Buffer.from(pkt('# service=git-receive-pack\n').toString() + '0000' + pkt(`${'0'.repeat(40)} capabilities^{}\0report-status\n`).toString() + '0000');
  t.same(parsePushAdvertisement(empty)?.refs.size, 0, 'an empty repository has no refs');
  t.equal(parsePushAdvertisement(Buffer.from(pkt('# service=git-receive-pack\n').toString() + '0000' + pkt(`${a} refs/heads/main\0report-status object-format=sha256\n`).toString())), undefined, 'SHA-256: left to git push');
  t.equal(parsePushAdvertisement(Buffer.from(pkt('# service=git-upload-pack\n').toString() + '0000')), undefined);

  const report = Buffer.concat([pkt('unpack ok\n'), pkt('ok refs/heads/x\n'), Buffer.from('0000')]);
  const banded = Buffer.concat([pkt(Buffer.concat([Buffer.from([2]), Buffer.from('progress\n')])), pkt(Buffer.concat([Buffer.from([1]), report])), Buffer.from('0000')]);
  t.same(reportOf(banded, true), { lines: ['unpack ok', 'ok refs/heads/x'], fatal: undefined }, 'side-band 1 holds the report; 2 is progress');
  t.same(reportOf(report, false).lines, ['unpack ok', 'ok refs/heads/x']);
  t.equal(reportOf(Buffer.concat([pkt(Buffer.concat([Buffer.from([3]), Buffer.from('disk full\n')])), Buffer.from('0000')]), true).fatal, 'disk full');
});

t.test('a moved repository (the address answers with a redirect): no target, and git push follows it', async (t) => {
  const { createServer } = await import('node:http');
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const w = await oneCommit(t, server, 'jgo/moved');
  // The old address redirects every request to the repository's new one, as a host does for a renamed repository.
  const old = createServer((req, res) => {
    res.writeHead(301, { location: `${server.url}${(req.url ?? '').replace('/acme/old.git', '/acme/widgets.git')}` });
    res.end();
  });
  await new Promise<void>((resolve) => old.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => old.close(() => resolve())));
  const address = old.address();
  const oldUrl = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}/acme/old.git`;
  t.equal(await openPushTarget(oldUrl, undefined), undefined, 'not followed: jgo would post to the old address');
  await pushBranch({ dir: w.dir, url: oldUrl, branch: 'jgo/moved', credentials: undefined, negotiate: false, ahead: { target: openPushTarget(oldUrl, undefined), base: w.base, sha: w.sha } }, new EngineChooser('native'), { env });
  t.equal(await revParse(server, 'acme/widgets.git', 'jgo/moved'), w.sha, 'git push followed the redirect');
});

t.test('stopped: the stage\'s own reason fails the push, and nothing is sent', async (t) => {
  const { JgoError, EXIT } = await import('../../lib/errors.js');
  const server = await startGitServer();
  t.teardown(server.close);
  await createBareRepo(server, 'acme/widgets.git');
  const w = await oneCommit(t, server, 'jgo/stopped');
  const target = await openPushTarget(w.url, undefined);
  server.resetStats();
  const signal = AbortSignal.abort(new JgoError('interrupted', 'stopped by SIGTERM', EXIT.failed));
  await t.rejects(pushWithPack({ dir: w.dir, url: w.url, branch: 'jgo/stopped', sha: w.sha, base: w.base, credentials: undefined, env, signal }, target!), { code: 'interrupted' });
  t.same(served(server), [], 'no POST');
});
