import t from 'tap';
import { findRepoRefs, refuseReason, resolveRepoRef, sameRepo } from '../lib/repo-ref.js';
import { gitBaseUrl } from '../lib/authority.js';
import { JgoError } from '../lib/errors.js';

t.test('owner/repo resolves against the base URL', async (t) => {
  t.same(resolveRepoRef('acme/widgets', 'https://github.com'), { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' });
  t.same(resolveRepoRef('acme/widgets.git', 'http://127.0.0.1:8080/git'), {
    ref: 'acme/widgets',
    url: 'http://127.0.0.1:8080/git/acme/widgets.git',
  });
  t.same(resolveRepoRef('Acme-Org/my_repo.js', 'https://x'), { ref: 'Acme-Org/my_repo.js', url: 'https://x/Acme-Org/my_repo.js.git' });
});

t.test('http(s) URLs are normalized: host case, default port, trailing / and .git', async (t) => {
  t.same(resolveRepoRef('https://git.example.com/team/app.git', 'https://github.com'), {
    ref: 'https://git.example.com/team/app',
    url: 'https://git.example.com/team/app.git',
  });
  t.equal(resolveRepoRef('http://127.0.0.1:9/a/b/', 'https://github.com').url, 'http://127.0.0.1:9/a/b.git');
  const spellings = ['https://GitHub.com/acme/widgets', 'https://github.com:443/acme/widgets.git', 'https://github.com/acme/widgets/', 'acme/widgets', 'acme/widgets.git'];
  for (const s of spellings) t.equal(resolveRepoRef(s, 'https://github.com').url, 'https://github.com/acme/widgets.git', s);
  t.equal(sameRepo('acme/widgets', 'https://github.com/acme/widgets.git/', 'https://github.com'), true);
  t.equal(sameRepo('acme/widgets', 'acme/gadgets', 'https://github.com'), false);
  t.equal(sameRepo('acme/widgets', 'https://evil.example/acme/widgets', 'https://github.com'), false);
  t.equal(sameRepo('acme/widgets', '../x', 'https://github.com'), false);
});

t.test('every dangerous or foreign form is refused before git runs', async (t) => {
  const refused = [
    '',
    '/etc/passwd',
    './repo',
    '../other/repo',
    'acme/../../etc',
    '~/repo',
    'file:///srv/git/repo.git',
    'file:acme/widgets',
    'ext::sh -c touch% /tmp/pwned',
    'ext::sh',
    'fd::17',
    'git@github.com:acme/widgets.git',
    'ssh://git@github.com/acme/widgets.git',
    'git://github.com/acme/widgets.git',
    '-uacme/widgets',
    '--upload-pack=touch /tmp/x',
    'acme/widgets --force',
    'acme /widgets',
    'acme/wid\tgets',
    'acme/widgets\n',
    'acme/wid\u0000gets',
    'acme',
    'acme/widgets/extra',
    'https://user:secret@github.com/acme/widgets.git',
    'https://github.com/acme/widgets.git?x=1',
    'https://github.com/acme',
    'https://github.com/acme/../etc',
    'acme\\widgets',
    '-acme/widgets',
    'acme/-widgets',
  ];
  for (const ref of refused) {
    t.type(refuseReason(ref), 'string', `refused: ${JSON.stringify(ref)}`);
    const error = t.throws(() => resolveRepoRef(ref, 'https://github.com')) as unknown;
    t.ok(error instanceof JgoError && error.code === 'not_executable' && error.exitCode === 3, `exit 3 for ${JSON.stringify(ref)}`);
  }
});

t.test('references are found in request text', async (t) => {
  t.same(findRepoRefs('acme/widgets add install steps to README and a make dev target'), ['acme/widgets']);
  t.same(findRepoRefs('In (https://git.example.com/team/app.git), fix the build.'), ['https://git.example.com/team/app.git']);
  t.same(findRepoRefs('please fix "acme/widgets".'), ['acme/widgets']);
  t.same(findRepoRefs('fix the typo in the README'), []);
  t.same(findRepoRefs('touch ../etc/passwd and /tmp/x'), []);
});

t.test('JGO_GIT_BASE_URL is validated', async (t) => {
  t.equal(gitBaseUrl(undefined), 'https://github.com');
  t.equal(gitBaseUrl('http://127.0.0.1:8080/git/'), 'http://127.0.0.1:8080/git');
  t.throws(() => gitBaseUrl('file:///srv'), { code: 'invalid_setting', exitCode: 2 });
  t.throws(() => gitBaseUrl('https://me:tok@github.com'), { code: 'invalid_setting' });
  t.throws(() => gitBaseUrl('github.com'), { code: 'invalid_setting' });
});
