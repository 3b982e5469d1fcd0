/** Progress: a live line on a terminal, nothing on a pipe. */
import t from 'tap';
import { PassThrough } from 'node:stream';
import { Progress } from '../../lib/git/progress.js';

function stream(tty: boolean) {
  const s = new PassThrough() as PassThrough & { isTTY?: boolean };
  if (tty) s.isTTY = true;
  let text = '';
  s.setEncoding('utf8').on('data', (d: string) => (text += d));
  return { s, text: () => text };
}

t.test('a terminal sees phase, counts and percent, then the line is cleared', async (t) => {
  const { s, text } = stream(true);
  const progress = new Progress(s);
  const cb = progress.callback();
  t.type(cb, 'function');
  cb?.({ phase: 'Receiving objects', loaded: 50, total: 200 });
  cb?.({ phase: 'Resolving deltas', loaded: 200, total: 200 });
  progress.done();
  t.match(text(), /Receiving objects: 25% \(50\/200\)/);
  t.match(text(), /Resolving deltas: 100% \(200\/200\)/);
  t.ok(text().endsWith('\r\x1b[K'));
});

t.test('a pipe gets no live progress (the caller prints one summary line)', async (t) => {
  const { s, text } = stream(false);
  const progress = new Progress(s);
  t.equal(progress.callback(), undefined);
  progress.done();
  t.equal(text(), '');
});
