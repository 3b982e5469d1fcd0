/** Our string-width stand-in agrees with string-width on what help layout meets. */
import t from 'tap';
import stringWidth from '../lib/vendor/string-width.js';
import realWidth from 'string-width';

t.test('the same widths as string-width', async (t) => {
  const samples = ['', 'jgo-gate [request...]', '  --json  print the envelope  [boolean]', '\u001b[1mbold\u001b[22m', '日本語', 'café', 'e\u0301', '👍', '👨‍👩‍👧', 'a\tb', 'ｆｕｌｌ', '→ ⏎ …'];
  for (const s of samples) t.equal(stringWidth(s), realWidth(s), JSON.stringify(s));
  t.equal(stringWidth('\u001b[31mred\u001b[39m', { countAnsiEscapeCodes: true }), realWidth('\u001b[31mred\u001b[39m', { countAnsiEscapeCodes: true }));
});
