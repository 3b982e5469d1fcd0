/** The encoded forms of a secret value that both scans look for. */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { MIN_ENCODED_BYTES, secretForms, secretNeedles } from '../../lib/needles.js';
import { scanForSecrets } from '../../lib/codex/secrets.js';
import { scanMessage, scanText } from '../../lib/ship/scan.js';
import { tempDir } from '../helpers/run.js';

// Assembled at run time: no token-shaped string sits in the source.
const TOKEN = ['gh', 'p_', 'Zq9'.repeat(12)].join('');

/** The ways an agent writes a value down, each inside some text (at every offset mod 3). */
function encodings(value: string): Record<string, string> {
  const bytes = Buffer.from(value, 'utf8');
  return {
    plain: value,
    base64: bytes.toString('base64'),
    'base64 url-safe': bytes.toString('base64url'),
    hex: bytes.toString('hex'),
    HEX: bytes.toString('hex').toUpperCase(),
    'percent, upper': [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join(''),
    'percent, lower': [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join(''),
  };
}

t.test('every encoding is found wherever it starts in a base64 stream', async (t) => {
  // A value with bytes that base64 turns into + and /, and a non-ASCII one.
  for (const value of [TOKEN, `k\u00e9y-??>>~~-${'x'.repeat(10)}`, 'sk-' + '\xff?>'.repeat(6)]) {
    const needles = secretNeedles([value]);
    for (const [name, text] of Object.entries(encodings(value))) {
      t.ok(needles.some((n) => text.includes(n)), `${name} of ${JSON.stringify(value.slice(0, 6))}…`);
    }
    for (const prefix of ['', 'a', 'ab']) {
      const bytes = Buffer.concat([Buffer.from(`TOKEN=${prefix}`), Buffer.from(value), Buffer.from('\n')]);
      for (const encoded of [bytes.toString('base64'), bytes.toString('base64url')]) {
        t.ok(needles.some((n) => encoded.includes(n)), `inside an encoded env dump, ${prefix.length + 6} bytes in`);
      }
    }
  }
});

t.test('a value inside a JSON string (how codex logs command output) is found', async (t) => {
  const value = `pass"word\\with-${'q'.repeat(8)}`;
  const line = JSON.stringify({ output: `SECRET=${value}\n` });
  t.notOk(line.includes(value), 'escaped there');
  t.ok(secretNeedles([value]).some((n) => line.includes(n)));
});

t.test(`values under ${MIN_ENCODED_BYTES} bytes get only their plain form`, async (t) => {
  t.same(secretForms('abc1234'), ['abc1234']);
  t.ok(secretForms('abcd1234').length > 5);
  t.same(secretForms(''), []);
  const forms = secretForms(TOKEN);
  t.ok(forms.every((f) => f.length >= 8), 'no form so short it matches by chance');
});

t.test('the disk scan and the diff scan both catch the encodings', async (t) => {
  const dir = tempDir(t);
  const since = Date.now() - 1000;
  for (const [name, text] of Object.entries(encodings(TOKEN))) writeFileSync(join(dir, `${name}.txt`), `x ${text} y`);
  writeFileSync(join(dir, 'reversed.txt'), [...TOKEN].reverse().join(''));
  const result = await scanForSecrets({ roots: [dir], secrets: [TOKEN], since });
  t.equal(result.files.length, 7, 'every encoded form, not the reversed value');
  t.notOk(result.files.some((f) => f.endsWith('reversed.txt')));

  const after = Object.values(encodings(TOKEN)).join('\n');
  t.same(scanText('a.txt', undefined, after, [TOKEN]).map((h) => h.line), [1, 2, 3, 4, 5, 6, 7]);
  const hits = scanMessage('the message of 0123abcd', `feat: add config\n\nkey ${encodings(TOKEN).hex}\n`, [TOKEN]);
  t.same(hits, [{ path: 'the message of 0123abcd', line: 3, what: 'the value of a secret setting in use' }]);
  t.notMatch(JSON.stringify(hits), TOKEN);
});
