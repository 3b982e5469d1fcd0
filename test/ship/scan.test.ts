import t from 'tap';
import { addedLines, scanText } from '../../lib/ship/scan.js';

// Token-shaped values are assembled at run time: no real-looking token sits in the source.
const ghToken = ['gh', 'p_', 'A'.repeat(36)].join('');
const awsKey = ['AK', 'IA', 'ABCDEFGHIJKLMNOP'].join('');
const openaiKey = ['s', 'k-', 'proj-', 'x'.repeat(40)].join('');

t.test('only added lines count, with their line numbers', async (t) => {
  t.same(addedLines('a\nb\nc\n', 'a\nB\nc\nd\n'), [
    { line: 2, text: 'B' },
    { line: 4, text: 'd' },
  ]);
  t.same(addedLines(undefined, 'x\ny\n').map((l) => l.line), [1, 2], 'a new file: every line');
});

t.test('secret values in use and well-known token shapes are found; the secret is not repeated', async (t) => {
  const secret = `my-secret-${Date.now()}`;
  const after = ['ok', `key = "${secret}"`, `token: ${ghToken}`, `aws ${awsKey}`, `OPENAI=${openaiKey}`, '-----BEGIN RSA PRIVATE KEY-----'].join('\n');
  const hits = scanText('config.env', 'ok\n', after, [secret]);
  t.same(
    hits.map((h) => [h.line, h.what]),
    [
      [2, 'the value of a secret setting in use'],
      [3, 'something shaped like a GitHub token'],
      [4, 'something shaped like a AWS access key id'],
      [5, 'something shaped like a OpenAI API key'],
      [6, 'something shaped like a private key'],
    ],
  );
  t.notMatch(JSON.stringify(hits), secret);
});

t.test('a secret already in the base is not a new hit', async (t) => {
  t.same(scanText('a', `x ${ghToken}\n`, `x ${ghToken}\ny\n`, []), []);
});
