/**
 * A secret value as a leak test looks for it anywhere under a directory: plainly and in every
 * encoding an agent could use to hide it (computed here on its own, not with lib/codex/needles.ts,
 * so that a mistake there cannot hide itself). Every file is read whole, sqlite and WAL included.
 */
import { lstat, readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';

/** Plain, hex (both cases), percent-encoded (both cases), and base64 (standard and url-safe) at
 *  each of the three alignments in a longer stream. */
export function formsOf(value: string): Map<string, Buffer> {
  const bytes = Buffer.from(value, 'utf8');
  const pct = [...bytes].map((b) => `%${b.toString(16).padStart(2, '0')}`).join('');
  const forms = new Map<string, string>([
    ['plain', value],
    ['hex', bytes.toString('hex')],
    ['HEX', bytes.toString('hex').toUpperCase()],
    ['percent', pct],
    ['PERCENT', pct.toUpperCase()],
  ]);
  for (const lead of [0, 1, 2]) {
    // The value after `lead` other bytes, encoded; the characters touched by the others dropped.
    const encoded = Buffer.concat([Buffer.alloc(lead, 0x3d), bytes]).toString('base64');
    const core = encoded.slice(lead === 0 ? 0 : 4, encoded.length - 4);
    forms.set(`base64@${lead}`, core);
    forms.set(`base64url@${lead}`, core.replace(/\+/g, '-').replace(/\//g, '_'));
  }
  return new Map([...forms].map(([name, form]) => [name, Buffer.from(form, 'utf8')]));
}

/** `path: form` for every file under `root` holding any form of `value` (symlinks not followed). */
export async function filesHolding(root: string, value: string): Promise<string[]> {
  const forms = formsOf(value);
  const hits: string[] = [];
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true }).catch(() => [])) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile() && (await lstat(path)).size <= 256 * 1024 * 1024) {
        const bytes = await readFile(path).catch(() => Buffer.alloc(0));
        for (const [name, form] of forms) if (bytes.includes(form)) hits.push(`${path}: ${name}`);
      }
    }
  };
  await walk(root);
  return hits;
}
