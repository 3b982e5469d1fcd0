/**
 * Splits a command line into words the way a POSIX shell would (single and double quotes,
 * backslash escapes, whitespace), without running a shell: `JGO_STAGE_CODEX="my-agent --fast"`
 * names a program and its arguments, and no `$(…)`, `;` or glob ever means anything.
 */
import { UsageError } from '../errors.js';

export function splitWords(line: string, name = 'command'): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < line.length; i++) {
    const c = line[i] as string;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < line.length && '"\\$`\n'.includes(line[i + 1] as string)) word += line[++i];
      else word += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\') {
      if (i + 1 < line.length) word += line[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote) throw new UsageError('invalid_setting', `${name}: unterminated ${quote === '"' ? 'double' : 'single'} quote in ${JSON.stringify(line)}`);
  if (inWord) words.push(word);
  return words;
}
