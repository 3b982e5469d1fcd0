/** lib/git/lsrefs.ts: protocol v2 ls-refs with the capability exchange done ahead, against git http-backend. */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { openRefReader, pktLines } from '../../lib/git/lsrefs.js';
import { startGitServer, createBareRepo, commitToBare } from '../helpers/git-server.js';

t.test('the advertisement once, then one POST per question', async (t) => {
  const server = await startGitServer();
  t.teardown(server.close);
  const main = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const topic = await commitToBare(server, 'acme/widgets.git', { branch: 'jgo/20261124-010203', files: { 'x.txt': 'x\n' }, from: 'main' });
  const url = server.repoUrl('acme/widgets.git');
  server.resetStats();
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
  const token = `tok-${randomBytes(12).toString('hex')}`;
  const server = await startGitServer({ auth: { username: 'x-access-token', password: token } });
  t.teardown(server.close);
  const main = await createBareRepo(server, 'acme/private.git');
  const url = server.repoUrl('acme/private.git');
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
