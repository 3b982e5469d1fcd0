/**
 * A loopback-only git smart-HTTP server for tests, backed by git's own CGI
 * program `git http-backend`, plus fast fixture helpers that shape the bare
 * repositories it serves.
 *
 * Why a real http-backend instead of a fake: clients (native git,
 * isomorphic-git) then talk to exactly the protocol implementation a real host
 * runs, including protocol v2, gzip-compressed requests, stateless-RPC
 * negotiation and the push path.
 *
 * Every request is recorded in `server.stats` (live), with its headers, so
 * tests can assert how many pack transfers a client made, whether it sent
 * credentials (an `Authorization` header at all), and so on.
 *
 * Credentials are only ever compared, never logged or recorded: the
 * `Authorization` header is withheld from the CGI environment, which only gets
 * the username as REMOTE_USER. Bad or missing credentials get 401 (never 403),
 * with `WWW-Authenticate: Basic realm="jgo-test"`, like real git hosts, so
 * clients treat it as "authentication failed".
 *
 * The fixture helpers run native `git` isolated from the machine's
 * configuration (`GIT_CONFIG_NOSYSTEM=1`, `HOME`/`XDG_CONFIG_HOME` pointed at
 * a directory the server owns, inherited `GIT_*` variables dropped) and build
 * commits with one `git fast-import` process each, which is much faster than a
 * clone + commit + push round trip.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { createHash, timingSafeEqual } from 'node:crypto'
import { mkdir, mkdtemp, realpath, rm } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import os from 'node:os'
import path from 'node:path'
import zlib from 'node:zlib'

/** Which git service a request belongs to (from `?service=` or the POST path). */
export type GitService = 'git-upload-pack' | 'git-receive-pack'

/** One HTTP request the server saw. Records are pushed when a request arrives and updated in place until it ends. */
export interface GitRequestRecord {
  method: string
  /** Decoded path, e.g. `/acme/widgets.git/info/refs`. */
  path: string
  /** Raw query string without `?` (`''` when none). */
  query: string
  /** HTTP status sent; `0` while the response has not started. */
  status: number
  service: GitService | null
  /** Protocol-v2 command of a POST to git-upload-pack (`ls-refs`, `fetch`, ...); `null` for v0/v1 or other requests. */
  command: string | null
  /** Request body bytes as received on the wire (compressed size for gzip bodies). */
  requestBytes: number
  /** The request's `Content-Encoding` (native git gzips upload-pack bodies over 1 KiB), or `null`. */
  contentEncoding: string | null
  /**
   * A 4-byte `0000` POST: native git sends one before a large (chunked) request
   * so auth is settled before it streams; it transfers nothing and is not counted.
   */
  probe: boolean
  /** Response body bytes sent. */
  responseBytes: number
  /** Whether the request carried an `Authorization` header at all; a rejected one shows up as status 401. */
  auth: boolean
  /**
   * Every request header as received, names lower-case; the values of `authorization`,
   * `proxy-authorization` and `cookie` are recorded as `[withheld]` (their presence is what a test asks).
   */
  headers: Record<string, string | string[]>
  /** Whether `failNext` answered this request instead of git. */
  injected: boolean
  /** Pid of the `git http-backend` process (also its process-group id); `null` if none was spawned. */
  pid: number | null
  /** The response has ended (or the connection closed). */
  finished: boolean
  /** When the request arrived and when its response ended (Date.now() ms); `ended` is 0 until then. */
  started: number
  ended: number
  /** http-backend's stderr (truncated), useful when a request unexpectedly fails. */
  stderr: string
}

export interface GitServerOptions {
  /** Require HTTP Basic auth with these credentials on every request. */
  auth?: { username: string; password: string }
  /**
   * Answer every request with a `302` to the same path and query under this base URL (e.g.
   * another server's `url`), as a moved host does; recorded like any other request.
   */
  redirectTo?: string
}

