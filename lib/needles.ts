/**
 * The forms of a secret value that the scans look for: an agent that dumps its environment
 * through `base64`, `xxd -p` or a URL encoder writes the secret just as surely as one that prints
 * it. Both scans use this list: the scan of disk after a codex run (lib/codex/secrets.ts) and
 * ship's scan of added lines and commit messages (lib/ship/scan.ts).
 *
 * Not caught (docs/security.md): a value split, reversed, compressed, encrypted or otherwise
 * transformed; base64 broken across lines (`base64` wraps at 76 columns, so a value over 57 bytes
 * is wrapped); encodings of values shorter than MIN_ENCODED_BYTES.
 */

/**
 * Values shorter than this get only their plain form: the encoded forms of a short value are
 * short runs of hex digits or base64 letters, which turn up in ordinary files by chance.
 */
export const MIN_ENCODED_BYTES = 8;

/**
 * The base64 of a value depends on where it starts in the encoded stream (its offset mod 3): the
 * first and last characters mix in the neighbouring bytes. For each of the three alignments, the
 * encoding of the whole 3-byte groups that lie inside the value is the same wherever it sits.
 */
function base64Cores(bytes: Buffer): string[] {
  const cores: string[] = [];
  for (const skip of [0, 1, 2]) {
    const inside = bytes.subarray(skip);
    const whole = inside.subarray(0, inside.length - (inside.length % 3));
    if (whole.length >= 3) cores.push(whole.toString('base64'));
  }
  return cores;
}

/** Every byte as `%XX`, in upper or lower case hex. */
function percentEncoded(bytes: Buffer, upper: boolean): string {
  let out = '';
  for (const byte of bytes) out += `%${byte.toString(16).padStart(2, '0')}`;
  return upper ? out.toUpperCase() : out;
}

/**
 * The strings to look for, for one secret value: the value itself; its form inside a JSON string
 * (how codex's session files hold command output) when that differs; and, from MIN_ENCODED_BYTES
 * on, its base64 (standard and url-safe, each alignment's stable core), hex (lower and upper case)
 * and percent-encoding of every byte (upper and lower case). All but the plain value are ASCII.
 */
export function secretForms(value: string): string[] {
  if (value.length === 0) return [];
  const forms = new Set<string>([value]);
  const json = JSON.stringify(value).slice(1, -1);
  if (json !== value) forms.add(json);
  const bytes = Buffer.from(value, 'utf8');
  if (bytes.length >= MIN_ENCODED_BYTES) {
    for (const core of base64Cores(bytes)) {
      forms.add(core);
      forms.add(core.replace(/\+/g, '-').replace(/\//g, '_'));
    }
    const hex = bytes.toString('hex');
    forms.add(hex);
    forms.add(hex.toUpperCase());
    forms.add(percentEncoded(bytes, true));
    forms.add(percentEncoded(bytes, false));
  }
  return [...forms];
}

/** The forms of every value, each once. */
export function secretNeedles(values: readonly string[]): string[] {
  return [...new Set(values.flatMap((value) => secretForms(value)))];
}

/** The same, as bytes, for the scan of files. */
export function secretNeedleBytes(values: readonly string[]): Buffer[] {
  return secretNeedles(values).map((needle) => Buffer.from(needle, 'utf8'));
}
