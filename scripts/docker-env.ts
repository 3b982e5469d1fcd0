#!/usr/bin/env node
/**
 * The container entrypoint's env file loader (scripts/docker-entrypoint.sh):
 *
 *   eval "$(node dist/scripts/docker-env.js "$JGO_ENV_FILE")"
 *
 * Parses the file with dotenv's own parser (quotes, `#` comments, `export` prefixes, multi-line
 * quoted values: exactly what jgo's settings see) and prints one `export NAME='value'` line per
 * variable that the process environment does not already set, so the process environment wins,
 * as in lib/config.ts (an empty value counts as unset there too). Values are single-quoted for
 * the shell, so nothing in them is expanded or run. The output is meant for `eval` only: this
 * script never writes a value anywhere else, and its messages name variables, never values.
 *
 * Exit 0 (a missing file prints nothing), 2 when the file exists but cannot be read.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parse } from 'dotenv';

/** A name the shell can export. dotenv also accepts `.` and `-`, which sh cannot. */
const SHELL_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Names the file may not set: JGO_ENV_FILE is read from the process environment only. */
const NOT_FROM_FILE = new Set(['JGO_ENV_FILE']);

/** `value` as one single-quoted shell word: `'` becomes `'\''`; nothing else is special. */
function shellQuote(value: string): string {
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

interface ExportPlan {
  lines: string[];
  /** Names skipped because the shell cannot hold them (the message names them, not values). */
  skipped: string[];
}

/** The assignments for `parsed` that `env` does not already set (non-empty). */
function exportLines(parsed: Record<string, string>, env: NodeJS.ProcessEnv): ExportPlan {
  const lines: string[] = [];
  const skipped: string[] = [];
  for (const [name, value] of Object.entries(parsed)) {
    if (NOT_FROM_FILE.has(name)) continue;
    const current = env[name];
    if (current !== undefined && current !== '') continue;
    if (!SHELL_NAME.test(name) || value.includes('\0')) {
      skipped.push(name);
      continue;
    }
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  return { lines, skipped };
}

function main(argv: string[]): number {
  const named = argv[0] ?? process.env.JGO_ENV_FILE;
  const path = resolve(process.cwd(), named !== undefined && named !== '' ? named : '.env');
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return 0;
    process.stderr.write(`jgo-entrypoint: cannot read the env file ${path}: ${code ?? 'error'}\n`);
    process.stderr.write('  hint: fix its permissions, or point JGO_ENV_FILE at another file.\n');
    return 2;
  }
  const plan = exportLines(parse(text), process.env);
  for (const name of plan.skipped) {
    process.stderr.write(`jgo-entrypoint: ${path}: ${JSON.stringify(name)} is not a name the shell can export; skipped\n`);
  }
  if (plan.lines.length > 0) process.stdout.write(`${plan.lines.join('\n')}\n`);
  return 0;
}

process.exitCode = main(process.argv.slice(2));
