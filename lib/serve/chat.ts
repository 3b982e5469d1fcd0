/**
 * The OpenAI Chat Completions shapes `jgo serve` speaks: the request it reads (loosely: clients
 * send much more), the conversation's request and thread, and the completion and stream chunks it
 * answers with. A conversation is a thread: every answer that pushed a branch ends with a marker
 * naming its run, and the newest marker in the history the client sends back is the run a new
 * message follows up.
 */
import { randomUUID } from 'node:crypto';
import * as z from '../zod.js';
import { RUN_ID_FORMAT } from '../envelope.js';

/** The one model `jgo serve` offers. */
export const MODEL_ID = 'jgo';

const Part = z.looseObject({ type: z.string(), text: z.optional(z.string()) });
const Message = z.looseObject({
  role: z.string(),
  content: z.optional(z.nullable(z.union([z.string(), z.array(Part)]))),
});
export const ChatRequest = z.looseObject({
  model: z.optional(z.string()),
  messages: z.array(Message).check(z.minLength(1, 'messages must hold at least one message')),
  stream: z.optional(z.nullable(z.boolean())),
});
export type ChatRequest = z.infer<typeof ChatRequest>;

/** A message's text: a string, or its text parts joined (images and the like are left out). */
function textOf(message: z.infer<typeof Message>): string {
  const content = message.content;
  if (typeof content === 'string') return content;
  return (content ?? []).filter((p) => p.type === 'text' && typeof p.text === 'string').map((p) => p.text).join('\n');
}

/** `[jgo run 20261207-120000-ab12 · jgo/20261207-120000 · https://…/pull/7]`, the end of an answer. */
export function marker(runId: string, branch: string | undefined, pr: string | undefined): string {
  return `[jgo run ${[runId, branch, pr].filter((x) => x !== undefined).join(' · ')}]`;
}

const MARKER = /\[jgo run (\d{8}-\d{6}-[0-9a-f]{4})\b/g;

export interface Turn {
  /** The last user message: the request. */
  request: string;
  /** The run the newest marker in the assistant's earlier answers names: this turn follows it up. */
  follows: string | undefined;
}

/** What the conversation asks now, and which run (if any) it follows up. */
export function turnOf(chat: ChatRequest): Turn {
  const last = [...chat.messages].reverse().find((m) => m.role === 'user');
  const request = last ? textOf(last).trim() : '';
  let follows: string | undefined;
  for (const message of chat.messages) {
    if (message.role !== 'assistant') continue;
    for (const m of textOf(message).matchAll(MARKER)) if (RUN_ID_FORMAT.test(m[1]!)) follows = m[1];
  }
  return { request, follows };
}

export interface Completion {
  id: string;
  created: number;
}

export function newCompletion(): Completion {
  return { id: `chatcmpl-${randomUUID().replace(/-/g, '')}`, created: Math.floor(Date.now() / 1000) };
}

/** A whole answer, for a request without `stream`. */
export function completionBody(c: Completion, content: string): unknown {
  return {
    id: c.id,
    object: 'chat.completion',
    created: c.created,
    model: MODEL_ID,
    choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }],
    usage: { prompt_tokens: 0, completion_tokens: 0, total_tokens: 0 },
  };
}

/** One server-sent event of a streamed answer: a piece of the message, or its end. */
export function chunk(c: Completion, delta: { role?: 'assistant'; content?: string }, finish: 'stop' | null = null): string {
  const body = { id: c.id, object: 'chat.completion.chunk', created: c.created, model: MODEL_ID, choices: [{ index: 0, delta, finish_reason: finish }] };
  return `data: ${JSON.stringify(body)}\n\n`;
}

export const STREAM_END = 'data: [DONE]\n\n';

/** OpenAI's error shape, which the SDKs read. */
export function errorBody(message: string, type: string, code: string | null = null, param: string | null = null): unknown {
  return { error: { message, type, param, code } };
}