export interface GitServer {
  /** Base URL, e.g. `http://127.0.0.1:41234` (no trailing slash). */
  url: string
  /** GIT_PROJECT_ROOT: the directory holding the served repositories. */
  root: string
  /** Isolated HOME used for every native git run by these helpers. */
  home: string
  /** `${url}/${name}`, e.g. `repoUrl('acme/widgets.git')`. */
  repoUrl(name: string): string
  /** Live list of requests, in arrival order. `resetStats()` empties it in place. */
  readonly stats: readonly GitRequestRecord[]
  /**
   * POSTs to git-upload-pack that can negotiate or transfer a pack, i.e. all
   * of them except protocol-v2 `ls-refs` (which only lists refs, and which
   * native git sends even when a fetch turns out to be a no-op) and probes.
   * Counts attempts, including failed or injected ones.
   */
  uploadPackCount(): number
  /** POSTs to git-receive-pack except probes, i.e. one per push attempt. */
  receivePackCount(): number
  resetStats(): void
  /** Answer the next `count` requests (any path, before auth) with `status` instead of running git. */
  failNext(status: number, count?: number): void
  /** Stop listening, drop connections, kill in-flight CGI process groups, delete all temp dirs. Idempotent. */
  close(): Promise<void>
}

/** The CGI program; located once via `git --exec-path`. */
let backendPath: Promise<string> | undefined
function gitHttpBackend(): Promise<string> {
  backendPath ??= execGit(['--exec-path'], { env: isolatedEnv(os.tmpdir()) }).then(
    (r) => path.join(r.stdout.trim(), 'git-http-backend'),
  )
  return backendPath
}

/** sha256 both sides so the comparison is constant-time and length-independent. */
function sameSecret(a: string, b: string): boolean {
  const ha = createHash('sha256').update(a).digest()
  const hb = createHash('sha256').update(b).digest()
  return timingSafeEqual(ha, hb)
}

/** Credential headers, recorded only as present. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie'])

function recordedHeaders(headers: http.IncomingHttpHeaders): Record<string, string | string[]> {
  const recorded: Record<string, string | string[]> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) recorded[name] = SECRET_HEADERS.has(name) ? '[withheld]' : value
  }
  return recorded
}

/** Headers never forwarded to the CGI: credentials stay inside this process. */
const WITHHELD_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie', 'content-type', 'content-length'])

/**
 * Reads the protocol-v2 command (`command=ls-refs`) from the start of an
 * upload-pack request body, inflating a gzip prefix if needed. Synchronous
 * partial inflation (`Z_SYNC_FLUSH`) avoids racing an async zlib stream
 * against the end of the response.
 */
function sniffV2Command(prefix: Buffer, gzip: boolean): string | null | undefined {
  let data = prefix
  if (gzip) {
    try {
      data = zlib.gunzipSync(prefix, { finishFlush: zlib.constants.Z_SYNC_FLUSH })
    } catch {
      return undefined
    }
  }
  if (data.length < 4) return undefined
  const len = Number.parseInt(data.subarray(0, 4).toString('latin1'), 16)
  if (!Number.isFinite(len) || len < 4) return null
  if (data.length < len) return undefined
  const m = /^command=([a-z0-9-]+)\n?$/.exec(data.subarray(4, len).toString('latin1'))
  return m?.[1] ?? null
}

