/**
 * The JSONL events of `codex exec --json` (0.169 and 0.171 print the same; see
 * codex-rs/exec/src/exec_events.rs), checked with zod, and rendered as short lines for people
 * watching stderr.
 *
 * Every object is loose and unknown event or item types are kept as they are: a newer codex may
 * add fields and kinds, and jgo must go on watching rather than fail on them.
 */
import * as z from '../zod.js';
import { Usage } from '../envelope.js';
import { relative, isAbsolute } from 'node:path';

const Text = z.catch(z.string(), '');
const Id = z.optional(z.string());

export const CommandItem = z.looseObject({
  id: Id,
  type: z.literal('command_execution'),
  command: Text,
  aggregated_output: z.optional(z.string()),
  exit_code: z.optional(z.nullable(z.number().check(z.int()))),
  status: z.optional(z.string()),
});
export type CommandItem = z.infer<typeof CommandItem>;

export const FileChangeItem = z.looseObject({
  id: Id,
  type: z.literal('file_change'),
  changes: z.catch(z.array(z.looseObject({ path: z.string(), kind: z.string() })), []),
  status: z.optional(z.string()),
});
export type FileChangeItem = z.infer<typeof FileChangeItem>;

export const MessageItem = z.looseObject({
  id: Id,
  type: z.enum(['agent_message', 'reasoning']),
  text: Text,
});

export const ErrorItem = z.looseObject({
  id: Id,
  type: z.literal('error'),
  message: Text,
});

/** Any other item (mcp_tool_call, web_search, todo_list, plan, …): kept, shown by its type. */
export const OtherItem = z.looseObject({ id: Id, type: z.string() });

export const Item = z.union([CommandItem, FileChangeItem, MessageItem, ErrorItem, OtherItem]);
export type Item = z.infer<typeof Item>;

/** The usage of turn.completed has the envelope's usage fields (codex does not total them). */
export const TurnUsage = Usage;
export type TurnUsage = z.infer<typeof TurnUsage>;

export const CodexEvent = z.union([
  z.looseObject({ type: z.literal('thread.started'), thread_id: z.string() }),
  z.looseObject({ type: z.literal('turn.started') }),
  z.looseObject({ type: z.literal('turn.completed'), usage: z.optional(TurnUsage) }),
  z.looseObject({ type: z.literal('turn.failed'), error: z.optional(z.looseObject({ message: Text })) }),
  z.looseObject({ type: z.enum(['item.started', 'item.updated', 'item.completed']), item: Item }),
  /** A top-level error is a notice (a retry, a reconnect), not the end of the turn. */
  z.looseObject({ type: z.literal('error'), message: Text }),
  z.looseObject({ type: z.string() }),
]);
export type CodexEvent = z.infer<typeof CodexEvent>;

/** One stdout line as an event; undefined when it is not a JSON object with a string `type`. */
export function parseEvent(line: string): CodexEvent | undefined {
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return undefined;
  }
  const parsed = CodexEvent.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

// Narrowing helpers: the union's catch-all members make plain `type` checks too weak for TS.
export function isItemEvent(e: CodexEvent): e is CodexEvent & { type: 'item.started' | 'item.updated' | 'item.completed'; item: Item } {
  return (e.type === 'item.started' || e.type === 'item.updated' || e.type === 'item.completed') && 'item' in e;
}
export function asCommand(item: Item): CommandItem | undefined {
  const parsed = CommandItem.safeParse(item);
  return parsed.success ? parsed.data : undefined;
}
export function asFileChange(item: Item): FileChangeItem | undefined {
  const parsed = FileChangeItem.safeParse(item);
  return parsed.success ? parsed.data : undefined;
}
function textOf(value: unknown, key: string): string {
  if (typeof value !== 'object' || value === null) return '';
  const v = (value as Record<string, unknown>)[key];
  return typeof v === 'string' ? v : '';
}
export function eventMessage(e: CodexEvent): string {
  if (e.type === 'turn.failed') return textOf((e as { error?: unknown }).error, 'message');
  return textOf(e, 'message');
}

/**
 * `/bin/bash -lc 'printf hi > NOTES.md'` -> `printf hi > NOTES.md`: what the agent asked for.
 * codex quotes the script in single quotes, or in double quotes when it holds a single quote.
 */
