/**
 * POST /v1/chat/completions: a chat turn is a run. The last user message is the request; the
 * newest run marker in the history makes it a follow-up of that run's thread. The run is queued;
 * a streamed answer says its place, then the run's progress lines, then the result. A client that
 * goes away does not stop the run: its result stays in the journal (GET /v1/runs/{run_id}).
 */
import type { FastifyReply, FastifyRequest } from 'fastify';
import { describeIssues, newRunId, type Usage } from '../envelope.js';
import { Journal, threadOf } from '../run/journal.js';
import { ChatRequest, chunk, completionBody, errorBody, MODEL_ID, newCompletion, STREAM_END, turnOf, type Completion } from './chat.js';
import { finalMessage } from './answer.js';
import { outcomeOf } from './metrics.js';
import { startRun, type RunOutcome } from './runner.js';
import type { ServeState } from './state.js';

/** How often an idle stream gets an SSE comment, so that proxies keep it open. */
const HEARTBEAT_MS = 15_000;
/** What a full queue tells the client to wait: runs take minutes. */
const RETRY_AFTER_S = 60;

/** Where the answer goes: an event stream written as the run goes, or one completion at its end. */
interface Answer {
  line(text: string): void;
  end(text: string): void;
}

function streamAnswer(reply: FastifyReply, c: Completion, runId: string): Answer {
  reply.hijack();
  const raw = reply.raw;
  let open = true;
  raw.on('close', () => (open = false));
  raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no', 'x-jgo-run-id': runId });
  raw.write(chunk(c, { role: 'assistant', content: '' }));
  const beat = setInterval(() => open && raw.write(': keep-alive\n\n'), HEARTBEAT_MS);
  beat.unref();
  return {
    line: (text) => void (open && raw.write(chunk(c, { content: `${text}\n` }))),
    end: (text) => {
      clearInterval(beat);
      if (!open) return;
      raw.write(chunk(c, { content: `\n${text}` }));
      raw.write(chunk(c, {}, 'stop'));
      raw.end(STREAM_END);
    },
  };
}

function wholeAnswer(reply: FastifyReply, c: Completion, runId: string, done: () => void): Answer {
  return {
    line: () => {},
    end: (text) => {
      void reply.header('x-jgo-run-id', runId).send(completionBody(c, text));
      done();
    },
  };
}

/** The queue's key for a turn: the thread of the run it follows up, else a thread of its own. */
async function threadKey(state: ServeState, follows: string | undefined, runId: string): Promise<string> {
  if (follows === undefined) return runId;
  const journal = await Journal.open(state.cache, follows);
  return journal ? threadOf(journal.record) : follows;
}

export async function chatTurn(state: ServeState, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
  const parsed = ChatRequest.safeParse(request.body);
  if (!parsed.success) return reply.code(400).send(errorBody(describeIssues(parsed.error), 'invalid_request_error', 'invalid_body'));
  if (parsed.data.model !== undefined && parsed.data.model !== MODEL_ID) {
    return reply.code(404).send(errorBody(`The model \`${parsed.data.model.slice(0, 100)}\` does not exist: jgo serves the model \`${MODEL_ID}\`.`, 'invalid_request_error', 'model_not_found', 'model'));
  }
  const turn = turnOf(parsed.data);
  if (turn.request === '') return reply.code(400).send(errorBody('the last user message is empty: it is the request', 'invalid_request_error', 'invalid_body', 'messages'));
  if (state.draining) return reply.code(503).header('retry-after', '30').send(errorBody('jgo serve is restarting: send the request again shortly', 'server_error', 'shutting_down'));
  if (state.queue.depth >= state.queue.max) {
    state.metrics.runs.inc({ outcome: 'rejected' });
    return reply.code(429).header('retry-after', String(RETRY_AFTER_S)).send(errorBody(`jgo is busy: ${state.queue.depth} requests are waiting; try again later`, 'rate_limit_error', 'queue_full'));
  }
  const runId = newRunId();
  const key = await threadKey(state, turn.follows, runId);
  const c = newCompletion();
  let finished: () => void = () => {};
  const replied = new Promise<void>((resolve) => (finished = resolve));
  const answer = parsed.data.stream === true ? streamAnswer(reply, c, runId) : wholeAnswer(reply, c, runId, finished);
  if (parsed.data.stream === true) finished();
  const added = state.queue.add({
    key,
    start: () => execute(state, { runId, request: turn.request, follows: turn.follows }, answer),
    cancel: () => answer.end('jgo serve stopped before this request started; nothing was run. Send it again.'),
    onPosition: (place) => answer.line(place === 1 ? 'waiting: next in the queue' : `waiting: ${place} in the queue`),
  });
  if (!added) answer.end('jgo serve could not take the request: send it again.');
  return replied;
}

async function execute(state: ServeState, req: { runId: string; request: string; follows: string | undefined }, answer: Answer): Promise<void> {
  const began = performance.now();
  const handle = startRun(req, state.runner, (line) => answer.line(line), () => {});
  state.handles.add(handle);
  let outcome: RunOutcome;
  try {
    outcome = await handle.done;
  } finally {
    state.handles.delete(handle);
  }
  const interrupted = state.interrupting && outcome.exitCode !== 0;
  state.metrics.runs.inc({ outcome: outcomeOf(outcome.exitCode, interrupted) });
  state.metrics.duration.observe((performance.now() - began) / 1000);
  countTokens(state, outcome);
  if (interrupted) {
    answer.end(`jgo serve is restarting: run ${req.runId} was interrupted, and can be continued with \`jgo resume ${req.runId}\`.`);
    return;
  }
  answer.end(finalMessage({ runId: req.runId, exitCode: outcome.exitCode, envelope: outcome.envelope, followUp: req.follows !== undefined }));
}

function countTokens(state: ServeState, outcome: RunOutcome): void {
  const env = outcome.envelope;
  const spent: Array<[string, Usage | undefined]> = [['gate', env?.gate?.usage], ['codex', env?.codex?.usage], ['ship', env?.ship?.plan_usage]];
  for (const [stage, usage] of spent) {
    const total = usage?.total_tokens ?? (usage?.input_tokens ?? 0) + (usage?.output_tokens ?? 0);
    if (total > 0) state.metrics.tokens.inc({ stage }, total);
  }
}
