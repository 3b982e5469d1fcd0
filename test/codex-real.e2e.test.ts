/**
 * End-to-end: the real `codex exec` (devDependency @openai/codex) against the
 * scripted loopback Responses server. No network: codex only ever talks to
 * 127.0.0.1 (plugins sync and analytics, which would reach github.com /
 * chatgpt.com, are switched off by the argv below).
 */
import t, { type Test } from 'tap'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import {
  inputItems,
  inputTexts,
  offeredTools,
  startResponsesServer,
  type ResponsesScript,
  type ResponsesServer,
} from './helpers/responses-server.js'
import { codexVersion, sessionModel } from '../lib/codex/session.js'
import { FAKE_DEFAULT_MODEL, PINNED_CODEX_VERSION } from './helpers/fake-codex.js'

const here = path.dirname(fileURLToPath(import.meta.url))
const CODEX_BIN = path.resolve(here, '..', 'node_modules', '.bin', 'codex')
const KEY_VAR = 'JGO_CODEX_API_KEY'
const API_KEY = 'sk-jgo-e2e-0123456789'
/** A slug from codex's bundled catalog (`codex debug models`): gets the freeform apply_patch tool and no "model metadata not found" warning. */
const MODEL = 'gpt-5.5'
const RUN_TIMEOUT_MS = 30_000

type Sandbox = 'read-only' | 'workspace-write' | 'danger-full-access'

interface CodexEvent {
  type: string
  [key: string]: unknown
}

interface CodexRun {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
  events: CodexEvent[]
  lastMessage: string | undefined
  ms: number
}

function tempDir(t: Test, prefix: string): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v)
}

function parseEvents(stdout: string): CodexEvent[] {
  const events: CodexEvent[] = []
  for (const line of stdout.split('\n')) {
    if (line.trim() === '') continue
    const v: unknown = JSON.parse(line)
    if (isObject(v) && typeof v.type === 'string') events.push(v as CodexEvent)
    else throw new Error(`not a codex event: ${line}`)
  }
  return events
}

function item(ev: CodexEvent): Record<string, unknown> {
  return isObject(ev.item) ? ev.item : {}
}

/** The environment codex gets: nothing inherited but PATH. */
function codexEnv(home: string, codexHome: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: home,
    CODEX_HOME: codexHome,
    [KEY_VAR]: API_KEY,
  }
}

/** The argv jgo uses (lib/codex/args.ts builds the same). */
function codexArgs(opts: {
  baseUrl: string
  sandbox: Sandbox
  lastMessageFile: string
  extra?: string[]
  /** false: no -m, codex picks its own default. */
  model?: string | false
}): string[] {
  return [
    'exec',
    '--json',
    '--skip-git-repo-check',
    '-s', opts.sandbox,
    '-o', opts.lastMessageFile,
    ...(opts.model === false ? [] : ['-m', opts.model ?? MODEL]),
    '-c', 'approval_policy="never"',
    '-c', 'sandbox_workspace_write.network_access=true',
    '--disable', 'shell_snapshot',
    '-c', 'features.plugins=false',
    '-c', 'features.unbounded_connection_retries=false',
    '-c', 'analytics.enabled=false',
    '-c', 'model_provider="jgo"',
    '-c', 'model_providers.jgo.name="jgo scripted"',
    '-c', `model_providers.jgo.base_url="${opts.baseUrl}"`,
    '-c', 'model_providers.jgo.wire_api="responses"',
    '-c', `model_providers.jgo.env_key="${KEY_VAR}"`,
    '-c', 'model_providers.jgo.request_max_retries=0',
    '-c', 'model_providers.jgo.stream_max_retries=0',
    ...(opts.extra ?? []),
  ]
}