export async function startGitServer(opts: GitServerOptions = {}): Promise<GitServer> {
  const backend = await gitHttpBackend()
  const base = await realpath(await mkdtemp(path.join(os.tmpdir(), 'jgo-git-server-')))
  const root = path.join(base, 'repos')
  const home = path.join(base, 'home')
  await mkdir(root)
  await mkdir(home)

  const stats: GitRequestRecord[] = []
  /** In-flight CGI processes and their exit promises (removed once they exit). */
  const children = new Map<ChildProcess, Promise<void>>()
  const failures: number[] = []
  const auth = opts.auth
  const expectedAuth = auth ? `Basic ${Buffer.from(`${auth.username}:${auth.password}`, 'utf8').toString('base64')}` : ''
  let port = 0

  /**
   * Kill a CGI and everything it started (upload-pack/receive-pack run as its
   * children). stdout is destroyed too: a paused stdout (backpressure from a
   * vanished client) would otherwise keep the child's 'close' from firing.
   */
  const killGroup = (child: ChildProcess): void => {
    child.stdin?.destroy()
    child.stdout?.destroy()
    if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return
    try {
      process.kill(-child.pid, 'SIGKILL')
    } catch {
      child.kill('SIGKILL')
    }
  }

  const handle = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    let pathInfo: string
    try {
      pathInfo = decodeURIComponent(url.pathname)
    } catch {
      pathInfo = url.pathname
    }
    const query = url.search.replace(/^\?/, '')
    const method = req.method ?? 'GET'
    const svcParam = url.searchParams.get('service')
    const svcPath = /\/(git-upload-pack|git-receive-pack)$/.exec(pathInfo)?.[1]
    const service = (svcPath ?? (svcParam === 'git-upload-pack' || svcParam === 'git-receive-pack' ? svcParam : null)) as GitService | null
    const authHeader = req.headers.authorization
    const rec: GitRequestRecord = {
      method,
      path: pathInfo,
      query,
      status: 0,
      service,
      command: null,
      requestBytes: 0,
      contentEncoding: req.headers['content-encoding'] ?? null,
      probe: false,
      responseBytes: 0,
      auth: authHeader !== undefined,
      headers: recordedHeaders(req.headers),
      injected: false,
      pid: null,
      finished: false,
      started: Date.now(),
      ended: 0,
      stderr: '',
    }
    stats.push(rec)
    res.on('close', () => {
      rec.finished = true
      rec.ended = Date.now()
    })

    // Count and sniff the body on every path (rejected requests too, so a rejected probe is still recognised).
    const rpc = method === 'POST' && service !== null
    const v2 = rpc && service === 'git-upload-pack' && /version=2/.test(String(req.headers['git-protocol'] ?? ''))
    const gzip = rec.contentEncoding === 'gzip' || rec.contentEncoding === 'x-gzip'
    let prefix = Buffer.alloc(0)
    req.on('data', (chunk: Buffer) => {
      rec.requestBytes += chunk.length
      if (rpc && prefix.length < 8192) {
        prefix = Buffer.concat([prefix, chunk])
        const cmd = v2 && rec.command === null ? sniffV2Command(prefix, gzip) : undefined
        if (cmd !== undefined) rec.command = cmd
      }
    })
    req.on('end', () => {
      if (rpc && !gzip && prefix.toString('latin1') === '0000') rec.probe = true
    })

    const plain = (status: number, text: string, headers: Record<string, string> = {}): void => {
      rec.status = status
      rec.responseBytes += Buffer.byteLength(text)
      res.writeHead(status, { 'content-type': 'text/plain; charset=utf-8', ...headers })
      res.end(text)
      req.resume() // drain the unread body so keep-alive connections stay usable
    }

    const failing = failures[0]
    if (failing !== undefined) {
      failures.shift()
      rec.injected = true
      plain(failing, `git-server: injected failure ${failing}\n`)
      return
    }
    if (opts.redirectTo !== undefined) {
      plain(302, 'git-server: moved\n', { location: `${opts.redirectTo}${req.url ?? '/'}` })
      return
    }
    if (auth && (authHeader === undefined || !sameSecret(authHeader, expectedAuth))) {
      plain(401, 'git-server: authentication required\n', { 'www-authenticate': 'Basic realm="jgo-test"' })
      return
    }

    const env: NodeJS.ProcessEnv = {
      ...isolatedEnv(home),
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      SERVER_SOFTWARE: 'jgo-git-server',
      SERVER_NAME: '127.0.0.1',
      SERVER_PORT: String(port),
      REQUEST_METHOD: method,
      REQUEST_URI: req.url ?? '/',
      SCRIPT_NAME: '',
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      REMOTE_ADDR: req.socket.remoteAddress ?? '127.0.0.1',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      // Without REMOTE_USER http-backend refuses pushes unless this is explicitly on.
      GIT_CONFIG_COUNT: '1',
      GIT_CONFIG_KEY_0: 'http.receivepack',
      GIT_CONFIG_VALUE_0: 'true',
    }
    if (auth) env.REMOTE_USER = auth.username
    if (req.headers['content-type'] !== undefined) env.CONTENT_TYPE = req.headers['content-type']
    if (req.headers['content-length'] !== undefined) env.CONTENT_LENGTH = req.headers['content-length']
    // Other headers as HTTP_*: this is how http-backend learns Content-Encoding
    // (it inflates gzip bodies itself) and Git-Protocol (v2).
    for (const [name, value] of Object.entries(req.headers)) {
      if (value === undefined || WITHHELD_HEADERS.has(name)) continue
      env[`HTTP_${name.toUpperCase().replace(/-/g, '_')}`] = Array.isArray(value) ? value.join(', ') : value
    }

    // detached => own process group, so close() can kill upload-pack/receive-pack too.
    const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'], detached: true })
    rec.pid = child.pid ?? null
    children.set(
      child,
      new Promise<void>((resolve) => {
        child.once('close', () => resolve())
        child.once('error', () => resolve())
      }).then(() => {
        children.delete(child)
      }),
    )

    // Request body -> CGI stdin (http-backend inflates gzip bodies itself).
    child.stdin.on('error', () => {}) // EPIPE if the CGI exits before reading everything
    req.pipe(child.stdin)

    // Client went away (or close() dropped the connection): stop the CGI.
    res.on('close', () => {
      if (!res.writableFinished) killGroup(child)
    })

    let stderr = ''
    child.stderr.on('data', (chunk: Buffer) => {
      if (stderr.length < 4096) stderr += chunk.toString('utf8')
      rec.stderr = stderr.slice(0, 4096)
    })

    // CGI stdout: headers (Status: + others), blank line, then the body, streamed with backpressure.
    let head = Buffer.alloc(0)
    let headersDone = false
    const send = (chunk: Buffer): void => {
      if (chunk.length === 0 || res.destroyed) return
      rec.responseBytes += chunk.length
      if (!res.write(chunk)) child.stdout.pause()
    }
    res.on('drain', () => child.stdout.resume())
    child.stdout.on('data', (chunk: Buffer) => {
      if (headersDone) return send(chunk)
      head = Buffer.concat([head, chunk])
      const crlf = head.indexOf('\r\n\r\n')
      const lf = head.indexOf('\n\n')
      let end = -1
      let sepLen = 0
      if (crlf !== -1 && (lf === -1 || crlf < lf)) [end, sepLen] = [crlf, 4]
      else if (lf !== -1) [end, sepLen] = [lf, 2]
      if (end === -1) return
      headersDone = true
      let status = 200
      for (const line of head.subarray(0, end).toString('latin1').split(/\r?\n/)) {
        const i = line.indexOf(':')
        if (i <= 0) continue
        const name = line.slice(0, i).trim()
        const value = line.slice(i + 1).trim()
        if (name.toLowerCase() === 'status') status = Number.parseInt(value, 10) || 500
        else res.appendHeader(name, value)
      }
      rec.status = status
      if (!res.destroyed) res.writeHead(status)
      send(head.subarray(end + sepLen))
    })
    child.once('error', (err) => {
      if (!headersDone && !res.headersSent && !res.destroyed) {
        headersDone = true
        plain(500, `git-server: cannot run git http-backend: ${err.message}\n`)
      }
    })
    child.once('close', () => {
      if (res.destroyed || res.writableEnded) return
      if (!headersDone) plain(502, `git-server: git http-backend ended without headers\n${stderr}`)
      else res.end()
    })
  }

  const server = http.createServer(handle)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject)
      resolve()
    })
  })
  port = (server.address() as AddressInfo).port
  const url = `http://127.0.0.1:${port}`

  let closing: Promise<void> | undefined
  const close = async (): Promise<void> => {
    const closed = new Promise<void>((resolve) => server.close(() => resolve()))
    server.closeAllConnections()
    for (const child of children.keys()) killGroup(child)
    await Promise.all([closed, ...children.values()])
    await rm(base, { recursive: true, force: true })
  }

  return {
    url,
    root,
    home,
    repoUrl: (name) => `${url}/${name}`,
    stats,
    uploadPackCount: () =>
      stats.filter((r) => r.method === 'POST' && r.service === 'git-upload-pack' && r.command !== 'ls-refs' && !r.probe).length,
    receivePackCount: () => stats.filter((r) => r.method === 'POST' && r.service === 'git-receive-pack' && !r.probe).length,
    resetStats: () => {
      stats.length = 0
    },
    failNext: (status, count = 1) => {
      for (let i = 0; i < count; i++) failures.push(status)
    },
    close: () => (closing ??= close()),
  }
}

