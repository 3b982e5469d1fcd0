/** lib/git/lsrefs.ts: the remote's refs over smart HTTP (v1 advertisement, v2 ls-refs), against git http-backend. */
import t, { type Test } from 'tap';
import { randomBytes } from 'node:crypto';
import { openRefReader, parseAdvertisement, pktLines, readAdvertisement } from '../../lib/git/lsrefs.js';
import { startGitServer, createBareRepo, commitToBare } from '../helpers/git-server.js';

/** A served repository with main and one branch off it; the server's request log starts empty. */
async function widgets(t: Test, branch: string) {
  const server = await startGitServer();
  t.teardown(server.close);
  const main = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const topic = await commitToBare(server, 'acme/widgets.git', { branch, files: { 'x.txt': 'x\n' }, from: 'main' });
  const url = server.repoUrl('acme/widgets.git');
  server.resetStats();
  return { server, main, topic, url };
}

/** A served repository that asks for a token (a fresh one), as GitHub asks for a private one. */
async function privateRepo(t: Test) {
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const server = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  t.teardown(server.close);
  const main = await createBareRepo(server, 'acme/private.git');
  const url = server.repoUrl('acme/private.git');
  return { token, server, main, url };
}

t.test('the advertisement once, then one POST per question', async (t) => {
  const { server, main, topic, url } = await widgets(t, 'jgo/20261124-010203');
  const reader = await openRefReader(url, undefined);
  t.ok(reader, 'the server speaks v2 with ls-refs');
  t.same(server.stats.map((r) => `${r.method} ${r.service}`), ['GET git-upload-pack'], 'opening is the GET alone');

  t.same([...(await reader!.refs('refs/heads/main'))], [['refs/heads/main', main]]);
  t.same([...(await reader!.refs('refs/heads/jgo/'))], [['refs/heads/jgo/20261124-010203', topic]], 'a prefix gives what is under it');
  t.same([...(await reader!.refs('refs/heads/absent'))], [], 'nothing there: an empty answer');
  const after = server.stats.slice(1);
  t.same(after.map((r) => `${r.method} ${r.service} ${r.command}`), ['POST git-upload-pack ls-refs', 'POST git-upload-pack ls-refs', 'POST git-upload-pack ls-refs'], 'each question is one POST');
  // A branch pushed after the reader was opened is seen: the POST reads the refs as they are now.
  const later = await commitToBare(server, 'acme/widgets.git', { branch: 'jgo/later', files: { 'y.txt': 'y\n' }, from: 'main' });
  t.equal((await reader!.refs('refs/heads/jgo/later')).get('refs/heads/jgo/later'), later);
});

t.test('a private repository: the token goes in a header; without it there is no reader', async (t) => {
  const { token, server, main, url } = await privateRepo(t);
  t.equal(await openRefReader(url, undefined), undefined, 'refused: the caller then asks the ordinary way, which says why');
  const reader = await openRefReader(url, { token, from: 'GITHUB_TOKEN' });
  t.ok(reader);
  t.equal((await reader!.refs('refs/heads/main')).get('refs/heads/main'), main);
  t.notOk(server.stats.some((r) => r.path.includes(token) || r.query.includes(token)), 'never in a URL');
});

t.test('no repository, no server: undefined, not a throw', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  t.equal(await openRefReader(server.repoUrl('acme/missing.git'), undefined), undefined);
  t.equal(await openRefReader('http://127.0.0.1:9/acme/widgets.git', undefined), undefined);
});

t.test('pkt-lines: payloads without newlines; flush, delimiter and response-end skipped; a short stream is an error', async (t) => {
  t.same(pktLines(Buffer.from('000eversion 2\n0000000bls-refs00010008abc\n0002')), ['version 2', 'ls-refs', 'abc']);
  t.throws(() => pktLines(Buffer.from('0010abc')), /past the end/);
  t.throws(() => pktLines(Buffer.from('zzzz')), /not a pkt-line/);
});

