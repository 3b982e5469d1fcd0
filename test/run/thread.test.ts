/**
 * Threads in the journal: what --continue may name, which runs make a thread, the `continue` a
 * follow-up is given, and the thread's lock, on real journals in a temporary cache.
 */
import t from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { Journal, threadOf } from '../../lib/run/journal.js';
import { findTarget, followUp, lockThread, parseContinueRef, threadMembers, type PullRequestInfo } from '../../lib/run/thread.js';
import type { Continue, Envelope } from '../../lib/envelope.js';
import { tempDir } from '../helpers/run.js';

const sha = (n: number) => n.toString(16).padStart(40, '0');
const repo = { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' };

/** A finished run in the journal: its ship record says what it pushed (nothing when `branch` is undefined). */
async function run(cache: string, runId: string, request: string, opts: { branch?: string; commits?: number[]; follow?: Continue; threadId?: string; pr?: number } = {}) {
  const journal = await Journal.create(cache, runId, request, false, opts.follow);
  const envelope: Envelope = {
    jgo: 1,
    run_id: runId,
    request,
    repo,
    ...(opts.threadId ? { codex: { exit_code: 0, last_message: '', duration_ms: 1, thread_id: opts.threadId } } : {}),
    ...(opts.branch
      ? { ship: { branch: opts.branch, pushed: true, commits: (opts.commits ?? []).map((n) => ({ sha: sha(n), subject: `feat: change ${n}` })), ...(opts.pr ? { pr: { url: `https://github.com/acme/widgets/pull/${opts.pr}`, number: opts.pr } } : {}) } }
      : {}),
  };
  const now = new Date().toISOString();
  await journal.saveStage({ stage: opts.branch ? 'ship' : 'codex', command: ['x'], started: now, ended: now, duration_ms: 1, exit_code: 0, envelope });
  journal.record = { ...journal.record, status: 'done', ended: now, exit_code: 0 };
  await journal.save();
  await journal.unlock();
  return journal;
}

t.test('--continue names a run, a branch, or a pull request by URL or number', async (t) => {
  t.same(parseContinueRef('20261123-202500-7f3a'), { kind: 'run', runId: '20261123-202500-7f3a' });
  t.same(parseContinueRef('jgo/20261123-202500'), { kind: 'branch', name: 'jgo/20261123-202500' });
  t.same(parseContinueRef('feature/login'), { kind: 'branch', name: 'feature/login' });
  t.same(parseContinueRef('https://github.com/acme/widgets/pull/7'), { kind: 'pr', number: 7, repoUrl: 'https://github.com/acme/widgets' });
  t.same(parseContinueRef('https://ghe.example.com/acme/widgets/pull/12/files'), { kind: 'pr', number: 12, repoUrl: 'https://ghe.example.com/acme/widgets' }, "a pull request's tab");
  t.throws(() => parseContinueRef('https://github.com/acme/widgets/issues/3'), { code: 'bad_branch' }, 'a URL that is no pull request is no branch either');
  t.same(parseContinueRef('#42'), { kind: 'pr', number: 42, repoUrl: undefined });
  t.same(parseContinueRef('42'), { kind: 'pr', number: 42, repoUrl: undefined });
  t.throws(() => parseContinueRef('--force'), { code: 'bad_branch', exitCode: 2 }, 'never an option in disguise');
  t.throws(() => parseContinueRef('a..b'), { code: 'bad_branch' });
  t.throws(() => parseContinueRef(''), { code: 'bad_branch' });
});

t.test("a follow-up's continue: the newest pushed run is the parent, every pushed run is history", async (t) => {
  const cache = tempDir(t);
  const first = await run(cache, '20261123-202500-aaaa', 'acme/widgets add a README', { branch: 'jgo/20261123-202500', commits: [1], threadId: 'thread-1', pr: 7 });
  const thread = threadOf(first.record);
  t.equal(thread, '20261123-202500-aaaa', 'a first run begins its own thread');
  const base = { thread, branch: 'jgo/20261123-202500' };
  await run(cache, '20261123-203000-bbbb', 'also add tests', { branch: 'jgo/20261123-202500', commits: [2, 3], threadId: 'thread-2', follow: { ...base, parent: '20261123-202500-aaaa' } });
  await run(cache, '20261123-203500-cccc', 'and lint', { follow: { ...base, parent: '20261123-203000-bbbb' } });
  await run(cache, '20261123-204000-dddd', 'acme/widgets something else', { branch: 'jgo/20261123-204000', commits: [9] });

  const members = await threadMembers(cache, thread);
  t.same(members.map((m) => m.record.run_id), ['20261123-202500-aaaa', '20261123-203000-bbbb', '20261123-203500-cccc'], "the thread's runs, oldest first, and no other");
  const target = await findTarget(cache, parseContinueRef('20261123-203500-cccc'), async () => t.fail('no pull request is looked up') as never);
  t.same(target, { thread });
  const follow = followUp('20261123-205000-eeee', target, members);
  t.same(follow, {
    thread,
    parent: '20261123-203000-bbbb',
    branch: 'jgo/20261123-202500',
    repo,
    thread_id: 'thread-2',
    pr: { url: 'https://github.com/acme/widgets/pull/7', number: 7 },
    history: [
      { run_id: '20261123-202500-aaaa', request: 'acme/widgets add a README', commits: [{ sha: sha(1), subject: 'feat: change 1' }] },
      { run_id: '20261123-203000-bbbb', request: 'also add tests', commits: [{ sha: sha(2), subject: 'feat: change 2' }, { sha: sha(3), subject: 'feat: change 3' }] },
    ],
  }, 'the run that pushed nothing is no parent; the pull request is the thread\'s');

  const byBranch = await findTarget(cache, parseContinueRef('jgo/20261123-202500'), async () => t.fail('no lookup') as never);
  t.equal(byBranch.thread, thread, 'a branch names the thread whose runs pushed it');
  const unknown = await findTarget(cache, parseContinueRef('feature/login'), async () => t.fail('no lookup') as never);
  t.same(unknown, { thread: undefined, branch: 'feature/login' });
  t.same(followUp('20261123-205000-ffff', unknown, []), { thread: '20261123-205000-ffff', branch: 'feature/login' }, 'a branch named without a run behind it begins a thread of its own');
});

t.test('what cannot be continued gets its code and one line', async (t) => {
  const cache = tempDir(t);
  await run(cache, '20261123-202500-aaaa', 'acme/widgets add a README');
  await t.rejects(findTarget(cache, parseContinueRef('20261123-999999-0000'), async () => t.fail('no lookup') as never), { code: 'run_not_found', exitCode: 2 });
  const target = await findTarget(cache, parseContinueRef('20261123-202500-aaaa'), async () => t.fail('no lookup') as never);
  const members = await threadMembers(cache, target.thread!);
  t.throws(() => followUp('20261123-203000-bbbb', target, members), { code: 'run_not_shipped', exitCode: 2, message: /20261123-202500-aaaa pushed no branch/ });

  const pr = (over: Partial<PullRequestInfo>) => async () => ({ number: 7, url: 'https://github.com/acme/widgets/pull/7', state: 'open' as const, merged: false, headRef: 'jgo/20261123-202500', headRepo: 'acme/widgets', baseRef: 'main', repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' }, ...over });
  await t.rejects(findTarget(cache, parseContinueRef('7'), pr({ state: 'closed', merged: true })), { code: 'pr_closed', exitCode: 1, message: /#7 is merged/ });
  await t.rejects(findTarget(cache, parseContinueRef('7'), pr({ state: 'closed' })), { code: 'pr_closed', message: /#7 is closed/ });
  await t.rejects(findTarget(cache, parseContinueRef('7'), pr({ headRef: 'feature/login' })), { code: 'foreign_branch', exitCode: 2, message: /feature\/login, a branch jgo did not make/ });
  await t.rejects(findTarget(cache, parseContinueRef('7'), pr({ headRepo: 'mallory/widgets' })), { code: 'foreign_branch', message: /another repository/ });
  t.same(await findTarget(cache, parseContinueRef('7'), pr({})), {
    thread: undefined,
    branch: 'jgo/20261123-202500',
    pr: { url: 'https://github.com/acme/widgets/pull/7', number: 7 },
    repo: { ref: 'acme/widgets', url: 'https://github.com/acme/widgets.git' },
  }, 'an open pull request on a jgo branch, its repository with it');
});

t.test("a thread's lock: the second taker waits for the first, and says why", async (t) => {
  const cache = tempDir(t);
  const order: string[] = [];
  const first = await lockThread(cache, '20261123-202500-aaaa', { timeoutMs: 10_000, onWait: () => order.push('never') });
  let told = '';
  const second = lockThread(cache, '20261123-202500-aaaa', { timeoutMs: 10_000, onWait: (holder) => (told = holder) }).then((lock) => {
    order.push('second');
    return lock;
  });
  await sleep(300);
  order.push('first done');
  await first.release();
  const lock = await second;
  t.same(order, ['first done', 'second'], 'one after the other, never both');
  t.match(told, /pid \d+/, 'the waiter is told who holds it');
  await lock.release();
  const other = await lockThread(cache, '20261123-210000-bbbb', { timeoutMs: 1000, onWait: () => t.fail('another thread does not wait') });
  await other.release();
});