export function unwrapCommand(command: string): string {
  const m = /^(?:\/usr)?\/bin\/(?:ba|z)?sh -l?c ([\s\S]*)$/.exec(command);
  const arg = m?.[1];
  if (arg === undefined || arg.length < 2) return command;
  if (arg.startsWith("'") && arg.endsWith("'")) return arg.slice(1, -1).replace(/'\\''/g, "'");
  if (arg.startsWith('"') && arg.endsWith('"')) return arg.slice(1, -1).replace(/\\([\\"$`])/g, '$1');
  return command;
}

/** An error message that is a raw JSON error body (`{"error":{"message":…}}`, as codex passes on an HTTP 400) -> its message. */
export function plainMessage(text: string): string {
  const trimmed = text.trim();
  if (!trimmed.startsWith('{')) return text;
  try {
    const body: unknown = JSON.parse(trimmed);
    const error = typeof body === 'object' && body !== null ? (body as Record<string, unknown>).error : undefined;
    const message = textOf(error, 'message') || textOf(body, 'message');
    return message || text;
  } catch {
    return text;
  }
}

/** A command the agent ran that failed (status failed or declined, or a non-zero exit code). */
export function failedCommand(item: CommandItem): { command: string; exit_code: number | null } | undefined {
  const exit = item.exit_code ?? null;
  const failed = item.status === 'failed' || item.status === 'declined' || (exit !== null && exit !== 0);
  return failed ? { command: unwrapCommand(item.command), exit_code: exit } : undefined;
}

/** Control characters and escape sequences out, one line, at most `max` characters. */
export function oneLine(text: string, max = 200): string {
  const clean = text
    .replace(/\x1b\[[0-9;?]*[ -/]*[@-~]/g, '')
    .replace(/[\x00-\x08\x0b-\x1f\x7f]/g, '')
    .replace(/\s*\n\s*/g, ' ⏎ ')
    .trim();
  return clean.length > max ? `${clean.slice(0, max - 1)}…` : clean;
}

function lastLine(text: string | undefined): string {
  return (text ?? '').trim().split('\n').filter((l) => l.trim() !== '').at(-1) ?? '';
}

function shortPath(path: string, cwd: string): string {
  if (!isAbsolute(path)) return path;
  const rel = relative(cwd, path);
  return rel === '' || rel.startsWith('..') ? path : rel;
}

/**
 * The lines people see for one event (none for events not worth a line). Commands show when
 * they start and how they ended; file changes, the agent's messages, notices and the turn's end.
 */
export function renderEvent(e: CodexEvent, cwd: string): string[] {
  switch (e.type) {
    case 'thread.started':
      return [`thread ${textOf(e, 'thread_id')}`];
    case 'turn.completed': {
      const u = TurnUsage.safeParse((e as { usage?: unknown }).usage);
      const tokens = u.success ? `: ${u.data.input_tokens ?? 0} input tokens, ${u.data.output_tokens ?? 0} output` : '';
      return [`turn completed${tokens}`];
    }
    case 'turn.failed':
      return [`turn failed: ${oneLine(eventMessage(e), 400)}`];
    case 'error':
      return [`notice: ${oneLine(eventMessage(e), 300)}`];
  }
  if (!isItemEvent(e) || e.type === 'item.updated') return [];
  const item = e.item;
  const command = asCommand(item);
  if (command) {
    const cmd = oneLine(unwrapCommand(command.command), 160);
    if (e.type === 'item.started') return [`$ ${cmd}`];
    const failed = failedCommand(command);
    if (!failed) return [`  ok (exit ${command.exit_code ?? 0}): ${cmd}`];
    if (command.status === 'declined') return [`  declined: ${cmd}`];
    const why = oneLine(lastLine(command.aggregated_output), 160);
    return [`  failed (exit ${failed.exit_code ?? '?'}): ${cmd}${why ? ` — ${why}` : ''}`];
  }
  if (e.type !== 'item.completed') return [];
  const change = asFileChange(item);
  if (change) {
    if (change.status === 'failed') return [`edit failed: ${change.changes.map((c) => shortPath(c.path, cwd)).join(', ')}`];
    return [`edited: ${change.changes.map((c) => `${c.kind} ${shortPath(c.path, cwd)}`).join(', ')}`];
  }
  switch (item.type) {
    case 'agent_message':
      return [`codex: ${oneLine(textOf(item, 'text'), 400)}`];
    case 'reasoning':
      return [`thinking: ${oneLine(textOf(item, 'text'), 160)}`];
    case 'error':
      return [`warning: ${oneLine(textOf(item, 'message'), 300)}`];
    case 'web_search':
      return [`web search: ${oneLine(textOf(item, 'query'), 160)}`];
    case 'mcp_tool_call':
      return [`tool ${oneLine(`${textOf(item, 'server')}.${textOf(item, 'tool')}`, 100)}: ${textOf(item, 'status') || 'done'}`];
    default:
      return [];
  }
}
