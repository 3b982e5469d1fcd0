/**
 * Pull requests against a loopback server that answers as GitHub's REST API does: what jgo
 * sends (headers, fields), reuse of an open pull request, and every refusal mapped to a stable
 * code, with the token in no message.
 */
import t, { type Test } from 'tap';
import { JgoError } from '../../lib/errors.js';
import { openPullRequest, prBody, prTitle, BODY_LIMIT, type OpenPullRequestInput } from '../../lib/github/pr.js';
import { repoFromUrl } from '../../lib/github/api.js';
import { repoAccess } from '../../lib/github/repo.js';
import { startGitHubServer, githubErrors, type GitHubServer } from '../helpers/github-server.js';
import { closedPort } from '../helpers/run.js';

// Token-shaped values are assembled at run time: no real-looking token sits in the source.
const TOKEN = ['gh', 'p_', 'TestToken0123456789abcdefABCDEF0123'].join('');
const BRANCH = 'jgo/20261123-202500';

async function server(t: Test, repos: Parameters<typeof startGitHubServer>[0]['repos'] = { 'acme/widgets': {} }): Promise<GitHubServer> {
  const gh = await startGitHubServer({ token: TOKEN, repos });
  t.teardown(gh.close);
  return gh;
}

function input(gh: GitHubServer, extra: Partial<OpenPullRequestInput> = {}): OpenPullRequestInput {
  return {
    apiUrl: gh.url,
    token: TOKEN,
    repoUrl: 'https://github.com/acme/widgets.git',
    branch: BRANCH,
    base: 'main',
    title: 'docs: add install steps',
    body: '## Request\n\nadd install steps',
    ...extra,
  };
}

/** Everything an error carries that people or logs could see. */
function visible(error: unknown): string {
  const e = error as JgoError;
  return [e.message, e.hint ?? '', e.stack ?? '', JSON.stringify(e)].join('\n');
}

async function rejection(t: Test, promise: Promise<unknown>): Promise<JgoError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  t.type(error, JgoError);
  return error as JgoError;
}


t.test('creates a pull request: headers, query and fields as GitHub expects', async (t) => {
  const gh = await server(t);
  const pr = await openPullRequest(input(gh));
  t.same(pr, { url: `${gh.webUrl}/acme/widgets/pull/1`, number: 1, reused: false });

  t.equal(gh.requests.length, 2, 'one look, one create');
  const [list, create] = gh.requests;
  t.equal(list?.method, 'GET');
  t.equal(list?.path, '/repos/acme/widgets/pulls');
  t.same(list?.query, { head: `acme:${BRANCH}`, state: 'open', per_page: '10' });
  t.equal(create?.method, 'POST');
  t.equal(create?.path, '/repos/acme/widgets/pulls');
  t.same(create?.body, { title: 'docs: add install steps', head: BRANCH, base: 'main', body: '## Request\n\nadd install steps', draft: false });
  for (const r of gh.requests) {
    t.equal(r.authorized, true, 'Authorization: Bearer <token>');
    t.equal(r.headers.accept, 'application/vnd.github+json');
    t.equal(r.headers['x-github-api-version'], '2022-11-28');
    t.equal(r.headers['user-agent'], 'jgo');
  }
  t.equal(create?.headers['content-type'], 'application/json');
  t.equal(gh.pulls[0]?.draft, false);
});

t.test('an open pull request for the branch is reused, not duplicated', async (t) => {
  const gh = await server(t);
  const first = await openPullRequest(input(gh));
  const again = await openPullRequest(input(gh, { title: 'another title' }));
  t.same(again, { ...first, reused: true });
  t.equal(gh.pulls.length, 1);
  t.same(gh.requests.map((r) => r.method), ['GET', 'POST', 'GET'], 'the second call only looks');

  // A closed one does not count; another branch's open one neither.
  gh.pulls[0]!.state = 'closed';
  const fresh = await openPullRequest(input(gh));
  t.same(fresh, { url: `${gh.webUrl}/acme/widgets/pull/2`, number: 2, reused: false });
});

t.test('one opened by someone else between look and create is found and reused', async (t) => {
  const gh = await server(t, { 'acme/widgets': {} });
  gh.pulls.push({ number: 7, title: 'theirs', body: null, head: BRANCH, base: 'main', draft: false, state: 'open', owner: 'acme', repo: 'widgets' });
  gh.replyNext({ status: 200, body: [] }); // the first look sees nothing
  const pr = await openPullRequest(input(gh));
  t.same(pr, { url: `${gh.webUrl}/acme/widgets/pull/7`, number: 7, reused: true });
  t.same(gh.requests.map((r) => r.method), ['GET', 'POST', 'GET']);
  t.equal(gh.pulls.length, 1);
});

t.test('a draft, and GitHub Enterprise: API host and path differ from the web host', async (t) => {
  const gh = await server(t, { 'platform/api-gateway': {} });
  const pr = await openPullRequest(input(gh, { apiUrl: `${gh.url}/api/v3/`, repoUrl: 'https://ghe.example.com/platform/api-gateway', draft: true }));
  t.equal(pr.number, 1);
  t.equal(gh.requests[0]?.path, '/repos/platform/api-gateway/pulls');
  t.same(gh.requests[0]?.query.head, `platform:${BRANCH}`);
  t.equal((gh.requests[1]?.body as { draft?: boolean }).draft, true);
  t.equal(gh.pulls[0]?.draft, true);
});

