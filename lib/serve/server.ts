/**
 * The HTTP side of `jgo serve`, on fastify: body limits, timeouts, content-type parsing and
 * routing are the framework's; jgo adds OpenAI's error shape, bearer keys, and the routes.
 *
 *   POST /v1/chat/completions   a chat turn is a run (chat-turn.ts)
 *   GET  /v1/models             the model `jgo`
 *   GET  /v1/runs[/{run_id}]    the journal, as `jgo runs --json` and `jgo show --json` give it
 *   GET  /healthz, /readyz      alive; ready (settings, cache, codex)
 *   GET  /metrics               Prometheus
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { join } from 'node:path';
import Fastify, { type FastifyError, type FastifyInstance } from 'fastify';
import { RUN_ID_FORMAT } from '../envelope.js';
import { configOf } from '../config.js';
import { resolveBin } from '../codex/args.js';
import { Journal } from '../run/journal.js';
import { listRuns, runReport } from '../run/commands.js';
import { errorBody, MODEL_ID } from './chat.js';
import { chatTurn } from './chat-turn.js';
import type { ServeState } from './state.js';

/** OpenAI's limit is larger; a chat request to jgo is a request and its history. */
export const BODY_LIMIT = 1024 * 1024;

const digest = (key: string) => createHash('sha256').update(key).digest();

/** Whether `given` is one of the keys: every key compared in constant time, none skipped. */
export function keyMatches(keys: readonly string[], given: string): boolean {
  const d = digest(given);
  let found = false;
  for (const key of keys) found = timingSafeEqual(digest(key), d) || found;
  return found;
}

const OPEN = new Set(['/healthz', '/readyz']);

export function buildServer(state: ServeState): FastifyInstance {
  // A client gets JGO_SERVE_REQUEST_TIMEOUT_S to send its whole request (a stalled upload is cut
  // off with 408), checked every second; answers, which take as long as a run, have no limit.
  const requestTimeout = configOf(state.settings).JGO_SERVE_REQUEST_TIMEOUT_S * 1000;
  const app = Fastify({
    logger: false,
    bodyLimit: BODY_LIMIT,
    return503OnClosing: true,
    forceCloseConnections: 'idle',
    serverFactory: (handler) => createServer({ requestTimeout, headersTimeout: requestTimeout, connectionsCheckingInterval: 1000 }, handler),
  });

  app.addHook('onRequest', async (request, reply) => {
    const path = request.url.split('?')[0] ?? '';
    if (state.keys.length === 0 || OPEN.has(path)) return;
    const given = /^Bearer (\S+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (given === undefined || !keyMatches(state.keys, given)) {
      return reply.code(401).header('www-authenticate', 'Bearer').send(errorBody('Incorrect API key provided: send Authorization: Bearer <one of JGO_SERVE_API_KEYS>.', 'invalid_request_error', 'invalid_api_key'));
    }
  });
  app.addHook('onResponse', async (request, reply) => {
    const run = reply.getHeader('x-jgo-run-id');
    state.log(`${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 100)} ${reply.statusCode}${run ? ` run ${String(run)}` : ''}`);
  });
  app.setErrorHandler((error: FastifyError, _request, reply) => {
    const status = error.statusCode ?? 500;
    if (status === 413) return reply.code(413).send(errorBody(`the request body is larger than ${BODY_LIMIT} bytes`, 'invalid_request_error', 'body_too_large'));
    if (status >= 400 && status < 500) {
      const message = error.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE' ? 'send the request as application/json' : 'the request body is not valid JSON';
      return reply.code(status).send(errorBody(message, 'invalid_request_error', 'invalid_body'));
    }
    state.log(`internal error: ${state.redact.text(error.message)}`);
    return reply.code(500).send(errorBody('internal error in jgo serve', 'server_error'));
  });
  app.setNotFoundHandler((request, reply) => reply.code(404).send(errorBody(`no route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 100)}`, 'invalid_request_error', 'not_found')));

  app.post('/v1/chat/completions', (request, reply) => chatTurn(state, request, reply));
  app.get('/v1/models', async () => ({ object: 'list', data: [{ id: MODEL_ID, object: 'model', created: 0, owned_by: 'jgo' }] }));
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_request, reply) => {
    const checks = await readiness(state);
    return reply.code(Object.values(checks).every((c) => c === 'ok') ? 200 : 503).send({ status: Object.values(checks).every((c) => c === 'ok') ? 'ready' : 'not ready', checks });
  });
  app.get<{ Querystring: { limit?: string } }>('/v1/runs', async (request) => {
    const limit = Math.min(200, Math.max(1, Number(request.query.limit ?? 20) || 20));
    return { object: 'list', data: await listRuns(state.cache, limit) };
  });
  app.get<{ Params: { id: string } }>('/v1/runs/:id', async (request, reply) => {
    const journal = RUN_ID_FORMAT.test(request.params.id) ? await Journal.open(state.cache, request.params.id) : undefined;
    if (!journal) return reply.code(404).send(errorBody(`no run ${request.params.id.slice(0, 40)}`, 'invalid_request_error', 'run_not_found'));
    return runReport(state.cache, journal);
  });
  app.get('/metrics', async (_request, reply) => reply.header('content-type', state.metrics.registry.contentType).send(await state.metrics.registry.metrics()));
  return app;
}

/** What /readyz checks: the settings still parse, the cache takes a file, codex is there. */
async function readiness(state: ServeState): Promise<Record<string, string>> {
  const checks: Record<string, string> = {};
  try {
    const config = configOf(state.settings);
    checks.settings = 'ok';
    checks.codex = resolveBin(config.CODEX_BIN, state.env, state.cwd) ? 'ok' : `CODEX_BIN=${config.CODEX_BIN} not found`;
  } catch {
    checks.settings = 'invalid (jgo doctor says which)';
  }
  const probe = join(state.cache, `.readyz-${process.pid}`);
  try {
    await mkdir(state.cache, { recursive: true });
    await writeFile(probe, 'ok');
    await rm(probe, { force: true });
    checks.cache = 'ok';
  } catch {
    checks.cache = `${state.cache} is not writable`;
  }
  return checks;
}
