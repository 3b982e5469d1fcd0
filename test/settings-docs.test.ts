import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SETTINGS } from '../lib/config.js';

const root = join(import.meta.dirname, '..');

/** Read from the process environment before any settings exist (lib/cli.ts, lib/trace.ts). */
const READ_BEFORE_SETTINGS = ['JGO_CODE_CACHE', 'JGO_DEBUG', 'JGO_TRACE'];

/** The variables in the first column of docs/settings.md's tables. */
function documented(): string[] {
  const names: string[] = [];
  for (const line of readFileSync(join(root, 'docs/settings.md'), 'utf8').split('\n')) {
    const cell = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (!cell) continue;
    for (const m of cell.matchAll(/`([A-Z][A-Z0-9_]+)`/g)) if (m[1]) names.push(m[1]);
  }
  return names;
}

t.test('docs/settings.md documents exactly the settings lib/config.ts knows', async (t) => {
  const docs = documented().filter((n) => !READ_BEFORE_SETTINGS.includes(n));
  const schema = Object.keys(SETTINGS.shape);
  t.ok(docs.length > 0, 'the tables are found');
  t.same(schema.filter((n) => !docs.includes(n)), [], 'in the schema, not in docs/settings.md');
  t.same(docs.filter((n) => !schema.includes(n)), [], 'in docs/settings.md, not in the schema');
});
