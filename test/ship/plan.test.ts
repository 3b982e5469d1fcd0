import t from 'tap';
import { checkPlan, fallbackPlan, CONVENTIONAL_SUBJECT } from '../../lib/ship/plan.js';
import type { Change } from '../../lib/git/status.js';

const changes: Change[] = [
  { path: 'README.md', kind: 'modified' },
  { path: 'Makefile', kind: 'added' },
  { path: 'old.txt', kind: 'deleted' },
];

t.test('a good plan becomes commit groups in order, with bodies', async (t) => {
  const { plan, problem } = checkPlan(
    JSON.stringify({
      commits: [
        { subject: 'docs(readme): add install steps', body: '', paths: ['README.md'] },
        { subject: 'build: add a make dev target', body: 'So newcomers start with one command.', paths: ['./Makefile', 'old.txt'] },
      ],
    }),
    changes,
  );
  t.equal(problem, undefined);
  t.same(plan?.groups.map((g) => g.message), ['docs(readme): add install steps\n', 'build: add a make dev target\n\nSo newcomers start with one command.\n']);
  t.same(plan?.groups[1]?.changes.map((c) => c.path), ['Makefile', 'old.txt']);
  t.same(plan?.forgotten, []);
});

t.test('forgotten paths go into a final commit', async (t) => {
  const { plan } = checkPlan(JSON.stringify({ commits: [{ subject: 'docs: readme', body: '', paths: ['README.md'] }] }), changes);
  t.equal(plan?.groups.length, 2);
  t.equal(plan?.groups[1]?.subject, 'chore: include remaining changes');
  t.same(plan?.forgotten, ['Makefile', 'old.txt']);
});

t.test('bad plans are refused with a reason', async (t) => {
  const cases: Array<[string, RegExp]> = [
    ['not json at all', /not JSON/],
    [JSON.stringify({ commits: [] }), /commits/],
    [JSON.stringify({ commits: [{ subject: 'Update stuff', body: '', paths: ['README.md'] }] }), /Conventional Commit/],
    [JSON.stringify({ commits: [{ subject: 'docs: x', body: '', paths: ['nope.md'] }] }), /not part of the change/],
    [JSON.stringify({ commits: [{ subject: 'docs: x', body: '', paths: ['README.md'] }, { subject: 'fix: y', body: '', paths: ['README.md'] }] }), /twice/],
  ];
  for (const [text, reason] of cases) t.match(checkPlan(text, changes).problem, reason, text.slice(0, 40));
});

t.test('Conventional Commit subjects', async (t) => {
  for (const ok of ['feat: x', 'fix(parser): y', 'refactor!: drop z', 'chore(deps)!: bump']) t.match(ok, CONVENTIONAL_SUBJECT);
  for (const bad of ['feat:x', 'Feat: x', 'feature: x', 'fix(): y', 'docs: ']) t.notMatch(bad, CONVENTIONAL_SUBJECT);
});

t.test('the fallback: one commit named after the request', async (t) => {
  const plan = fallbackPlan('acme/widgets Add install steps to README.', 'acme/widgets', changes);
  t.equal(plan.groups.length, 1);
  t.equal(plan.groups[0]?.subject, 'chore: add install steps to README');
  t.match(plan.groups[0]?.subject, CONVENTIONAL_SUBJECT);
  t.equal(plan.groups[0]?.changes.length, 3);
  t.match(fallbackPlan('x'.repeat(300), undefined, changes).groups[0]?.subject, CONVENTIONAL_SUBJECT);
});
