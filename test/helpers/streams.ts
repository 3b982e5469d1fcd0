/** In-memory streams for calling a stage's harness without a process. */
import { PassThrough, Readable } from 'node:stream';
import type { StageIO } from '../../lib/stage.js';

export interface MemoryIO extends StageIO {
  out: () => string;
  err: () => string;
}

export function memoryIO(input: string, options: { env?: NodeJS.ProcessEnv; cwd: string; tty?: boolean }): MemoryIO {
  const stdin = Readable.from(input === '' ? [] : [Buffer.from(input)]) as Readable & { isTTY?: boolean };
  if (options.tty) stdin.isTTY = true;
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.setEncoding('utf8').on('data', (d: string) => (out += d));
  stderr.setEncoding('utf8').on('data', (d: string) => (err += d));
  return { stdin, stdout, stderr, env: options.env ?? {}, cwd: options.cwd, out: () => out, err: () => err };
}
