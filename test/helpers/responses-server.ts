/**
 * A scripted, loopback-only stand-in for the OpenAI Responses API, shaped the
 * way `codex exec` (0.169) consumes it: `POST /v1/responses` with
 * `stream: true`, answered with Server-Sent Events
 * (`response.created`, `response.output_item.added/done`,
 * `response.output_text.delta`, `response.completed` with `usage`).
 *
 * Each turn of the script answers the next `POST .../responses` request, in
 * order. Tool-call turns make codex run the tool and then send another request
 * (with the tool output in `input`), which the next turn answers; a final
 * `message` / `json` turn ends codex's turn.
 *
 * Everything codex sends is recorded in `requests`; anything that is not a
 * scripted Responses call (other paths, requests after the script ran out) is
 * also recorded in `unexpected`.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import zlib from 'node:zlib'

/** Run a shell command through whatever shell tool codex offers (exec_command, shell_command or shell). */
export interface ShellTurn {
  type: 'shell'
  /** argv (e.g. `['bash', '-lc', 'printf hi > NOTES.md']`) or one shell command line. */
  command: string[] | string
  workdir?: string
  /** Optional assistant preamble message emitted before the call. */
  preamble?: string
  reasoning?: string
}

/** Edit files with codex's `apply_patch` tool (freeform custom tool in 0.169 for catalog models). */
export interface ApplyPatchTurn {
  type: 'apply_patch'
  /** A `*** Begin Patch` ... `*** End Patch` envelope. */
  patch: string
  preamble?: string
  reasoning?: string
}

/** Final assistant message (ends codex's turn). */
export interface MessageTurn {
  type: 'message'
  text: string
  reasoning?: string
}

/** Final assistant message whose text is `JSON.stringify(value)` (for `--output-schema`). */
export interface JsonTurn {
  type: 'json'
  value: unknown
  reasoning?: string
}

/** The stream starts, then reports `response.failed` with this error. */
export interface FailedTurn {
  type: 'failed'
  message?: string
  /** e.g. `context_length_exceeded`, `insufficient_quota` (fatal in codex), or anything else (retryable). */
  code?: string
}

/** Plain HTTP error (no SSE), e.g. 400 (fatal) or 500/429 (retried by codex). */
export interface HttpErrorTurn {
  type: 'http_error'
  status: number
  message?: string
  code?: string
}

export type ResponsesTurn =
  | ShellTurn
  | ApplyPatchTurn
  | MessageTurn
  | JsonTurn
  | FailedTurn
  | HttpErrorTurn

export type ResponsesScript = ResponsesTurn[]

export interface ResponsesServerOptions {
  /** Token usage reported in every `response.completed`. */
  usage?: Partial<ResponsesUsage>
  /** What to do once the script is exhausted: answer with a final message (default) or an HTTP 500. */
  onExhausted?: 'message' | 'http_error'
}

export interface ResponsesUsage {
  input_tokens: number
  cached_tokens: number
  output_tokens: number
  reasoning_tokens: number
}

export interface RecordedRequest {
  method: string
  /** Path including the query string, e.g. `/v1/responses`. */
  path: string
  headers: http.IncomingHttpHeaders
  /** Raw (decompressed) body text. */
  body: string
  /** Parsed JSON body, or undefined if the body was empty or not JSON. */
  json: unknown
  /** Index of the script turn that answered it (only for Responses calls that were scripted). */
  turn?: number
  receivedAt: number
}

export interface ResponsesServer {
  /** `http://127.0.0.1:PORT/v1`: use as `model_providers.<id>.base_url`. */
  baseUrl: string
  port: number
  /** Every request received, in order. */
  requests: RecordedRequest[]
  /** Only the `POST .../responses` requests. */
  responsesRequests(): RecordedRequest[]
  /** Requests that were not scripted Responses calls (other paths, or beyond the end of the script). */
  unexpected: RecordedRequest[]
  /** How many script turns have been consumed. */
  turnsUsed(): number
  close(): Promise<void>
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json }
type JsonObject = { [key: string]: Json }

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

/** Names of the tools codex offered in a Responses request body, with their `type`. */
export function offeredTools(body: unknown): Map<string, string> {
  const out = new Map<string, string>()
  if (!isObject(body) || !Array.isArray(body.tools)) return out
  for (const tool of body.tools) {
    if (isObject(tool) && typeof tool.name === 'string' && typeof tool.type === 'string') {
      out.set(tool.name, tool.type)
    }
  }
  return out
}

/** All `input_text` / `output_text` strings of a request's `input`, in order (handy for prompt assertions). */
export function inputTexts(body: unknown): string[] {
  const texts: string[] = []
  if (!isObject(body) || !Array.isArray(body.input)) return texts
  for (const item of body.input) {
    if (!isObject(item)) continue
    if (Array.isArray(item.content)) {
      for (const part of item.content) {
        if (isObject(part) && typeof part.text === 'string') texts.push(part.text)
      }
    }
  }
  return texts
}

