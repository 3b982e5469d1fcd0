/**
 * jgo-gate: asks the model whether the request is executable and for a prompt written for codex,
 * then fixes the repository the rest of the pipeline works on.
 */
import * as z from '../zod.js';
import type OpenAI from 'openai';
import { ENVELOPE_VERSION, addUsage, newRunId, type Continue, type Envelope, type Gate, type Usage } from '../envelope.js';
import { parseModelJson } from '../model-json.js';
import { EXIT, JgoError, UsageError } from '../errors.js';
import { authorityOf, configOf, openAISettings } from '../config.js';
import { createClient, llmError, llmOptions } from '../llm.js';
import { findRepoRefs, refuseReason, resolveRepoRef, sameRepo } from '../repo-ref.js';
import { checkRepoAllowed } from '../authority.js';
import type { StageContext, StageSpec } from '../stage.js';

export const GATE_SYSTEM_PROMPT = `You are the gate of jgo, a tool that turns one chat request into changes on a git repository, made by the Codex coding agent working unattended in a fresh checkout.

Decide whether the request can be executed as a change to one git repository, and if so rewrite it as a prompt for Codex.

A request is executable when it names one repository (owner/repo or an http(s) URL) and asks for a concrete change to its files that an agent can make without asking questions. It is not executable when it names no repository, asks only a question, is too vague to act on, or asks for something harmful or destructive (deleting history, leaking secrets, attacking systems).

Reply with only a JSON object, no prose and no code fences:
{"executable": true or false,
 "reason": "one sentence: why it is or is not executable",
 "repo_ref": "the repository exactly as named in the request (owner/repo or URL), or an empty string",
 "optimized_prompt": "for an executable request: a clear, self-contained task for Codex in the imperative, stating the goal, the files or areas likely involved, constraints and how to check the work; empty when not executable"}`;

/** What the model must answer; an executable answer needs a prompt for codex. */
export const GateReply = z
  .object({
    executable: z.boolean(),
    reason: z._default(z.string(), ''),
    repo_ref: z.pipe(z.nullish(z.string()), z.transform((v) => (v ?? '').trim())),
    optimized_prompt: z.pipe(z.nullish(z.string()), z.transform((v) => (v ?? '').trim())),
  })
  .check(
    z.refine((r) => !r.executable || r.optimized_prompt.length > 0, {
      message: 'optimized_prompt must not be empty when executable is true',
      path: ['optimized_prompt'],
    }),
  );
export type GateReply = z.infer<typeof GateReply>;

const CORRECTION =
  'Your reply was not a JSON object with the fields executable (boolean), reason, repo_ref and optimized_prompt (strings). Reply again with only that JSON object.';

