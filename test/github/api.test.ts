/**
 * Where GITHUB_TOKEN goes through the GitHub REST client: to JGO_GITHUB_API_URL's origin and
 * nowhere else, across redirects too, and never over plain http to another machine. Two
 * loopback fakes of the API: the configured one, and another origin it may redirect to.
 */
import t, { type Test } from 'tap';
import { checkApiUrl, githubApiUrl, githubRequest } from '../../lib/github/api.js';
import { repoAccess } from '../../lib/github/repo.js';
import { Settings } from '../../lib/config.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';

// Token-shaped values are assembled at run time: no real-looking token sits in the source.
const TOKEN = ['gh', 'p_', 'ApiRedirect0123456789abcdefABCDEF01'].join('');

async function servers(t: Test): Promise<{ api: GitHubServer; other: GitHubServer }> {
  const repos = { 'acme/widgets': {} };
  const api = await startGitHubServer({ token: TOKEN, repos });
  const other = await startGitHubServer({ token: TOKEN, repos });
  t.teardown(() => Promise.all([api.close(), other.close()]));
  return { api, other };
}

t.test('a same-origin redirect is followed with the token (a renamed repository)', async (t) => {
  const { api } = await servers(t);
  api.replyNext({ status: 301, headers: { location: `${api.url}/repos/acme/widgets` } });
  const access = await repoAccess({ apiUrl: api.url, token: TOKEN, repoUrl: 'https://github.com/acme/old-name.git' });
  t.equal(access.fullName, 'acme/widgets');
  t.same(api.requests.map((r) => [r.path, r.authorized]), [['/repos/acme/old-name', true], ['/repos/acme/widgets', true]]);
});

t.test('a redirect to another origin is refused before the token goes there: another port of the same host too', async (t) => {
  const { api, other } = await servers(t);
  for (const status of [301, 302, 307, 308]) {
    api.replyNext({ status, headers: { location: `${other.url}/repos/acme/widgets` } });
    await t.rejects(repoAccess({ apiUrl: api.url, token: TOKEN, repoUrl: 'https://github.com/acme/widgets.git' }), { code: 'redirect_refused', message: new RegExp(`redirected to ${other.url}`) }, `HTTP ${status}`);
  }
  t.equal(other.requests.length, 0, 'the other origin was never asked');
  const error = await githubRequest({ apiUrl: api.url, token: TOKEN, method: 'GET', path: '/repos/acme/widgets' }).then(() => undefined);
  t.equal(error, undefined, 'the API itself still answers');
});

t.test('JGO_GITHUB_API_URL: https, or http only to loopback', async (t) => {
  const settings = (value: string) => new Settings({ env: { JGO_GITHUB_API_URL: value }, cwd: '/' }, {}, '/nonexistent/.env', undefined);
  t.equal(githubApiUrl(settings('https://ghe.example.com/api/v3/')), 'https://ghe.example.com/api/v3');
  t.equal(githubApiUrl(settings('http://127.0.0.1:8080')), 'http://127.0.0.1:8080');
  t.throws(() => githubApiUrl(settings('http://ghe.example.com/api/v3')), { code: 'invalid_setting', message: /plain http to another machine/ });
  t.throws(() => checkApiUrl('https://user:pw@api.github.com'), { code: 'invalid_setting' });
  await t.rejects(githubRequest({ apiUrl: 'http://api.example.invalid', token: TOKEN, method: 'GET', path: '/user' }), { code: 'invalid_setting' }, 'the request itself refuses it too');
});
