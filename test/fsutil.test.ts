import t from 'tap';
import { join } from 'node:path';
import { exists } from '../lib/fsutil.js';

t.test('exists says whether anything is at a path', async (t) => {
  const dir = t.testdir({ file: 'x', sub: {} });
  t.equal(await exists(join(dir, 'file')), true);
  t.equal(await exists(join(dir, 'sub')), true);
  t.equal(await exists(join(dir, 'missing')), false);
  t.equal(await exists(join(dir, 'file', 'below')), false, 'below a file is nothing, not an error');
});