export function parseGateReply(content: string): { reply?: GateReply; problem?: string } {
  let value: unknown;
  try {
    value = parseModelJson(content);
  } catch {
    return { problem: 'not valid JSON' };
  }
  const parsed = GateReply.safeParse(value);
  if (!parsed.success) return { problem: parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') };
  return { reply: parsed.data };
}

export interface GateDeps {
  /** Injected by unit tests that want a client of their own; the default is the real SDK. */
  client?: OpenAI;
}

/**
 * What the model is asked: the request, and for a follow-up the thread so far first, so that
 * "also add tests" is judged (and rewritten for codex) knowing what it adds to.
 */
export function gateQuestion(request: string, follow: Continue | undefined): string {
  if (!follow) return request;
  const repo = follow.repo ? ` in the repository ${follow.repo.ref}` : '';
  const done = (follow.history ?? []).map((run, i) => {
    const commits = run.commits.map((c) => `   - ${c.subject.replace(/\s+/g, ' ').slice(0, 200)}`).join('\n');
    return `${i + 1}. Request: ${JSON.stringify(run.request.slice(0, 2000))}\n${commits || '   (no commits)'}`;
  });
  return [
    `This is a follow-up in a conversation whose work is on the branch ${follow.branch}${repo}. The new request adds to that work; when it names no repository, the conversation's is meant, and repo_ref is "${follow.repo?.ref ?? ''}".`,
    ...(done.length > 0 ? ['What the conversation asked for so far, and the commits each request made:', ...done] : []),
    'The new request:',
    request,
  ].join('\n');
}

/** Two attempts at most: the answer, and one correction if it was not the JSON we asked for. */
async function askModel(client: OpenAI, model: string, question: string): Promise<{ reply: GateReply; usage: Usage; durationMs: number }> {
  const messages: OpenAI.ChatCompletionMessageParam[] = [
    { role: 'system', content: GATE_SYSTEM_PROMPT },
    { role: 'user', content: question },
  ];
  let usage: Usage = {};
  let content = '';
  // What the gate waited for the model's answers, the SDK's own retries included: the model's
  // latency as a user sees it (jgo show). Against a model nearby, most of it is the SDK's first
  // request in a fresh process, so the overhead figure counts the model server's time instead.
  let waited = 0;
  for (let attempt = 1; attempt <= 2; attempt++) {
    const asked = performance.now();
    const completion = await client.chat.completions.create({
      model,
      messages,
      response_format: { type: 'json_object' },
    });
    waited += performance.now() - asked;
    const used = completion.usage;
    if (used) usage = addUsage(usage, { input_tokens: used.prompt_tokens, output_tokens: used.completion_tokens, total_tokens: used.total_tokens });
    content = completion.choices[0]?.message?.content ?? '';
    const { reply } = parseGateReply(content);
    if (reply) return { reply, usage, durationMs: Math.round(waited) };
    messages.push({ role: 'assistant', content }, { role: 'user', content: CORRECTION });
  }
  const quoted = content.length > 200 ? `${content.slice(0, 200)}…` : content;
  throw new JgoError('bad_gate_reply', `the model did not answer with the gate's JSON object, twice; last reply: ${JSON.stringify(quoted)}`, EXIT.failed, {
    hint: 'Try a model that follows JSON instructions (MODEL), or check what the endpoint returns.',
  });
}

/** Refuses a request too long to be a chat request, before any model call (exit 2). */
function checkRequestSize(request: string, context: StageContext): void {
  const max = configOf(context.settings).JGO_MAX_REQUEST_BYTES;
  const bytes = Buffer.byteLength(request);
  if (bytes > max) {
    throw new UsageError('request_too_large', `the request is ${bytes} bytes, over JGO_MAX_REQUEST_BYTES=${max}`, {
      hint: 'Shorten the request, or raise JGO_MAX_REQUEST_BYTES.',
    });
  }
}

/**
 * The repository the run works on: one the request itself names (docs/security.md). The
 * model's `repo_ref` is taken only when it is one of the request's references once both are
 * normalized; an empty one means the request's first. A request that names none is refused:
 * the model may not pick a repository the user did not name.
 */
function chooseRepo(reply: GateReply, request: string, baseUrl: string, follow: Continue | undefined, refuse: (reason: string, code?: 'not_executable' | 'repo_mismatch') => never): string {
  const named = findRepoRefs(request);
  const thread = follow?.repo?.ref;
  if (thread !== undefined) {
    // A follow-up stays in its thread's repository: the one its first request named.
    const elsewhere = named.find((n) => !sameRepo(n, thread, baseUrl));
    if (elsewhere !== undefined) refuse(`a follow-up stays in its thread's repository ${thread}; the request names ${elsewhere.slice(0, 100)}`, 'repo_mismatch');
    if (reply.repo_ref !== '' && (refuseReason(reply.repo_ref) !== undefined || !sameRepo(reply.repo_ref, thread, baseUrl))) {
      refuse(`the model chose ${JSON.stringify(reply.repo_ref.slice(0, 100))}, not the thread's repository ${thread}`, 'repo_mismatch');
    }
    return thread;
  }
  if (named.length === 0) refuse('the request names no repository (owner/repo or an https:// URL)');
  const ref = reply.repo_ref;
  if (ref === '') return named[0]!;
  const match = refuseReason(ref) === undefined ? named.find((n) => sameRepo(n, ref, baseUrl)) : undefined;
  if (match === undefined) {
    refuse(`the model chose ${JSON.stringify(ref.slice(0, 100))}, which the request does not name (it names ${named.slice(0, 3).join(', ')})`, 'repo_mismatch');
  }
  return match;
}

export async function gate(envelope: Envelope, context: StageContext, deps: GateDeps = {}): Promise<Envelope> {
  const request = envelope.request?.trim() ?? '';
  if (request === '') {
    throw new UsageError('no_request', 'no request: give it as arguments, as text on stdin, or as an envelope with "request"');
  }
  checkRequestSize(request, context);
  const settings = context.settings;
  const openai = openAISettings(settings);
  const authority = authorityOf(settings);
  const options = llmOptions(settings);
  const run_id = envelope.run_id ?? newRunId();
  const model = openai.model.value;

  let answer: { reply: GateReply; usage: Usage; durationMs: number };
  try {
    const client = deps.client ?? (await createClient(openai, options));
    answer = await askModel(client, model, gateQuestion(request, envelope.continue));
  } catch (error) {
    throw await llmError(error, openai.baseURL.value);
  }
  const { reply, usage, durationMs } = answer;
  context.log(`${reply.executable ? 'executable' : 'not executable'} (${model}, ${durationMs} ms): ${reply.reason}`);

  const gateResult: Gate = { ...reply, model, usage, duration_ms: durationMs };
  const base = { ...envelope, run_id, request };
  // The envelope keeps the model's answer, marked not executable, whatever refused it.
  const refuse = (reason: string, code: 'not_executable' | 'repo_mismatch' = 'not_executable'): never => {
    const refused: Gate = { ...gateResult, executable: false, reason };
    throw new JgoError(code, code === 'not_executable' ? `not executable: ${reason}` : reason, EXIT.refused, {
      patch: { ...base, gate: refused },
      ...(code === 'repo_mismatch' ? { hint: 'Name the repository in the request as owner/repo or a URL: jgo works only on one the request names.' } : {}),
    });
  };
  if (!reply.executable) refuse(reply.reason || 'the model judged the request not executable');

  const repo = resolveRepoRef(chooseRepo(reply, request, authority.baseUrl, envelope.continue, refuse), authority.baseUrl);
  checkRepoAllowed(authority, repo.url);
  return { ...base, gate: { ...gateResult, repo_ref: repo.ref }, repo };
}

export const GATE_USAGE = 'jgo-gate "owner/repo what to change"  |  echo "owner/repo what to change" | jgo-gate';

/** The stage as the harness runs it; `words` is the request given as arguments, if any. */
export function gateStage(words: readonly string[] = [], deps: GateDeps = {}): StageSpec {
  return {
    name: 'gate',
    usage: GATE_USAGE,
    plainText: true,
    ...(words.length > 0 ? { input: { jgo: ENVELOPE_VERSION, request: words.join(' ') } } : {}),
    run: (envelope, context) => gate(envelope, context, deps),
  };
}
