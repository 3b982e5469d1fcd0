import t from 'tap';
import { authorityFrom } from '../lib/config.js';
import {
  checkRepoAllowed,
  gitBaseUrl,
  hostMatches,
  normalizeRepoUrl,
  parseHostList,
  repoSlug,
  tokenAllowed,
  tokenOrigins,
} from '../lib/authority.js';
import { Settings } from '../lib/config.js';

const settings = (env: Record<string, string>) => new Settings({ env, cwd: '/' }, {}, '/nonexistent/.env', undefined);

t.test('a host is its name and port; an entry without a port is the default one', async (t) => {
  t.same(parseHostList('ghe.example.com, 127.0.0.1:8080  [::1]:9', 'X'), [
    { hostname: 'ghe.example.com', port: undefined },
    { hostname: '127.0.0.1', port: '8080' },
    { hostname: '[::1]', port: '9' },
  ]);
  t.same(parseHostList(undefined, 'X'), []);
  for (const bad of ['https://x', 'x/y', 'user@x', 'x:port', 'x?y']) {
    t.throws(() => parseHostList(bad, 'JGO_GIT_TOKEN_HOSTS'), { code: 'invalid_setting', message: /JGO_GIT_TOKEN_HOSTS/ }, bad);
  }
  const [plain] = parseHostList('GitHub.com', 'X');
  t.ok(hostMatches(new URL('https://github.com/a/b'), plain!), 'names are case-insensitive');
  t.ok(hostMatches(new URL('https://github.com:443/a/b'), plain!), 'the default port is the default port');
  t.notOk(hostMatches(new URL('https://github.com:8443/a/b'), plain!), 'another port is another host');
  const [loop] = parseHostList('127.0.0.1:8080', 'X');
  t.ok(hostMatches(new URL('http://127.0.0.1:8080/x'), loop!));
  t.notOk(hostMatches(new URL('http://127.0.0.1:9090/x'), loop!));
  t.notOk(hostMatches(new URL('https://github.com.evil.example/x'), plain!), 'a suffix is not the host');
});

t.test('the token goes to the base host and JGO_GIT_TOKEN_HOSTS only, over https or to loopback', async (t) => {
  const a = authorityFrom(settings({ JGO_GIT_BASE_URL: 'http://127.0.0.1:8080/git', JGO_GIT_TOKEN_HOSTS: 'ghe.example.com,10.0.0.5:3000', JGO_GIT_ALLOWED_HOSTS: 'mirror.example.com' }));
  t.ok(tokenAllowed(a, 'http://127.0.0.1:8080/git/acme/w.git'));
  t.notOk(tokenAllowed(a, 'http://127.0.0.1:9090/git/acme/w.git'), 'another port of the same address');
  t.ok(tokenAllowed(a, 'https://ghe.example.com/acme/w.git'));
  t.notOk(tokenAllowed(a, 'http://ghe.example.com/acme/w.git'), 'never over plain http off this machine');
  t.notOk(tokenAllowed(a, 'http://10.0.0.5:3000/acme/w.git'), 'a listed host over plain http is not loopback');
  t.ok(tokenAllowed(a, 'https://10.0.0.5:3000/acme/w.git'));
  t.notOk(tokenAllowed(a, 'https://mirror.example.com/acme/w.git'), 'allowed is not trusted with the token');
  t.notOk(tokenAllowed(a, 'https://evil.example/acme/w.git'));
  t.notOk(tokenAllowed(a, 'https://u:p@ghe.example.com/acme/w.git'), 'a URL with credentials of its own');
  t.notOk(tokenAllowed(a, 'not a url'));
  t.same(tokenOrigins(a).sort(), ['http://127.0.0.1:8080', 'https://10.0.0.5:3000', 'https://127.0.0.1:8080', 'https://ghe.example.com'].sort());
  const gh = authorityFrom(settings({}));
  t.same(tokenOrigins(gh), ['https://github.com'], 'by default: github.com over https, nothing else');
});

t.test('one spelling per repository', async (t) => {
  const same = ['https://GitHub.com/acme/widgets', 'https://github.com:443/acme/widgets.git', 'https://github.com/acme/widgets/', 'https://github.com/acme/widgets.git/', 'https://github.com/acme/widgets.GIT'];
  for (const s of same) t.equal(normalizeRepoUrl(s), 'https://github.com/acme/widgets.git', s);
  t.equal(normalizeRepoUrl('http://127.0.0.1:80/a/b'), 'http://127.0.0.1/a/b.git');
  t.not(normalizeRepoUrl('https://github.com/acme/Widgets'), normalizeRepoUrl('https://github.com/acme/widgets'), 'paths keep their case: the server decides');
  t.equal(repoSlug('https://ghe.example.com/git/acme/widgets.git'), 'acme/widgets');
});

t.test('hosts and JGO_REPOS decide which repositories jgo touches', async (t) => {
  const a = authorityFrom(settings({ JGO_GIT_ALLOWED_HOSTS: 'git.example.com', JGO_REPOS: 'acme/*, tools/jgo, git.example.com/team/*' }));
  t.doesNotThrow(() => checkRepoAllowed(a, 'https://github.com/acme/widgets.git'));
  t.doesNotThrow(() => checkRepoAllowed(a, 'https://github.com/ACME/widgets.git'), 'owner names are case-insensitive');
  t.doesNotThrow(() => checkRepoAllowed(a, 'https://github.com/tools/jgo.git'));
  t.throws(() => checkRepoAllowed(a, 'https://github.com/tools/jgo2.git'), { code: 'repo_not_allowed', exitCode: 3 });
  t.throws(() => checkRepoAllowed(a, 'https://github.com/acme-evil/widgets.git'), { code: 'repo_not_allowed' }, '* stops at /, and matches the whole owner');
  t.doesNotThrow(() => checkRepoAllowed(a, 'https://git.example.com/team/app.git'), 'a host-qualified pattern');
  t.doesNotThrow(() => checkRepoAllowed(a, 'https://git.example.com/acme/app.git'), 'owner/repo patterns hold on every allowed host');
  t.throws(() => checkRepoAllowed(a, 'https://github.com/team/app.git'), { code: 'repo_not_allowed' }, 'host/owner/repo only on that host');
  t.throws(() => checkRepoAllowed(a, 'https://evil.example/acme/widgets.git'), { code: 'host_not_allowed', exitCode: 3 });
  for (const bad of ['acme', '../x', 'a/b/c/d', 'acme/wid gets', 'a//b']) {
    t.throws(() => authorityFrom(settings({ JGO_REPOS: bad })), { code: 'invalid_setting', message: /JGO_REPOS/ }, bad);
  }
  t.doesNotThrow(() => checkRepoAllowed(authorityFrom(settings({})), 'https://github.com/anyone/anything.git'), 'without JGO_REPOS: any repository on an allowed host');
});

t.test('JGO_GIT_BASE_URL', async (t) => {
  t.equal(gitBaseUrl(undefined), 'https://github.com');
  t.equal(gitBaseUrl(' http://127.0.0.1:8080/git/ '), 'http://127.0.0.1:8080/git');
  for (const bad of ['file:///srv', 'https://me:tok@github.com', 'github.com', 'https://github.com/?x=1']) {
    t.throws(() => gitBaseUrl(bad), { code: 'invalid_setting', exitCode: 2 }, bad);
  }
});
