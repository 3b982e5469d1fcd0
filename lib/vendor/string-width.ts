/**
 * The terminal width of a string, for yargs' help layout: what string-width computes, without its
 * start-up cost. string-width creates an Intl.Segmenter when it is imported, which loads ICU data
 * and costs 60-80 ms on every start of every executable that parses flags. Here printable ASCII
 * (all of jgo's help text) is measured directly, and a segmenter is made only for other text, the
 * first time some is measured. The bundles use this in place of string-width (scripts/build.mjs).
 */
import { eastAsianWidth } from 'get-east-asian-width';

// eslint-disable-next-line no-control-regex
const ANSI = /[\u001b\u009b][[\]()#;?]*(?:(?:(?:(?:;[-a-zA-Z\d/#&.:=?%@~_]+)*|[a-zA-Z\d]+(?:;[-a-zA-Z\d/#&.:=?%@~_]*)*)?\u0007)|(?:(?:\d{1,4}(?:;\d{0,4})*)?[\dA-PR-TZcf-nq-uy=><~]))/g;
const PRINTABLE_ASCII = /^[\x20-\x7e]*$/;

let segmenter: Intl.Segmenter | undefined;

export interface Options {
  ambiguousIsNarrow?: boolean;
  countAnsiEscapeCodes?: boolean;
}

export default function stringWidth(input: string, options: Options = {}): number {
  if (typeof input !== 'string' || input.length === 0) return 0;
  const text = options.countAnsiEscapeCodes ? input : input.replace(ANSI, '');
  if (PRINTABLE_ASCII.test(text)) return text.length;
  segmenter ??= new Intl.Segmenter();
  const ambiguousAsWide = options.ambiguousIsNarrow === false;
  let width = 0;
  for (const { segment } of segmenter.segment(text)) {
    const codePoint = segment.codePointAt(0) ?? 0;
    if (codePoint <= 0x1f || (codePoint >= 0x7f && codePoint <= 0x9f)) continue; // control
    if ((codePoint >= 0x200b && codePoint <= 0x200f) || codePoint === 0xfeff) continue; // zero width
    if ((codePoint >= 0x300 && codePoint <= 0x36f) || /^\p{Default_Ignorable_Code_Point}$/u.test(segment)) continue;
    if (/\p{Extended_Pictographic}/u.test(segment)) {
      width += 2; // emoji, with any joiners and modifiers in the same grapheme
      continue;
    }
    width += eastAsianWidth(codePoint, { ambiguousAsWide });
  }
  return width;
}