t.test('the v1 advertisement in one GET: every branch and tag, peeled tags left out, and HEAD', async (t) => {
  const { server, main, topic, url } = await widgets(t, 'jgo/20261124-050000');
  const ad = await readAdvertisement(url, undefined);
  t.ok(ad);
  t.same(server.stats.map((r) => `${r.method} ${r.service}`), ['GET git-upload-pack'], 'one request');
  t.equal(ad!.defaultBranch, 'main');
  t.same(
    [...ad!.refs].sort(),
    [
      ['refs/heads/jgo/20261124-050000', topic],
      ['refs/heads/main', main],
    ],
  );
  // The same answer as isomorphic-git's listServerRefs, which remoteState used before.
  const { iso } = await import('../../lib/git/iso.js');
  const { git, http } = await iso();
  const theirs = await git.listServerRefs({ http, url, protocolVersion: 1, symrefs: true });
  t.same(
    theirs.filter((r) => r.ref.startsWith('refs/heads/')).map((r) => [r.ref, r.oid]).sort(),
    [...ad!.refs].sort(),
  );
  t.equal(theirs.find((r) => r.ref === 'HEAD')?.target, 'refs/heads/main');
});

t.test('parsing: symref, a peeled tag, an empty repository, and what is not an advertisement', async (t) => {
  const pkt = (s: string) => `${(Buffer.byteLength(s) + 4).toString(16).padStart(4, '0')}${s}`;
  const a = 'a'.repeat(40);
  const b = 'b'.repeat(40);
  const full = Buffer.from(
    pkt('# service=git-upload-pack\n') +
      '0000' +
      pkt(`${a} HEAD\0multi_ack symref=HEAD:refs/heads/trunk agent=git/2\n`) +
      pkt(`${a} refs/heads/trunk\n`) +
      pkt(`${b} refs/tags/v1\n`) +
      pkt(`${a} refs/tags/v1^{}\n`) +
      pkt(`${b} refs/pull/1/head\n`) +
      '0000',
  );
  t.same(parseAdvertisement(full), { refs: new Map([['refs/heads/trunk', a], ['refs/tags/v1', b]]), defaultBranch: 'trunk' });
  const empty = Buffer.from(pkt('# service=git-upload-pack\n') + '0000' + pkt(`${'0'.repeat(40)} capabilities^{}\0multi_ack agent=git/2\n`) + '0000');
  t.same(parseAdvertisement(empty), { refs: new Map(), defaultBranch: undefined }, 'no branches: the caller says the repository is empty');
  t.equal(parseAdvertisement(Buffer.from(pkt('version 2\n') + '0000')), undefined, 'not v1');
  t.equal(parseAdvertisement(Buffer.from(pkt('# service=git-upload-pack\n') + '0000' + pkt(`${a} refs/heads/x\n`))), undefined, 'no capabilities on the first ref');
  t.equal(parseAdvertisement(Buffer.from(pkt('# service=git-upload-pack\n') + '0000' + pkt('zzz refs/heads/x\0caps\n'))), undefined, 'not an object id');
});

t.test('the v1 read: the token in a header from the first request; refusals, absence and silence as the git layer words them', async (t) => {
  const { token, server, main, url } = await privateRepo(t);
  server.resetStats();
  const ad = await readAdvertisement(url, { token, from: 'GITHUB_TOKEN' });
  t.equal(ad?.refs.get('refs/heads/main'), main);
  t.same(server.stats.map((r) => r.auth), [true], 'one request, already authenticated (isomorphic-git asks twice: without, then after the 401)');
  t.notOk(server.stats.some((r) => r.path.includes(token) || r.query.includes(token)), 'never in a URL');
  await t.rejects(readAdvertisement(url, undefined), { code: 'auth_failed' });
  await t.rejects(readAdvertisement(url, { token: 'wrong', from: 'GITHUB_TOKEN' }), { code: 'auth_failed' });
  const open = await startGitServer();
  t.teardown(open.close);
  await t.rejects(readAdvertisement(open.repoUrl('acme/missing.git'), undefined), { code: 'repo_not_found' });
  await t.rejects(readAdvertisement('http://127.0.0.1:9/acme/widgets.git', undefined), { code: 'network_error' });
});