// ---------------------------------------------------------------------------
// Native git, isolated from the machine
// ---------------------------------------------------------------------------

/** Fixed identity so fixture commits never depend on the machine's config. */
const IDENTITY = { name: 'jgo test', email: 'jgo-test@example.invalid' }

/**
 * The parent environment minus anything that would let the machine's git
 * setup leak in (GIT_DIR, GIT_ASKPASS, GIT_CONFIG_*, SSH_ASKPASS, proxies for
 * 127.0.0.1), with HOME/XDG_CONFIG_HOME pointed at `home`.
 */
export function isolatedEnv(home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) {
    if (k.startsWith('GIT_') || k === 'SSH_ASKPASS' || k === 'XDG_CONFIG_HOME') continue
    env[k] = v
  }
  return {
    ...env,
    HOME: home,
    XDG_CONFIG_HOME: path.join(home, '.config'),
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    NO_PROXY: '127.0.0.1,localhost',
    no_proxy: '127.0.0.1,localhost',
    ...extra,
  }
}

export interface GitResult {
  stdout: string
  stderr: string
}

export interface RunGitOptions {
  cwd?: string
  /** Extra environment on top of the isolated one (e.g. `GIT_CONFIG_COUNT` for `http.extraHeader`). */
  env?: Record<string, string>
  /** Bytes for stdin. */
  input?: string | Buffer
}