/** The `input` items of a request body of the given `type` (e.g. `function_call_output`). */
export function inputItems(body: unknown, type: string): Record<string, unknown>[] {
  if (!isObject(body) || !Array.isArray(body.input)) return []
  return body.input.filter((i): i is Record<string, unknown> => isObject(i) && i.type === type)
}

function shellQuote(arg: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`
}

/** Reduce an argv to one command line for tools that take a string. `['bash','-lc',X]` becomes `X`. */
function commandLine(command: string[] | string): string {
  if (typeof command === 'string') return command
  const [shell, flag, script, ...rest] = command
  if (
    shell !== undefined &&
    /(^|\/)(ba|z|da)?sh$/.test(shell) &&
    (flag === '-lc' || flag === '-c') &&
    script !== undefined &&
    rest.length === 0
  ) {
    return script
  }
  return command.map(shellQuote).join(' ')
}

function commandArgv(command: string[] | string): string[] {
  return typeof command === 'string' ? ['bash', '-lc', command] : command
}

function readBody(req: http.IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('error', reject)
    req.on('end', () => {
      const raw = Buffer.concat(chunks)
      const enc = String(req.headers['content-encoding'] ?? '').toLowerCase()
      try {
        if (enc === 'gzip') resolve(zlib.gunzipSync(raw).toString('utf8'))
        else if (enc === 'deflate') resolve(zlib.inflateSync(raw).toString('utf8'))
        else if (enc === 'br') resolve(zlib.brotliDecompressSync(raw).toString('utf8'))
        else resolve(raw.toString('utf8'))
      } catch {
        resolve(raw.toString('utf8'))
      }
    })
  })
}

function parseJson(text: string): unknown {
  if (text.length === 0) return undefined
  try {
    return JSON.parse(text) as unknown
  } catch {
    return undefined
  }
}

export async function startResponsesServer(
  script: ResponsesScript,
  options: ResponsesServerOptions = {},
): Promise<ResponsesServer> {
  const requests: RecordedRequest[] = []
  const unexpected: RecordedRequest[] = []
  let next = 0
  let seq = 0
  const usage: ResponsesUsage = {
    input_tokens: 100,
    cached_tokens: 0,
    output_tokens: 20,
    reasoning_tokens: 0,
    ...options.usage,
  }

  const id = (prefix: string): string => `${prefix}_${String(++seq).padStart(6, '0')}`

  const sendJson = (res: http.ServerResponse, status: number, value: Json): void => {
    const text = JSON.stringify(value)
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
    res.end(text)
  }

  const handleResponses = (rec: RecordedRequest, res: http.ServerResponse): void => {
    const turn = script[next]
    if (turn === undefined) {
      unexpected.push(rec)
      if (options.onExhausted === 'http_error') {
        sendJson(res, 500, { error: { message: 'responses-server: script exhausted', type: 'server_error', code: null } })
        return
      }
    } else {
      rec.turn = next
      next++
    }
    const t: ResponsesTurn = turn ?? { type: 'message', text: 'responses-server: script exhausted' }
    const body = rec.json
    const model = isObject(body) && typeof body.model === 'string' ? body.model : 'scripted-model'

    if (t.type === 'http_error') {
      sendJson(res, t.status, {
        error: { message: t.message ?? `scripted HTTP ${t.status}`, type: 'invalid_request_error', code: t.code ?? null, param: null },
      })
      return
    }

    const responseId = id('resp')
    const createdAt = Math.floor(Date.now() / 1000)
    const baseResponse = (status: string, output: Json[]): JsonObject => ({
      id: responseId,
      object: 'response',
      created_at: createdAt,
      status,
      model,
      output,
    })

    res.writeHead(200, {
      'content-type': 'text/event-stream',
      'cache-control': 'no-cache',
      connection: 'keep-alive',
    })
    let sequence = 0
    const emit = (event: JsonObject): void => {
      const type = String(event.type)
      res.write(`event: ${type}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence++ })}\n\n`)
    }
    emit({ type: 'response.created', response: baseResponse('in_progress', []) })

    if (t.type === 'failed') {
      emit({
        type: 'response.failed',
        response: {
          ...baseResponse('failed', []),
          error: { code: t.code ?? 'server_error', message: t.message ?? 'scripted failure' },
          usage: null,
        },
      })
      res.end()
      return
    }

    const output: Json[] = []
    let outputIndex = 0
    const pushItem = (item: JsonObject, textDeltas?: string): void => {
      const index = outputIndex++
      if (textDeltas !== undefined) {
        const added: JsonObject = { ...item, status: 'in_progress', content: [] }
        emit({ type: 'response.output_item.added', output_index: index, item: added })
        emit({
          type: 'response.output_text.delta',
          item_id: String(item.id),
          output_index: index,
          content_index: 0,
          delta: textDeltas,
        })
      } else {
        emit({ type: 'response.output_item.added', output_index: index, item })
      }
      emit({ type: 'response.output_item.done', output_index: index, item })
      output.push(item)
    }
    const pushMessage = (text: string): void => {
      pushItem(
        {
          type: 'message',
          id: id('msg'),
          status: 'completed',
          role: 'assistant',
          content: [{ type: 'output_text', text, annotations: [] }],
        },
        text,
      )
    }

    if (t.reasoning !== undefined) {
      pushItem({
        type: 'reasoning',
        id: id('rs'),
        summary: [{ type: 'summary_text', text: t.reasoning }],
        content: null,
        encrypted_content: null,
      })
    }

    const tools = offeredTools(body)
    switch (t.type) {
      case 'message':
        pushMessage(t.text)
        break
      case 'json':
        pushMessage(JSON.stringify(t.value))
        break
      case 'shell': {
        if (t.preamble !== undefined) pushMessage(t.preamble)
        const callId = id('call')
        if (tools.has('exec_command')) {
          const args: JsonObject = { cmd: commandLine(t.command) }
          if (t.workdir !== undefined) args.workdir = t.workdir
          pushItem({ type: 'function_call', id: id('fc'), status: 'completed', call_id: callId, name: 'exec_command', arguments: JSON.stringify(args) })
        } else if (tools.has('shell_command')) {
          const args: JsonObject = { command: commandLine(t.command) }
          if (t.workdir !== undefined) args.workdir = t.workdir
          pushItem({ type: 'function_call', id: id('fc'), status: 'completed', call_id: callId, name: 'shell_command', arguments: JSON.stringify(args) })
        } else {
          const args: JsonObject = { command: commandArgv(t.command) }
          if (t.workdir !== undefined) args.workdir = t.workdir
          pushItem({ type: 'function_call', id: id('fc'), status: 'completed', call_id: callId, name: 'shell', arguments: JSON.stringify(args) })
        }
        break
      }
      case 'apply_patch': {
        if (t.preamble !== undefined) pushMessage(t.preamble)
        const callId = id('call')
        const kind = tools.get('apply_patch')
        if (kind === 'custom') {
          pushItem({ type: 'custom_tool_call', id: id('ctc'), status: 'completed', call_id: callId, name: 'apply_patch', input: t.patch })
        } else if (kind === 'function') {
          pushItem({ type: 'function_call', id: id('fc'), status: 'completed', call_id: callId, name: 'apply_patch', arguments: JSON.stringify({ input: t.patch }) })
        } else {
          // No apply_patch tool offered (e.g. a model missing from codex's catalog): codex still
          // intercepts `apply_patch` run through its shell tool.
          const heredoc = `apply_patch <<'JGO_PATCH_EOF'\n${t.patch.replace(/\n?$/, '\n')}JGO_PATCH_EOF`
          const name = tools.has('exec_command') ? 'exec_command' : tools.has('shell_command') ? 'shell_command' : 'shell'
          const args: JsonObject =
            name === 'exec_command' ? { cmd: heredoc } : name === 'shell_command' ? { command: heredoc } : { command: ['apply_patch', t.patch] }
          pushItem({ type: 'function_call', id: id('fc'), status: 'completed', call_id: callId, name, arguments: JSON.stringify(args) })
        }
        break
      }
    }

    const inputTokens = usage.input_tokens
    const outputTokens = usage.output_tokens
    emit({
      type: 'response.completed',
      response: {
        ...baseResponse('completed', output),
        usage: {
          input_tokens: inputTokens,
          input_tokens_details: { cached_tokens: usage.cached_tokens },
          output_tokens: outputTokens,
          output_tokens_details: { reasoning_tokens: usage.reasoning_tokens },
          total_tokens: inputTokens + outputTokens,
        },
      },
    })
    res.end()
  }

  const server = http.createServer((req, res) => {
    void (async () => {
      const body = await readBody(req)
      const url = req.url ?? '/'
      const path = url.split('?')[0] ?? url
      const rec: RecordedRequest = {
        method: req.method ?? 'GET',
        path: url,
        headers: req.headers,
        body,
        json: parseJson(body),
        receivedAt: Date.now(),
      }
      requests.push(rec)

      if (rec.method === 'POST' && /\/responses$/.test(path)) {
        handleResponses(rec, res)
        return
      }
      unexpected.push(rec)
      if (rec.method === 'GET' && /\/models$/.test(path)) {
        // Both shapes: OpenAI's `{object, data}` and codex's own catalog `{models}`.
        sendJson(res, 200, { object: 'list', data: [], models: [] })
        return
      }
      sendJson(res, 404, { error: { message: `responses-server: no route for ${rec.method} ${path}`, type: 'invalid_request_error', code: null } })
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500)
      res.end(String(err))
    })
  })

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  const port = (server.address() as AddressInfo).port

  return {
    baseUrl: `http://127.0.0.1:${port}/v1`,
    port,
    requests,
    unexpected,
    responsesRequests: () => requests.filter((r) => r.method === 'POST' && /\/responses(\?|$)/.test(r.path)),
    turnsUsed: () => next,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
