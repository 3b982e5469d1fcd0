import t from 'tap';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { findOnPath, pidAlive } from '../lib/proc.js';

t.test('a live process is alive, one that has exited is not', async (t) => {
  t.ok(pidAlive(process.pid));
  const child = spawnSync(process.execPath, ['-e', '']);
  t.equal(child.status, 0);
  t.notOk(pidAlive(child.pid));
  // pid 1 exists, but may belong to another user: EPERM still means alive.
  t.ok(pidAlive(1));
});

t.test('a name is found in the first PATH directory that has it as a file', async (t) => {
  const dir = t.testdir({ a: {}, b: { tool: '#!/bin/sh\n' }, c: { tool: '#!/bin/sh\n' }, d: { tool: {} } });
  chmodSync(join(dir, 'b', 'tool'), 0o755);
  t.equal(findOnPath('tool', { PATH: ['', join(dir, 'a'), join(dir, 'b'), join(dir, 'c')].join(':') }), join(dir, 'b', 'tool'));
  t.equal(findOnPath('tool', { PATH: join(dir, 'd') }), undefined, 'a directory of that name is not a program');
  t.equal(findOnPath('tool', {}), undefined, 'no PATH, nothing found');
  mkdirSync(join(dir, 'e'));
  writeFileSync(join(dir, 'e', 'git'), '');
  t.equal(findOnPath('git', { PATH: join(dir, 'e') }), join(dir, 'e', 'git'));
});