/** Runs `git` with an explicit argv (no shell); rejects with stderr and exit code on failure. */
function execGit(args: readonly string[], opts: { env: NodeJS.ProcessEnv; cwd?: string; input?: string | Buffer }): Promise<GitResult> {
  return new Promise((resolve, reject) => {
    const child = spawn('git', args, { env: opts.env, cwd: opts.cwd, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => out.push(c))
    child.stderr.on('data', (c: Buffer) => err.push(c))
    child.stdin.on('error', () => {})
    child.once('error', reject)
    child.once('close', (code, signal) => {
      const stdout = Buffer.concat(out).toString('utf8')
      const stderr = Buffer.concat(err).toString('utf8')
      if (code === 0) resolve({ stdout, stderr })
      else reject(new Error(`git ${args.join(' ')} failed (${signal ?? `exit ${code}`}): ${stderr.trim()}`))
    })
    child.stdin.end(opts.input ?? '')
  })
}

/**
 * Runs native git as a client of `server`: isolated HOME, no system config,
 * no terminal prompts, fixed user identity.
 */
export function runGit(server: Pick<GitServer, 'home'>, args: readonly string[], opts: RunGitOptions = {}): Promise<GitResult> {
  // core.fsync=none: durability is irrelevant here and fsync dominates small git runs (~50ms -> ~20ms).
  const argv = ['-c', `user.name=${IDENTITY.name}`, '-c', `user.email=${IDENTITY.email}`, '-c', 'core.fsync=none', ...args]
  return execGit(argv, { env: isolatedEnv(server.home, opts.env), cwd: opts.cwd, input: opts.input })
}

/** Env that makes native git send Basic credentials via `http.extraHeader` (keeps them out of URLs and argv). */
export function basicAuthEnv(username: string, password: string): Record<string, string> {
  const token = Buffer.from(`${username}:${password}`, 'utf8').toString('base64')
  return { GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${token}` }
}

// ---------------------------------------------------------------------------
// Bare-repository fixtures
// ---------------------------------------------------------------------------

type FixtureServer = Pick<GitServer, 'root' | 'home'>

/** Absolute path of repo `name` under the server root; rejects names that escape it. */
function repoDir(server: FixtureServer, name: string): string {
  if (path.isAbsolute(name) || name.split(/[\\/]/).some((s) => s === '..' || s === '')) {
    throw new Error(`git-server: bad repo name ${JSON.stringify(name)}`)
  }
  return path.join(server.root, name)
}

function inRepo(server: FixtureServer, name: string, args: readonly string[], input?: string): Promise<GitResult> {
  return runGit(server, [`--git-dir=${repoDir(server, name)}`, ...args], input === undefined ? {} : { input })
}

/**
 * Resolves several revision expressions (e.g. `refs/heads/x^{commit}`) with
 * one `git cat-file --batch-check` run; `null` for each that does not exist.
 * One process instead of one `rev-parse` per expression keeps fixtures fast.
 */
async function resolveAll(server: FixtureServer, name: string, exprs: readonly string[]): Promise<(string | null)[]> {
  const input = exprs.map((e) => `${e}\n`).join('')
  const { stdout } = await inRepo(server, name, ['cat-file', '--batch-check=%(objectname) %(objecttype)'], input)
  const lines = stdout.split('\n')
  return exprs.map((_, i) => /^([0-9a-f]{40,64}) [a-z]+$/.exec(lines[i] ?? '')?.[1] ?? null)
}

/** Strictly increasing commit timestamps, so otherwise identical commits still get distinct shas. */
let lastTime = 0
function nextTime(): number {
  lastTime = Math.max(Math.floor(Date.now() / 1000), lastTime + 1)
  return lastTime
}

/** C-style quoting understood by fast-import, so any path (spaces, quotes, newlines) is safe. */
function quotePath(p: string): string {
  return `"${p.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`
}

function dataBlock(text: string): string {
  return `data ${Buffer.byteLength(text, 'utf8')}\n${text}\n`
}

interface CommitSpec {
  branch: string
  message: string
  /** First parent; `null` makes a root commit. */
  parent: string | null
  /** Start from this tree instead of the parent's (used for amend). */
  baseTree?: string
  /** Start from an empty tree (unrelated rewrite). */
  empty?: boolean
  files?: Record<string, string>
  delete?: readonly string[]
  /** Allow a non-fast-forward ref update. */
  force?: boolean
}

/** Writes one commit and moves `refs/heads/<branch>` to it with a single `git fast-import`; returns its sha. */
async function fastImportCommit(server: FixtureServer, name: string, spec: CommitSpec): Promise<string> {
  const t = nextTime()
  const who = `${IDENTITY.name} <${IDENTITY.email}> ${t} +0000`
  let stream = `commit refs/heads/${spec.branch}\nmark :1\nauthor ${who}\ncommitter ${who}\n${dataBlock(spec.message)}`
  if (spec.parent !== null) stream += `from ${spec.parent}\n`
  if (spec.empty) stream += 'deleteall\n'
  if (spec.baseTree !== undefined) stream += `M 040000 ${spec.baseTree} ""\n`
  for (const p of spec.delete ?? []) stream += `D ${quotePath(p)}\n`
  for (const [p, content] of Object.entries(spec.files ?? {})) stream += `M 100644 inline ${quotePath(p)}\n${dataBlock(content)}`
  stream += 'get-mark :1\n'
  const args = ['fast-import', '--quiet', ...(spec.force ? ['--force'] : [])]
  return (await inRepo(server, name, args, stream)).stdout.trim()
}

export interface CreateBareRepoOptions {
  /** Files of the initial commit; default `{ 'README.md': '# <name>\n' }`. */
  files?: Record<string, string>
  /** Initial branch, which HEAD points at; default `main`. */
  branch?: string
}

/** Creates `<root>/<name>` as a bare repo with one commit on `branch`; returns the commit sha. */
export async function createBareRepo(server: FixtureServer, name: string, opts: CreateBareRepoOptions = {}): Promise<string> {
  const branch = opts.branch ?? 'main'
  const dir = repoDir(server, name)
  await runGit(server, ['init', '--quiet', '--bare', `--initial-branch=${branch}`, dir])
  return fastImportCommit(server, name, {
    branch,
    message: 'Initial commit\n',
    parent: null,
    files: opts.files ?? { 'README.md': `# ${name}\n` },
  })
}

export interface CommitOptions {
  branch: string
  /** Files to add or overwrite (path -> utf-8 content). */
  files?: Record<string, string>
  delete?: readonly string[]
  message?: string
  /** Where a branch that does not exist yet starts; default HEAD. Ignored for existing branches. */
  from?: string
}

/**
 * Adds a commit on top of `branch` (creating the branch from `from`/HEAD if
 * missing) with `files` written and `delete` removed; returns the new sha.
 */
export async function commitToBare(server: FixtureServer, name: string, opts: CommitOptions): Promise<string> {
  const [tip, start] = await resolveAll(server, name, [`refs/heads/${opts.branch}^{commit}`, `${opts.from ?? 'HEAD'}^{commit}`])
  const parent = tip ?? start ?? null
  return fastImportCommit(server, name, {
    branch: opts.branch,
    message: opts.message ?? `Update ${opts.branch}\n`,
    parent,
    files: opts.files ?? {},
    delete: opts.delete ?? [],
  })
}

export async function deleteBranch(server: FixtureServer, name: string, branch: string): Promise<void> {
  await inRepo(server, name, ['update-ref', '-d', `refs/heads/${branch}`])
}

export interface ForcePushOptions {
  /**
   * `false` (default): the branch becomes a new root commit containing exactly
   * `files` (unrelated history). `true`: like `git commit --amend`: same
   * parent as the old tip, old tip's tree plus `files`.
   */
  amend?: boolean
  message?: string
}

/** Rewrites `branch` to a commit that is not a descendant of its current tip; returns the new sha. */
export async function forcePush(
  server: FixtureServer,
  name: string,
  branch: string,
  files: Record<string, string>,
  opts: ForcePushOptions = {},
): Promise<string> {
  if (!opts.amend) {
    return fastImportCommit(server, name, {
      branch,
      message: opts.message ?? `Rewrite ${branch}\n`,
      parent: null,
      empty: true,
      files,
      force: true,
    })
  }
  const ref = `refs/heads/${branch}`
  const [tip, parent, tree] = await resolveAll(server, name, [`${ref}^{commit}`, `${ref}^`, `${ref}^{tree}`])
  if (!tip || !tree) throw new Error(`git-server: ${name} has no branch ${branch} to amend`)
  return fastImportCommit(server, name, {
    branch,
    message: opts.message ?? `Amend ${branch}\n`,
    parent: parent ?? null,
    baseTree: tree,
    files,
    force: true,
  })
}

/**
 * Creates tag `tag` at `ref` (lightweight, or annotated with a tag object);
 * returns what `refs/tags/<tag>` points at (the tag object's sha when annotated).
 */
export async function createTag(server: FixtureServer, name: string, tag: string, ref: string, annotated = false): Promise<string> {
  const target = await revParse(server, name, ref)
  if (!annotated) {
    await inRepo(server, name, ['update-ref', `refs/tags/${tag}`, target, '']) // '' = must not exist yet
    return target
  }
  await inRepo(server, name, ['tag', '-a', '-m', `Tag ${tag}`, tag, target])
  return (await inRepo(server, name, ['rev-parse', '--verify', `refs/tags/${tag}`])).stdout.trim()
}

/** The commit `ref` resolves to in the bare repo (tags are peeled); throws if it does not exist. */
export async function revParse(server: FixtureServer, name: string, ref: string): Promise<string> {
  const [sha] = await resolveAll(server, name, [`${ref}^{commit}`])
  if (!sha) throw new Error(`git-server: ${name} has no ref ${ref}`)
  return sha
}
