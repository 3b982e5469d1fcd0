import t from 'tap';
import { parseModelJson } from '../lib/model-json.js';

t.test("a model's JSON is read with or without a markdown fence", async (t) => {
  t.same(parseModelJson('{"a":1}'), { a: 1 });
  t.same(parseModelJson('```json\n{"a":1}\n```'), { a: 1 });
  t.same(parseModelJson('  ```JSON\n{"a":1}\n```\n'), { a: 1 });
  t.same(parseModelJson('```\n[1]\n```'), [1]);
  t.throws(() => parseModelJson('here it is: {"a":1}'), SyntaxError);
});