t.test('401 and 403 are pr_auth_failed with a hint naming the token and its scope', async (t) => {
  const gh = await server(t);
  const wrong = ['gh', 'p_', 'WrongToken9876543210zyxwvuZYXWVU9876'].join('');
  const e401 = await rejection(t, openPullRequest(input(gh, { token: wrong })));
  t.equal(e401.code, 'pr_auth_failed');
  t.equal(e401.exitCode, 1);
  t.match(e401.message, /HTTP 401.*Bad credentials/);
  t.match(e401.hint, /GITHUB_TOKEN/);
  t.match(e401.hint, /repo scope/);
  t.notMatch(visible(e401), wrong, 'the token is in no error text');
  t.equal(gh.requests[0]?.authorized, false);

  gh.replyNext(githubErrors.notAccessible());
  const e403 = await rejection(t, openPullRequest(input(gh, { tokenFrom: 'GH_TOKEN' })));
  t.equal(e403.code, 'pr_auth_failed');
  t.match(e403.message, /HTTP 403.*Resource not accessible by personal access token/);
  t.match(e403.hint, /GH_TOKEN/);
  t.match(e403.hint, /Pull requests: Read and write/);
  t.notMatch(visible(e403), TOKEN);

  // 403 on the create, after the look succeeded.
  gh.requests.length = 0;
  gh.replyNext({ status: 200, body: [] });
  gh.replyNext(githubErrors.notAccessible());
  const onCreate = await rejection(t, openPullRequest(input(gh)));
  t.equal(onCreate.code, 'pr_auth_failed');
  t.same(gh.requests.map((r) => r.method), ['GET', 'POST']);

  gh.replyNext(githubErrors.rateLimited());
  const limited = await rejection(t, openPullRequest(input(gh)));
  t.equal(limited.code, 'pr_failed', 'a rate limit is not an auth failure');
  t.match(limited.message, /rate-limited/);
  t.equal(gh.pulls.length, 0, 'nothing was created');
});

t.test('422 is pr_rejected with GitHub\'s message', async (t) => {
  const gh = await server(t, { 'acme/widgets': { empty: [BRANCH], branches: ['main', BRANCH, 'other'] }, 'acme/private': { noDrafts: true } });
  const none = await rejection(t, openPullRequest(input(gh)));
  t.equal(none.code, 'pr_rejected');
  t.equal(none.exitCode, 1);
  t.match(none.message, `Validation Failed: No commits between main and ${BRANCH}`);
  t.notMatch(visible(none), TOKEN);

  const badBase = await rejection(t, openPullRequest(input(gh, { branch: 'other', base: 'develop' })));
  t.equal(badBase.code, 'pr_rejected');
  t.match(badBase.message, /base invalid/);

  const draft = await rejection(t, openPullRequest(input(gh, { repoUrl: 'https://github.com/acme/private', draft: true })));
  t.equal(draft.code, 'pr_rejected');
  t.match(draft.message, /Draft pull requests are not supported/);
  t.match(draft.hint, /without --draft/);
});

t.test('other failures: pr_failed; no answer: network_error; no token: pr_needs_token (exit 2)', async (t) => {
  const gh = await server(t);
  gh.replyNext(githubErrors.serverError());
  const bad = await rejection(t, openPullRequest(input(gh)));
  t.equal(bad.code, 'pr_failed');
  t.match(bad.message, /HTTP 502/);

  const missing = await rejection(t, openPullRequest(input(gh, { repoUrl: 'https://github.com/acme/nope.git' })));
  t.equal(missing.code, 'pr_failed');
  t.match(missing.message, /HTTP 404/);

  gh.replyNext({ status: 200, body: { not: 'a list' } });
  t.equal((await rejection(t, openPullRequest(input(gh)))).code, 'pr_failed', 'an answer of the wrong shape');

  const port = await closedPort();
  const down = await rejection(t, openPullRequest(input(gh, { apiUrl: `http://127.0.0.1:${port}` })));
  t.equal(down.code, 'network_error');
  t.equal(down.exitCode, 1);
  t.match(down.message, /ECONNREFUSED/);
  t.notMatch(visible(down), TOKEN);

  const before = gh.requests.length;
  for (const token of [undefined, '']) {
    const none = await rejection(t, openPullRequest(input(gh, { token })));
    t.equal(none.code, 'pr_needs_token');
    t.equal(none.exitCode, 2);
    t.match(none.message, /GITHUB_TOKEN/);
  }
  t.equal(gh.requests.length, before, 'nothing is sent without a token');

  const abort = new AbortController();
  gh.replyNext({ status: 200, body: [] });
  abort.abort();
  t.equal((await rejection(t, openPullRequest(input(gh), { signal: abort.signal }))).code, 'interrupted');
});

