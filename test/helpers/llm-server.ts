/**
 * A loopback server that speaks just enough of the Chat Completions API for the gate, reached
 * by the real openai SDK. Each POST takes the next scripted reply; every request is recorded.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LlmReply =
  /** A normal completion whose message content is this text (use JSON.stringify for objects). */
  | { content: string; delayMs?: number }
  /** An HTTP error with an OpenAI-shaped error body. */
  | { status: number; message?: string }
  /** Never answers (until the server closes): for timeouts. */
  | { hang: true };

export interface RecordedRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: unknown;
}

export interface LlmServer {
  /** Base URL including /v1, as OPENAI_BASE_URL expects. */
  url: string;
  requests: RecordedRequest[];
  /**
   * When each request was being answered, from its arrival to the end of its response, in epoch
   * ms with fractions (the model's own time, as overhead.js counts it).
   */
  spans: Array<{ started: number; ended: number }>;
  /** Scripted replies not yet used. */
  remaining: () => number;
  close: () => Promise<void>;
}

/** Models listed by GET /v1/models. */
export const LISTED_MODELS = ['gpt-test-mini', 'gpt-test'];

export function gateAnswer(fields: { executable: boolean; reason?: string; repo_ref?: string; optimized_prompt?: string }): LlmReply {
  return {
    content: JSON.stringify({
      reason: fields.executable ? 'a concrete change to one repository' : 'no concrete change',
      repo_ref: '',
      optimized_prompt: fields.executable ? 'Make the change.' : '',
      ...fields,
    }),
  };
}

export async function startLlmServer(script: LlmReply[]): Promise<LlmServer> {
  const queue = [...script];
  const requests: RecordedRequest[] = [];
  const spans: LlmServer['spans'] = [];
  const hanging = new Set<ServerResponse>();
  const now = () => performance.timeOrigin + performance.now();

  const server = createServer((req, res) => {
    const span = { started: now(), ended: 0 };
    spans.push(span);
    res.on('close', () => (span.ended = now()));
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      let body: unknown = text;
      try {
        body = text === '' ? undefined : JSON.parse(text);
      } catch {
        /* keep the raw text */
      }
      const path = (req.url ?? '/').split('?')[0] ?? '/';
      requests.push({ method: req.method ?? 'GET', path, headers: req.headers, body });
      const send = (status: number, payload: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(payload));
      };
      if (req.method === 'GET' && path === '/v1/models') {
        send(200, { object: 'list', data: LISTED_MODELS.map((id) => ({ id, object: 'model', created: 0, owned_by: 'test' })) });
        return;
      }
      if (req.method !== 'POST' || path !== '/v1/chat/completions') {
        send(404, { error: { message: `no route ${req.method} ${path}`, type: 'not_found' } });
        return;
      }
      const reply = queue.shift();
      if (!reply) {
        send(500, { error: { message: 'the test scripted no more replies', type: 'server_error' } });
        return;
      }
      if ('hang' in reply) {
        hanging.add(res);
        return;
      }
      if ('status' in reply) {
        send(reply.status, { error: { message: reply.message ?? `scripted ${reply.status}`, type: 'server_error' } });
        return;
      }
      const model = (body as { model?: string } | undefined)?.model ?? 'unknown';
      const answer = () =>
        send(200, {
          id: `chatcmpl-${requests.length}`,
          object: 'chat.completion',
          created: Math.floor(Date.now() / 1000),
          model,
          choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: reply.content } }],
          usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120 },
        });
      if (reply.delayMs) setTimeout(answer, reply.delayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    spans,
    remaining: () => queue.length,
    close: async () => {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
