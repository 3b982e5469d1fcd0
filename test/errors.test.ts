import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ERRORS, EXIT, JgoError, UsageError, exitCodeOf, type ErrorCode } from '../lib/errors.js';

const root = join(import.meta.dirname, '..');

/** The rows of docs/contract.md's "Error codes" table: code -> exit column, as written. */
function documentedCodes(): Map<string, string> {
  const text = readFileSync(join(root, 'docs/contract.md'), 'utf8');
  const section = text.split(/^## Error codes$/m)[1]?.split(/^## /m)[0] ?? '';
  const rows = new Map<string, string>();
  for (const line of section.split('\n')) {
    const row = /^\| `([a-z_]+)` \| ([^|]+) \|/.exec(line);
    if (row?.[1] && row[2]) rows.set(row[1], row[2].trim());
  }
  return rows;
}

t.test("docs/contract.md's error table lists exactly the registry's codes, with their exit codes", async (t) => {
  const documented = documentedCodes();
  t.ok(documented.size > 0, 'the table is found');
  const registry = new Map(Object.entries(ERRORS).map(([code, { exit }]) => [code, exit === 'stage' ? '1–4' : String(exit)]));
  t.same([...documented.keys()].filter((c) => !registry.has(c)), [], 'documented but not in lib/errors.ts');
  t.same([...registry.keys()].filter((c) => !documented.has(c)), [], 'in lib/errors.ts but not documented');
  for (const [code, exit] of registry) if (documented.has(code)) t.equal(documented.get(code), exit, code);
  t.same([...documented.keys()], [...documented.keys()].sort(), 'the table is in alphabetical order');
});

t.test('every code has a one-line meaning and a snake_case name', async (t) => {
  for (const [code, { meaning }] of Object.entries(ERRORS)) {
    t.match(code, /^[a-z]+(_[a-z]+)*$/, code);
    t.ok(meaning.length > 0 && !meaning.includes('\n'), code);
  }
});

t.test("an error's exit code defaults to the registry's", async (t) => {
  t.equal(new JgoError('no_changes', 'nothing').exitCode, EXIT.nothingToShip);
  t.equal(new JgoError('repo_not_allowed', 'no').exitCode, EXIT.refused);
  t.equal(new UsageError('bad_flags', 'no').exitCode, EXIT.usage);
  t.equal(exitCodeOf('stage_failed' satisfies ErrorCode), EXIT.failed);
  // @ts-expect-error an undeclared code does not compile
  t.ok(new JgoError('no_such_code', 'x'));
  // @ts-expect-error nor does an exit code the registry does not give the code
  t.ok(new JgoError('git_failed', 'x', EXIT.usage));
  // @ts-expect-error nor a UsageError whose code is not exit 2
  t.ok(new UsageError('git_failed', 'x'));
});