t.test('repository access: permissions.push from GET /repos/{owner}/{repo}', async (t) => {
  const gh = await server(t, {
    'acme/widgets': { permissions: { admin: false, push: true, pull: true } },
    'acme/readonly': { permissions: { admin: false, push: false, pull: true } },
  });
  const base = { apiUrl: gh.url, token: TOKEN };
  t.same(await repoAccess({ ...base, repoUrl: 'acme/widgets' }), { fullName: 'acme/widgets', defaultBranch: 'main', push: true, pull: true });
  t.equal((await repoAccess({ ...base, repoUrl: 'https://github.com/acme/readonly.git' })).push, false);
  t.equal((await rejection(t, repoAccess({ ...base, repoUrl: 'acme/missing' }))).code, 'repo_not_found');
  const refused = await rejection(t, repoAccess({ ...base, token: 'ghp_nope_nope_nope_nope', repoUrl: 'acme/widgets' }));
  t.equal(refused.code, 'github_auth_failed');
  t.notMatch(visible(refused), 'ghp_nope_nope_nope_nope');
});

t.test('owner/repo from repository URLs', async (t) => {
  t.same(repoFromUrl('https://github.com/acme/widgets.git'), { owner: 'acme', repo: 'widgets' });
  t.same(repoFromUrl('https://github.com/acme/widgets/'), { owner: 'acme', repo: 'widgets' });
  t.same(repoFromUrl('https://ghe.example.com/scm/team/service.git'), { owner: 'team', repo: 'service' });
  t.same(repoFromUrl('acme/widgets'), { owner: 'acme', repo: 'widgets' });
  for (const bad of ['https://github.com/acme', 'widgets', 'https://github.com/-x/y', 'https://github.com/a/..']) {
    t.throws(() => repoFromUrl(bad), { code: 'bad_repo_url' }, bad);
  }
});

t.test('title: the first commit, else the request without its repository', async (t) => {
  t.equal(prTitle([{ subject: 'docs: add install steps' }, { subject: 'build: add make dev' }], 'acme/widgets add things'), 'docs: add install steps');
  t.equal(prTitle([], 'acme/widgets add install steps to README\nand more'), 'add install steps to README');
  t.equal(prTitle([], 'https://github.com/acme/widgets fix the typo'), 'fix the typo');
  t.equal(prTitle([], '   '), 'Changes by jgo');
  const long = prTitle([], `acme/widgets ${'word '.repeat(60)}`);
  t.ok(long.length <= 120);
  t.match(long, /…$/);
});

t.test('body: every part, fenced where it must be, and under GitHub\'s limit', async (t) => {
  const body = prBody({
    request: 'acme/widgets add a ```weird``` @someone request',
    optimizedPrompt: 'Add install steps to README.md.',
    commits: [{ sha: 'a'.repeat(40), subject: 'docs: add install steps' }],
    changedFiles: ['README.md', 'Makefile'],
    lastMessage: 'Added the steps.',
    usage: { gate: { input_tokens: 400, output_tokens: 100, total_tokens: 500 }, codex: { input_tokens: 3000, output_tokens: 600 }, ship: undefined },
    runId: '20261123-202500-7f3a',
    redact: (s) => s.replace('weird', '[redacted]'),
  });
  t.match(body, /## Request\n\n````text\nacme\/widgets add a ```\[redacted\]``` @someone request\n````/, 'a fence longer than any inside');
  t.match(body, /Prompt given to codex[\s\S]*Add install steps to README\.md\./);
  t.match(body, /- `aaaaaaa` docs: add install steps/);
  t.match(body, /## Changed files \(2\)\n\n- `README.md`\n- `Makefile`/);
  t.match(body, /## What codex says\n\nAdded the steps\./);
  t.match(body, /\| gate \| 400 \| 100 \| 500 \|/);
  t.match(body, /\| codex \| 3000 \| 600 \| 3600 \|/);
  t.match(body, /\*\*4100\*\*/);
  t.notMatch(body, /\| ship \|/);
  t.match(body, /run `20261123-202500-7f3a`/);

  const huge = prBody({
    request: 'r'.repeat(100_000),
    optimizedPrompt: 'p'.repeat(100_000),
    commits: Array.from({ length: 500 }, (_, i) => ({ sha: i.toString(16).padStart(40, '0'), subject: `feat: change ${i}` })),
    changedFiles: Array.from({ length: 5000 }, (_, i) => `src/file-${i}.ts`),
    lastMessage: `\`\`\`diff\n${'+ line\n'.repeat(20_000)}`,
  });
  t.ok(huge.length <= BODY_LIMIT, `${huge.length} characters`);
  t.match(huge, /… and 400 more/);
  t.match(huge, /… and 4700 more/);
  t.match(huge, /cut: the message is too long/);
  const tail = huge.slice(huge.indexOf('## What codex says'));
  t.equal((tail.match(/^```/gm) ?? []).length % 2, 0, 'the cut message closes its fence');
  t.match(huge, /Opened by jgo/);

  const gh = await server(t);
  await openPullRequest(input(gh, { body: huge }));
  t.equal((gh.requests[1]?.body as { body: string }).body, huge, 'GitHub takes it');
});
