/**
 * Where a JSON text stops being valid, as `line:column`, and how deep it nests. Node 20's
 * JSON.parse often says only "Unexpected token" without a position, and people piping envelopes
 * need to know where. A small scanner that follows the JSON grammar and reports the first
 * offending offset. It keeps its open arrays and objects on a list of its own rather than on
 * the call stack: any program can write an envelope, and 50,000 `[` must not overflow the stack.
 */
export function jsonErrorOffset(text: string): number {
  let i = 0;
  const ws = () => {
    while (i < text.length && ' \t\n\r'.includes(text[i] as string)) i++;
  };
  const fail = (): never => {
    throw i;
  };
  const literal = (word: string) => {
    if (text.startsWith(word, i)) i += word.length;
    else fail();
  };
  const string = () => {
    i++; // opening quote
    while (i < text.length) {
      const c = text[i] as string;
      if (c === '"') return void i++;
      if (c === '\\') i += 2;
      else if (c < ' ') fail();
      else i++;
    }
    fail();
  };
  const number = () => {
    const match = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
    if (!match || match[0] === '' || match[0] === '-') fail();
    i += (match as RegExpExecArray)[0].length;
  };
  const key = () => {
    ws();
    if (text[i] !== '"') fail();
    string();
    ws();
    if (text[i] !== ':') fail();
    i++;
  };
  // The containers still open, innermost last: '{' or '['.
  const open: string[] = [];
  /** One value; a container is only opened here, its members come from the loop below. */
  const value = (): void => {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      i++;
      ws();
      if (text[i] === (c === '{' ? '}' : ']')) return void i++;
      open.push(c);
      if (c === '{') key();
      return;
    }
    if (c === '"') return string();
    if (c === 't') return literal('true');
    if (c === 'f') return literal('false');
    if (c === 'n') return literal('null');
    return number();
  };
  try {
    value();
    while (open.length > 0) {
      const depth = open.length;
      value();
      if (open.length > depth) continue; // a container opened: its first member is next
      // A member is done: a comma brings the next, a bracket closes one or more containers.
      for (;;) {
        ws();
        const inner = open.at(-1);
        if (inner === undefined) break;
        if (text[i] === ',') {
          i++;
          if (inner === '{') key();
          break;
        }
        if (text[i] !== (inner === '{' ? '}' : ']')) fail();
        i++;
        open.pop();
      }
    }
    ws();
    return i < text.length ? i : -1;
  } catch (offset) {
    return Math.min(offset as number, text.length);
  }
}

/** `3:14` (1-based line and column) of an offset in a text. */
export function lineColumn(text: string, offset: number): string {
  const before = text.slice(0, offset).split('\n');
  return `${before.length}:${(before.at(-1)?.length ?? 0) + 1}`;
}

/** `3:14` (1-based line and column) of the first JSON syntax error, or undefined if valid. */
export function jsonErrorWhere(text: string): string | undefined {
  const offset = jsonErrorOffset(text);
  if (offset < 0) return undefined;
  return lineColumn(text, offset);
}

/**
 * The offset of the first `[` or `{` (outside strings) that opens one level more than `max`,
 * or -1. Checked before JSON.parse: what a deeper value would do afterwards (JSON.stringify, a
 * schema walking it) takes the call stack, and overflows it somewhere past a few thousand.
 */
export function jsonDepthOffset(text: string, max: number): number {
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      // A string: skipped whole, escapes included.
      for (i++; i < text.length && text.charCodeAt(i) !== 0x22; i++) if (text.charCodeAt(i) === 0x5c) i++;
    } else if (c === 0x5b || c === 0x7b) {
      if (++depth > max) return i;
    } else if (c === 0x5d || c === 0x7d) {
      depth--;
    }
  }
  return -1;
}
