/** jgo-gate's Headers, Response and FormData (lib/web-shims.ts), held to what the standard ones do. */
import t from 'tap';
import { ShimFormData, ShimHeaders, ShimResponse } from '../lib/web-shims.js';

t.test('Headers: names without case, values joined, sorted iteration, like the standard one', async (t) => {
  const init: Record<string, string> = { 'X-B': ' two ', 'content-type': 'application/json', 'X-A': '1' };
  const ours = new ShimHeaders(init);
  const theirs = new Headers(init);
  ours.append('x-a', '2');
  theirs.append('x-a', '2');
  t.same([...ours], [...theirs], 'same entries, same order, same joined and trimmed values');
  t.equal(ours.get('X-A'), '1, 2');
  t.equal(ours.get('missing'), null);
  t.equal(ours.has('CONTENT-TYPE'), true);
  ours.set('Content-Type', 'text/plain');
  ours.delete('x-b');
  t.same([...ours.keys()], ['content-type', 'x-a']);
  t.same([...ours.values()], ['text/plain', '1, 2']);
  const seen: string[] = [];
  ours.forEach((value, name) => seen.push(`${name}=${value}`));
  t.same(seen, ['content-type=text/plain', 'x-a=1, 2']);
  t.equal(Object.prototype.toString.call(ours), '[object Headers]');
});

t.test('Headers: made from pairs, from another Headers, from arrays of values; bad input throws', async (t) => {
  t.same([...new ShimHeaders([['b', '2'], ['a', '1']])], [['a', '1'], ['b', '2']]);
  const copy = new ShimHeaders(new ShimHeaders({ a: '1' }));
  t.equal(copy.get('a'), '1');
  t.equal(new ShimHeaders({ 'set-thing': ['x', 'y'], skipped: undefined }).get('set-thing'), 'x, y');
  t.same([...new ShimHeaders(null)], []);
  t.throws(() => new ShimHeaders({ 'bad name': 'x' }), TypeError);
  t.throws(() => new ShimHeaders({ a: 'line\r\nbreak' }), TypeError);
  t.throws(() => new ShimHeaders([['only-a-name']] as unknown as Array<[string, string]>), TypeError);
});

t.test('Response: status, ok, headers, and a body read once as text or JSON', async (t) => {
  const res = new ShimResponse(Buffer.from('{"a":1}'), { status: 201, statusText: 'Created', headers: { 'Content-Type': 'application/json' } });
  t.equal(res.status, 201);
  t.equal(res.statusText, 'Created');
  t.equal(res.ok, true);
  t.equal(res.headers.get('content-type'), 'application/json');
  t.equal(res.bodyUsed, false);
  t.same(await res.json(), { a: 1 });
  t.equal(res.bodyUsed, true);
  await t.rejects(res.text(), TypeError, 'a body is read once');

  const failed = new ShimResponse('nope', { status: 500 });
  t.equal(failed.ok, false);
  t.equal(await failed.text(), 'nope');
  t.equal(failed.body, null, 'nothing to stream, nothing to cancel');

  const empty = new ShimResponse(null, { status: 204 });
  t.equal(await empty.text(), '');
  const bytes = new ShimResponse('héllo');
  t.equal(Buffer.from(await bytes.arrayBuffer()).toString('utf8'), 'héllo');
  t.throws(() => new ShimResponse('x', { status: 700 }), RangeError);
  t.throws(() => new ShimResponse('x', { status: 101 }), RangeError);
});

t.test('FormData: only a type to test bodies against; the gate never builds one', async (t) => {
  t.equal(({} as object) instanceof ShimFormData, false);
  t.throws(() => new ShimFormData(), /not available in jgo-gate/);
});
