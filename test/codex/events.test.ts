/** codex's JSONL events: parsed with zod, folded into failed commands, rendered for people. */
import t from 'tap';
import { failedCommand, oneLine, plainMessage, parseEvent, renderEvent, unwrapCommand, asCommand, isItemEvent, type CodexEvent } from '../../lib/codex/events.js';

// One real line of each kind, as codex 0.169 printed them (recorded from a real run).
const REAL = {
  thread: '{"type":"thread.started","thread_id":"01a20a82-b8d4-7441-bc3d-5e4fdd50ae6b"}',
  turn: '{"type":"turn.started"}',
  reasoning: '{"type":"item.completed","item":{"id":"item_0","type":"reasoning","text":"Thinking about notes"}}',
  message: '{"type":"item.completed","item":{"id":"item_1","type":"agent_message","text":"Creating NOTES.md"}}',
  cmdStarted: `{"type":"item.started","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -lc 'printf hi > NOTES.md'","aggregated_output":"","exit_code":null,"status":"in_progress"}}`,
  cmdOk: `{"type":"item.completed","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -lc 'printf hi > NOTES.md'","aggregated_output":"","exit_code":0,"status":"completed"}}`,
  cmdFailed: `{"type":"item.completed","item":{"id":"item_2","type":"command_execution","command":"/bin/bash -lc 'printf hi > NOTES.md'","aggregated_output":"bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)\\n","exit_code":1,"status":"failed"}}`,
  change: '{"type":"item.completed","item":{"id":"item_3","type":"file_change","changes":[{"path":"/tmp/exp/ws/NOTES.md","kind":"update"}],"status":"completed"}}',
  errorItem: '{"type":"item.completed","item":{"id":"item_0","type":"error","message":"Model metadata for `test-model` not found. Defaulting to fallback metadata; this can degrade performance and cause issues."}}',
  completed: '{"type":"turn.completed","usage":{"input_tokens":300,"cached_input_tokens":0,"cache_write_input_tokens":0,"output_tokens":60,"reasoning_output_tokens":0}}',
  notice: '{"type":"error","message":"Reconnecting... 1/5 (stream disconnected)"}',
  failed: '{"type":"turn.failed","error":{"message":"stream disconnected before completion: scripted boom"}}',
};

const render = (line: string) => renderEvent(parseEvent(line) as CodexEvent, '/tmp/exp/ws');

t.test('every real event parses', async (t) => {
  for (const [name, line] of Object.entries(REAL)) t.ok(parseEvent(line), name);
  t.equal(parseEvent('not json'), undefined);
  t.equal(parseEvent('[1,2]'), undefined);
  t.equal(parseEvent('{"no":"type"}'), undefined);
  t.match(parseEvent('{"type":"item.plan.delta","delta":"x"}'), { type: 'item.plan.delta' }, 'unknown types are kept, not refused');
  t.match(parseEvent('{"type":"item.completed","item":{"id":"i","type":"todo_list","items":[]}}'), { item: { type: 'todo_list' } });
});

t.test('human lines: commands and exit codes, files changed, messages, notices, the end', async (t) => {
  t.same(render(REAL.thread), ['thread 01a20a82-b8d4-7441-bc3d-5e4fdd50ae6b']);
  t.same(render(REAL.turn), []);
  t.same(render(REAL.cmdStarted), ['$ printf hi > NOTES.md']);
  t.same(render(REAL.cmdOk), ['  ok (exit 0): printf hi > NOTES.md']);
  t.same(render(REAL.cmdFailed), ['  failed (exit 1): printf hi > NOTES.md — bwrap: Creating new namespace failed: nesting depth or /proc/sys/user/max_*_namespaces exceeded (ENOSPC)']);
  t.same(render(REAL.change), ['edited: update NOTES.md'], 'paths relative to the working copy');
  t.same(render(REAL.message), ['codex: Creating NOTES.md']);
  t.same(render(REAL.reasoning), ['thinking: Thinking about notes']);
  t.match(render(REAL.errorItem), [/^warning: Model metadata/]);
  t.same(render(REAL.completed), ['turn completed: 300 input tokens, 60 output']);
  t.same(render(REAL.notice), ['notice: Reconnecting... 1/5 (stream disconnected)'], 'a top-level error is a notice');
  t.same(render(REAL.failed), ['turn failed: stream disconnected before completion: scripted boom']);
});

t.test('failed commands: failed, declined or non-zero; the command as the agent wrote it', async (t) => {
  const item = (line: string) => {
    const e = parseEvent(line) as CodexEvent;
    return isItemEvent(e) ? asCommand(e.item) : undefined;
  };
  t.same(failedCommand(item(REAL.cmdFailed)!), { command: 'printf hi > NOTES.md', exit_code: 1 });
  t.equal(failedCommand(item(REAL.cmdOk)!), undefined);
  t.same(failedCommand({ type: 'command_execution', command: 'rm -rf /', status: 'declined', exit_code: null }), { command: 'rm -rf /', exit_code: null });
  t.equal(unwrapCommand(`/bin/bash -lc 'echo '\\''hi'\\'''`), "echo 'hi'");
  t.equal(unwrapCommand('git status'), 'git status');
  // Real 0.169 output for a script holding a single quote: double quotes, backslashes escaped.
  t.equal(unwrapCommand(JSON.parse(String.raw`"/bin/bash -lc \"printf 'notes from codex\\\\n' > NOTES.md\""`)), String.raw`printf 'notes from codex\n' > NOTES.md`);
  t.equal(plainMessage('{"error":{"message":"scripted refusal","type":"invalid_request_error"}}'), 'scripted refusal');
  t.equal(plainMessage('plain words'), 'plain words');
});

t.test('rendered text is one line, without escape sequences, bounded', async (t) => {
  t.equal(oneLine('a\x1b[31mred\x1b[0m\nnext\x07'), 'ared ⏎ next');
  t.equal(oneLine('x'.repeat(500), 10), `${'x'.repeat(9)}…`);
  const long = parseEvent(JSON.stringify({ type: 'item.completed', item: { id: 'i', type: 'agent_message', text: 'y'.repeat(2000) } })) as CodexEvent;
  t.ok((renderEvent(long, '/')[0] ?? '').length < 420);
});