function runCodex(opts: {
  cwd: string
  env: NodeJS.ProcessEnv
  args: string[]
  prompt: string
  lastMessageFile: string
}): Promise<CodexRun> {
  const started = Date.now()
  return new Promise((resolve, reject) => {
    // detached: own process group, so a timeout kills the npm wrapper (bin/codex.js) *and* the
    // native binary it spawns on Node < 22.15 (SIGKILL to the wrapper alone orphans the binary).
    const child = spawn(CODEX_BIN, opts.args, {
      cwd: opts.cwd,
      env: opts.env,
      stdio: ['pipe', 'pipe', 'pipe'],
      detached: true,
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => (stdout += c))
    child.stderr.setEncoding('utf8').on('data', (c: string) => (stderr += c))
    const timer = setTimeout(() => {
      if (child.pid !== undefined) {
        try {
          process.kill(-child.pid, 'SIGKILL')
        } catch {
          // already gone
        }
      }
    }, RUN_TIMEOUT_MS)
    child.on('error', (err) => {
      clearTimeout(timer)
      reject(err)
    })
    child.on('close', (code, signal) => {
      clearTimeout(timer)
      const lastMessage = existsSync(opts.lastMessageFile) ? readFileSync(opts.lastMessageFile, 'utf8') : undefined
      try {
        resolve({ code, signal, stdout, stderr, events: parseEvents(stdout), lastMessage, ms: Date.now() - started })
      } catch (err) {
        reject(new Error(`${String(err)}\nstdout:\n${stdout}\nstderr:\n${stderr}`))
      }
    })
    // The prompt goes on stdin, which must then be closed: codex waits for EOF.
    child.stdin.end(opts.prompt)
  })
}

function git(cwd: string, env: NodeJS.ProcessEnv, ...args: string[]): string {
  const r = spawnSync('git', args, { cwd, env, encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`git ${args.join(' ')} failed: ${r.stderr}`)
  return r.stdout
}

/** `codex sandbox` runs a command under the same Linux sandbox codex exec uses (~0.3 s). */
function sandboxWorks(env: NodeJS.ProcessEnv, cwd: string): boolean {
  const r = spawnSync(CODEX_BIN, ['sandbox', '-c', 'sandbox_mode="workspace-write"', '--', 'true'], {
    cwd,
    env,
    encoding: 'utf8',
    timeout: 15_000,
  })
  return r.status === 0
}

async function server(t: Test, script: ResponsesScript): Promise<ResponsesServer> {
  const s = await startResponsesServer(script)
  t.teardown(() => s.close())
  return s
}

t.test('codex exec edits a git repo through the scripted model server', async (t) => {
  const home = tempDir(t, 'jgo-home-')
  const codexHome = tempDir(t, 'jgo-codex-home-')
  const repo = tempDir(t, 'jgo-repo-')
  const out = tempDir(t, 'jgo-out-')
  const env = codexEnv(home, codexHome)
  const gitEnv: NodeJS.ProcessEnv = { PATH: env.PATH, HOME: home, GIT_CONFIG_NOSYSTEM: '1' }

  git(repo, gitEnv, 'init', '-q', '-b', 'main')
  writeFileSync(path.join(repo, 'README.md'), 'hello\n')
  git(repo, gitEnv, 'add', '.')
  git(repo, gitEnv, '-c', 'user.name=jgo', '-c', 'user.email=jgo@example.invalid', 'commit', '-q', '-m', 'init')

  const sandbox: Sandbox = sandboxWorks(env, repo) ? 'workspace-write' : 'danger-full-access'
  t.comment(`sandbox: ${sandbox}`)

  const s = await server(t, [
    {
      type: 'shell',
      command: ['bash', '-lc', "printf 'notes from codex\\n' > NOTES.md"],
      reasoning: 'Add the notes file, then touch up the README.',
      preamble: 'Creating NOTES.md.',
    },
    {
      type: 'apply_patch',
      patch: '*** Begin Patch\n*** Update File: README.md\n@@\n-hello\n+hello, world\n*** End Patch\n',
    },
    { type: 'message', text: 'Done: added NOTES.md' },
  ])

  const prompt = 'Add a NOTES.md file (jgo e2e prompt marker 7f3a).'
  const lastMessageFile = path.join(out, 'last-message.txt')
  const run = await runCodex({
    cwd: repo,
    env,
    args: codexArgs({ baseUrl: s.baseUrl, sandbox, lastMessageFile }),
    prompt,
    lastMessageFile,
  })
  t.comment(`codex finished in ${run.ms} ms`)

  t.equal(run.code, 0, 'exit 0', { stderr: run.stderr, stdout: run.stdout })
  t.ok(run.ms < RUN_TIMEOUT_MS, 'did not hang')

  // The workspace changed on disk.
  t.equal(readFileSync(path.join(repo, 'NOTES.md'), 'utf8'), 'notes from codex\n')
  t.equal(readFileSync(path.join(repo, 'README.md'), 'utf8'), 'hello, world\n')
  t.match(git(repo, gitEnv, 'status', '--porcelain'), /^ M README\.md$/m)

  // The --json event stream.
  const types = run.events.map((e) => e.type)
  t.equal(types[0], 'thread.started')
  const threadStarted = run.events[0]
  t.match(threadStarted?.thread_id, /^[0-9a-f-]{36}$/, 'thread.started.thread_id is a uuid')
  t.ok(types.includes('turn.started'), 'turn.started')
  t.equal(types.at(-1), 'turn.completed')

  const completed = run.events.filter((e) => e.type === 'item.completed').map(item)
  const command = completed.find((i) => i.type === 'command_execution')
  t.match(command, { type: 'command_execution', exit_code: 0, status: 'completed' }, 'command item')
  t.match(String(command?.command), /NOTES\.md/)
  const fileChange = completed.find((i) => i.type === 'file_change')
  t.match(fileChange, { status: 'completed', changes: [{ path: path.join(repo, 'README.md'), kind: 'update' }] }, 'file_change item')
  t.ok(completed.some((i) => i.type === 'reasoning'), 'reasoning item')
  const messages = completed.filter((i) => i.type === 'agent_message').map((i) => i.text)
  t.same(messages, ['Creating NOTES.md.', 'Done: added NOTES.md'])

  const turnCompleted = run.events.at(-1)
  t.match(turnCompleted?.usage, {
    input_tokens: Number,
    cached_input_tokens: Number,
    output_tokens: Number,
    reasoning_output_tokens: Number,
  })
  t.ok(!types.includes('turn.failed') && !types.includes('error'), 'no error events')

  // -o has the final message.
  t.equal(run.lastMessage?.trim(), 'Done: added NOTES.md')

  // What the server saw.
  t.equal(s.turnsUsed(), 3, 'all three scripted turns were used')
  t.same(s.unexpected, [], 'no unexpected requests (no /models, nothing after the script)')
  const reqs = s.responsesRequests()
  t.equal(reqs.length, 3)
  for (const r of reqs) {
    t.equal(r.headers.authorization, `Bearer ${API_KEY}`, 'Authorization: Bearer <key>')
    t.match(r.json, { model: MODEL, stream: true })
  }
  const first = reqs[0]
  t.ok(inputTexts(first?.json).some((text) => text.includes('jgo e2e prompt marker 7f3a')), 'prompt reached the model')
  t.equal(offeredTools(first?.json).get('apply_patch'), 'custom', 'apply_patch is offered as a freeform custom tool')
  t.equal(offeredTools(first?.json).get('exec_command'), 'function', 'exec_command is the shell tool')
  t.equal(inputItems(reqs[1]?.json, 'function_call_output').length, 1, 'shell output sent back')
  t.match(inputItems(reqs[2]?.json, 'custom_tool_call_output')[0], { output: /Success\. Updated the following files/ })
  t.ok(
    s.requests.every((r) => r.headers.host === `127.0.0.1:${s.port}`),
    'every request went to the loopback server',
  )
})

t.test('a failed model turn: codex emits error + turn.failed and exits 1', async (t) => {
  const home = tempDir(t, 'jgo-home-')
  const codexHome = tempDir(t, 'jgo-codex-home-')
  const work = tempDir(t, 'jgo-work-')
  const env = codexEnv(home, codexHome)
  const s = await server(t, [{ type: 'failed', message: 'scripted upstream failure' }])
  const lastMessageFile = path.join(work, 'last.txt')
  const run = await runCodex({
    cwd: work,
    env,
    args: codexArgs({ baseUrl: s.baseUrl, sandbox: 'read-only', lastMessageFile }),
    prompt: 'this turn will fail',
    lastMessageFile,
  })
  t.equal(run.code, 1, 'exit 1', { stderr: run.stderr })
  t.same(
    run.events.map((e) => e.type),
    ['thread.started', 'turn.started', 'error', 'turn.failed'],
  )
  t.match(run.events[2], { type: 'error', message: /scripted upstream failure/ })
  t.match(run.events[3], { type: 'turn.failed', error: { message: /scripted upstream failure/ } })
  t.equal(s.responsesRequests().length, 1, 'no retries (stream_max_retries=0, request_max_retries=0)')
  t.equal(run.lastMessage ?? '', '', '-o is empty (codex creates it, writes nothing)')
})

t.test('--output-schema: the schema goes to the server as text.format, the JSON answer lands in -o', async (t) => {
  const home = tempDir(t, 'jgo-home-')
  const codexHome = tempDir(t, 'jgo-codex-home-')
  const work = tempDir(t, 'jgo-work-')
  const env = codexEnv(home, codexHome)
  const schema = {
    type: 'object',
    properties: { summary: { type: 'string' }, files: { type: 'array', items: { type: 'string' } } },
    required: ['summary', 'files'],
    additionalProperties: false,
  }
  const schemaFile = path.join(work, 'schema.json')
  writeFileSync(schemaFile, JSON.stringify(schema))
  const value = { summary: 'added notes', files: ['NOTES.md'] }
  const s = await server(t, [{ type: 'json', value }])
  const lastMessageFile = path.join(work, 'last.json')
  const run = await runCodex({
    cwd: work,
    env,
    args: codexArgs({ baseUrl: s.baseUrl, sandbox: 'read-only', lastMessageFile, extra: ['--output-schema', schemaFile] }),
    prompt: 'summarise as JSON',
    lastMessageFile,
  })
  t.equal(run.code, 0, 'exit 0', { stderr: run.stderr })
  t.same(JSON.parse(run.lastMessage ?? 'null'), value)
  t.match(s.responsesRequests()[0]?.json, {
    text: { format: { type: 'json_schema', strict: true, name: 'codex_output_schema', schema } },
  })
})

t.test("what jgo records: codex --version, and the model codex chose itself, from its session record", async (t) => {
  const home = tempDir(t, 'jgo-home-')
  const codexHome = tempDir(t, 'jgo-codex-home-')
  const work = tempDir(t, 'jgo-work-')
  const env = codexEnv(home, codexHome)
  t.equal(await codexVersion(CODEX_BIN, { PATH: env.PATH, HOME: home, CODEX_HOME: codexHome }), PINNED_CODEX_VERSION, 'the version package-lock.json pins')

  const s = await server(t, [{ type: 'message', text: 'hello' }])
  const lastMessageFile = path.join(work, 'last.txt')
  const started = Date.now()
  const run = await runCodex({
    cwd: work,
    env,
    args: codexArgs({ baseUrl: s.baseUrl, sandbox: 'read-only', lastMessageFile, model: false }),
    prompt: 'say hello',
    lastMessageFile,
  })
  t.equal(run.code, 0, 'exit 0', { stderr: run.stderr })
  // codex's --json events do not name the model: only what it sent, and what it recorded, do.
  t.notMatch(run.stdout, /"model"/, 'no event names the model')
  const asked = s.responsesRequests().map((r) => (r.json as { model?: unknown }).model)
  t.ok(asked.length > 0 && asked.every((m) => m === asked[0]), `one model asked for: ${String(asked[0])}`)
  const threadId = run.events.find((e) => e.type === 'thread.started')?.thread_id
  t.equal(await sessionModel(codexHome, typeof threadId === 'string' ? threadId : undefined, started), asked[0], 'the session record names the model the server saw')
  t.equal(asked[0], FAKE_DEFAULT_MODEL, "the fake codex's default is this release's")
})
