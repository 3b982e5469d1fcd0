/**
 * Proves the git smart-HTTP test server with native git as the client: clone,
 * fetch, push, request accounting, Basic auth, injected failures, gzip
 * request bodies, and that close() leaves no process or directory behind.
 */
import t, { type Test } from 'tap'
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { access, readFile, writeFile } from 'node:fs/promises'
import http from 'node:http'
import path from 'node:path'
import { promisify } from 'node:util'
import zlib from 'node:zlib'
import {
  basicAuthEnv,
  commitToBare,
  createBareRepo,
  createTag,
  deleteBranch,
  forcePush,
  revParse,
  runGit,
  startGitServer,
  type GitServer,
  type GitServerOptions,
} from './git-server.js'

const execFileP = promisify(execFile)

/** Every test owns its server; teardown closes it even when the test fails. */
async function serve(tt: Pick<Test, 'teardown'>, opts?: GitServerOptions): Promise<GitServer> {
  const server = await startGitServer(opts)
  tt.teardown(() => server.close())
  return server
}

/** Minimal raw HTTP client, for requests native git cannot be made to send. */
function request(
  url: string,
  opts: { method?: string; headers?: Record<string, string>; body?: Buffer },
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: Buffer }> {
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: opts.method ?? 'GET', headers: opts.headers }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }))
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

/** One pkt-line: 4 hex digits of length (including themselves), then the payload. */
function pkt(line: string): string {
  return (line.length + 4).toString(16).padStart(4, '0') + line
}

/** Live (non-zombie) processes in process group `pgid`. */
async function groupMembers(pgid: number): Promise<string[]> {
  const { stdout } = await execFileP('ps', ['-A', '-o', 'pid=,pgid=,stat=,comm='])
  return stdout
    .split('\n')
    .map((l) => l.trim().split(/\s+/))
    .filter((f) => f[1] === String(pgid) && !(f[2] ?? '').startsWith('Z'))
    .map((f) => `${f[0]} ${f[3]}`)
}

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  )
}

t.test('clone and fetch over HTTP; uploadPackCount counts pack negotiations', async (t) => {
  const server = await serve(t)
  t.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/)
  const first = await createBareRepo(server, 'acme/widgets.git', { files: { 'README.md': 'hello\n', 'src/a.txt': 'a\n' } })
  const dir = path.join(server.home, 'clone')

  await runGit(server, ['clone', '--quiet', server.repoUrl('acme/widgets.git'), dir])
  t.equal(await readFile(path.join(dir, 'src/a.txt'), 'utf8'), 'a\n')
  t.equal((await runGit(server, ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim(), first)
  t.equal((await runGit(server, ['symbolic-ref', '--short', 'HEAD'], { cwd: dir })).stdout.trim(), 'main')

  const refs = server.stats.find((r) => r.method === 'GET')
  t.match(refs, { path: '/acme/widgets.git/info/refs', query: 'service=git-upload-pack', status: 200, service: 'git-upload-pack', auth: false })
  t.ok(server.stats.every((r) => r.status === 200 && r.finished && r.responseBytes > 0), 'all requests succeeded')
  t.same(
    server.stats.filter((r) => r.method === 'POST').map((r) => r.command),
    ['ls-refs', 'fetch'],
    'native git speaks protocol v2',
  )
  t.equal(server.uploadPackCount(), 1, 'one pack transfer (ls-refs is not counted)')
  t.equal(server.receivePackCount(), 0)

  const second = await commitToBare(server, 'acme/widgets.git', { branch: 'main', files: { 'b.txt': 'b\n' } })
  await runGit(server, ['fetch', '--quiet'], { cwd: dir })
  t.equal((await runGit(server, ['rev-parse', 'origin/main'], { cwd: dir })).stdout.trim(), second)
  t.equal(server.uploadPackCount(), 2, 'fetching a new commit transfers a pack')
  await runGit(server, ['fetch', '--quiet'], { cwd: dir })
  t.equal(server.uploadPackCount(), 2, 'an up-to-date fetch only lists refs')

  server.resetStats()
  t.equal(server.stats.length, 0)
  await runGit(server, ['-c', 'protocol.version=0', 'clone', '--quiet', server.repoUrl('acme/widgets.git'), path.join(server.home, 'v0')])
  t.equal(server.uploadPackCount(), 1, 'protocol v0 clone: one POST')
  t.equal(server.stats.find((r) => r.method === 'POST')?.command, null)
})

t.test('push over HTTP', async (t) => {
  const server = await serve(t)
  await createBareRepo(server, 'p.git')
  const dir = path.join(server.home, 'work')
  await runGit(server, ['clone', '--quiet', server.repoUrl('p.git'), dir])
  await writeFile(path.join(dir, 'new.txt'), 'pushed\n')
  await runGit(server, ['add', 'new.txt'], { cwd: dir })
  await runGit(server, ['commit', '--quiet', '-m', 'add new.txt'], { cwd: dir })
  const local = (await runGit(server, ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim()

  server.resetStats()
  await runGit(server, ['push', '--quiet', 'origin', 'main', 'main:feature'], { cwd: dir })
  t.equal(await revParse(server, 'p.git', 'main'), local)
  t.equal(await revParse(server, 'p.git', 'feature'), local)
  t.equal(server.receivePackCount(), 1)
  t.equal(server.uploadPackCount(), 0)
  t.match(server.stats.find((r) => r.method === 'GET'), { query: 'service=git-receive-pack', service: 'git-receive-pack', status: 200 })
  t.ok((server.stats.find((r) => r.method === 'POST')?.requestBytes ?? 0) > 0, 'request bytes counted')

  // Over http.postBuffer (1 MiB) git first sends a 4-byte probe, then a chunked body without Content-Length.
  server.resetStats()
  await writeFile(path.join(dir, 'big.bin'), randomBytes(1536 * 1024))
  await runGit(server, ['add', 'big.bin'], { cwd: dir })
  await runGit(server, ['commit', '--quiet', '-m', 'big'], { cwd: dir })
  await runGit(server, ['push', '--quiet', 'origin', 'main'], { cwd: dir })
  const posts = server.stats.filter((r) => r.method === 'POST')
  t.same(
    posts.map((r) => r.probe),
    [true, false],
  )
  t.ok((posts[1]?.requestBytes ?? 0) > 1536 * 1024, 'whole pack streamed to http-backend')
  t.equal(server.receivePackCount(), 1, 'the probe is not counted')
  t.equal(await revParse(server, 'p.git', 'main'), (await runGit(server, ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim())
})

t.test('fixture helpers shape the served repo', async (t) => {
  const server = await serve(t)
  const name = 'org/fx.git'
  const c1 = await createBareRepo(server, name, { branch: 'trunk', files: { 'a.txt': 'a\n', 'dir/with space.txt': 'x\n' } })
  const c2 = await commitToBare(server, name, { branch: 'trunk', files: { 'b.txt': 'b\n' }, delete: ['a.txt'], message: 'second' })
  t.equal((await runGit(server, [`--git-dir=${path.join(server.root, name)}`, 'rev-parse', 'trunk^'])).stdout.trim(), c1)
  const feature = await commitToBare(server, name, { branch: 'feature', files: { 'f.txt': 'f\n' } })
  t.equal((await runGit(server, [`--git-dir=${path.join(server.root, name)}`, 'rev-parse', 'feature^'])).stdout.trim(), c2, 'new branch starts at HEAD')

  const light = await createTag(server, name, 'v1', 'trunk')
  const annotated = await createTag(server, name, 'v1-annotated', c1, true)
  t.equal(light, c2)
  t.not(annotated, c1, 'annotated tag ref points at a tag object')
  t.equal(await revParse(server, name, 'v1-annotated'), c1, 'revParse peels tags')

  const amended = await forcePush(server, name, 'trunk', { 'c.txt': 'c\n' }, { amend: true })
  const rewritten = await forcePush(server, name, 'feature', { 'only.txt': 'only\n' })
  await deleteBranch(server, name, 'feature')
  await t.rejects(revParse(server, name, 'feature'), /no ref feature/)
  await forcePush(server, name, 'feature', { 'only.txt': 'again\n' }) // (re)creates a branch too
  t.not(rewritten, feature)

  // Observe the result the way a client does.
  const dir = path.join(server.home, 'fx')
  await runGit(server, ['clone', '--quiet', server.repoUrl(name), dir])
  const ls = (await runGit(server, ['ls-tree', '-r', '--name-only', 'HEAD'], { cwd: dir })).stdout.trim().split('\n')
  t.same(ls, ['b.txt', 'c.txt', 'dir/with space.txt'], 'amend keeps the old tree plus new files')
  t.equal((await runGit(server, ['rev-parse', 'HEAD'], { cwd: dir })).stdout.trim(), amended)
  t.equal((await runGit(server, ['rev-parse', 'HEAD^'], { cwd: dir })).stdout.trim(), c1, 'amend keeps the parent')
  const remote = (await runGit(server, ['ls-remote', server.repoUrl(name)])).stdout
  t.match(remote, /\trefs\/tags\/v1-annotated\^\{\}\n/)
  t.match(remote, /\trefs\/heads\/feature\n/)
  t.equal((await runGit(server, ['ls-tree', '--name-only', 'origin/feature'], { cwd: dir })).stdout, 'only.txt\n', 'unrelated rewrite has exactly the given files')
})

t.test('Basic auth: 401 without or with wrong credentials, success with them', async (t) => {
  const auth = { username: 'robot', password: 's3cret-Pa55' }
  const server = await serve(t, { auth })
  await createBareRepo(server, 'private.git')
  const url = server.repoUrl('private.git')

  await t.rejects(runGit(server, ['clone', '--quiet', url, path.join(server.home, 'no')]), /Authentication failed|could not read Username/)
  t.match(server.stats[0], { status: 401, auth: false })

  const raw = await request(`${url}/info/refs?service=git-upload-pack`, {})
  t.equal(raw.status, 401)
  t.equal(raw.headers['www-authenticate'], 'Basic realm="jgo-test"')

  // A 401 despite an extraHeader makes git fall back to asking for a username, which prompts-off turns into an error.
  server.resetStats()
  await t.rejects(
    runGit(server, ['clone', '--quiet', url, path.join(server.home, 'wrong')], { env: basicAuthEnv('robot', 'nope') }),
    /Authentication failed|could not read Username/,
  )
  t.match(server.stats[0], { status: 401, auth: true })

  server.resetStats()
  const dir = path.join(server.home, 'ok')
  await runGit(server, ['clone', '--quiet', url, dir], { env: basicAuthEnv(auth.username, auth.password) })
  t.ok(await exists(path.join(dir, 'README.md')))
  t.ok(server.stats.length > 0 && server.stats.every((r) => r.auth && r.status === 200), 'every request authenticated')
  t.equal(server.uploadPackCount(), 1)

  // Pushes are allowed with credentials too (REMOTE_USER is set for http-backend).
  await writeFile(path.join(dir, 'x.txt'), 'x\n')
  await runGit(server, ['add', 'x.txt'], { cwd: dir })
  await runGit(server, ['commit', '--quiet', '-m', 'x'], { cwd: dir })
  await runGit(server, ['push', '--quiet', 'origin', 'main'], { cwd: dir, env: basicAuthEnv(auth.username, auth.password) })
  t.equal(server.receivePackCount(), 1)

  const recorded = JSON.stringify(server.stats)
  t.notMatch(recorded, auth.password)
  t.notMatch(recorded, Buffer.from(`${auth.username}:${auth.password}`).toString('base64'))
})

t.test('failNext answers the next requests with an error status', async (t) => {
  const server = await serve(t)
  await createBareRepo(server, 'f.git')
  server.failNext(503, 2)
  await t.rejects(runGit(server, ['ls-remote', server.repoUrl('f.git')]), /503/)
  await t.rejects(runGit(server, ['ls-remote', server.repoUrl('f.git')]), /503/)
  t.same(
    server.stats.map((r) => [r.status, r.injected]),
    [
      [503, true],
      [503, true],
    ],
  )
  await runGit(server, ['ls-remote', server.repoUrl('f.git')])
  t.equal(server.stats.at(-1)?.status, 200)

  // Statuses from http-backend itself are recorded too.
  await t.rejects(runGit(server, ['ls-remote', server.repoUrl('missing.git')]), /not found/)
  t.match(server.stats.at(-1), { status: 404, injected: false })
})

t.test('gzip-encoded request bodies are inflated by http-backend', async (t) => {
  const server = await serve(t)
  const sha = await createBareRepo(server, 'z.git')
  const headers = { 'content-type': 'application/x-git-upload-pack-request', 'content-encoding': 'gzip' }

  // Protocol v0: want + done answers NAK and a pack.
  const v0 = zlib.gzipSync(pkt(`want ${sha}\n`) + '0000' + pkt('done\n'))
  const res0 = await request(`${server.repoUrl('z.git')}/git-upload-pack`, { method: 'POST', headers, body: v0 })
  t.equal(res0.status, 200)
  t.equal(res0.headers['content-type'], 'application/x-git-upload-pack-result')
  t.ok(res0.body.includes('PACK'), 'pack data returned')
  t.match(server.stats[0], { command: null, requestBytes: v0.length, responseBytes: res0.body.length })

  // Protocol v2: the recorded command is read from the inflated body.
  const v2 = zlib.gzipSync(pkt('command=ls-refs\n') + pkt('agent=test\n') + '0001' + '0000')
  const res2 = await request(`${server.repoUrl('z.git')}/git-upload-pack`, {
    method: 'POST',
    headers: { ...headers, 'git-protocol': 'version=2' },
    body: v2,
  })
  t.equal(res2.status, 200)
  t.match(res2.body.toString('latin1'), `${sha} refs/heads/main`)
  t.equal(server.stats[1]?.command, 'ls-refs')
  t.equal(server.uploadPackCount(), 1, 'the v2 ls-refs request is not counted')
})

t.test('close() kills in-flight CGI processes and removes the root', async (t) => {
  const server = await startGitServer()
  t.teardown(() => server.close())
  await createBareRepo(server, 'c.git')

  // A push whose body never completes keeps http-backend and receive-pack waiting on stdin.
  const req = http.request(`${server.repoUrl('c.git')}/git-receive-pack`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-git-receive-pack-request', 'content-length': '100000' },
  })
  const failed = new Promise<void>((resolve) => {
    req.on('error', () => resolve())
    req.on('response', (res) => {
      res.resume()
      res.on('close', () => resolve())
    })
  })
  req.flushHeaders() // headers only: never a flush-pkt, which would let receive-pack finish

  let pid: number | null = null
  let members: string[] = []
  for (let i = 0; i < 200 && members.length < 2; i++) {
    await new Promise((r) => setTimeout(r, 25))
    pid = server.stats[0]?.pid ?? null
    if (pid !== null) members = await groupMembers(pid)
  }
  t.ok(pid !== null, 'request reached http-backend')
  t.ok(members.length >= 2, `http-backend and its git child are running: ${members.join(', ')}`)

  const started = Date.now()
  await server.close()
  t.ok(Date.now() - started < 5000, 'close() is prompt')
  await failed
  t.same(await groupMembers(pid ?? -1), [], 'no process of the CGI group survives')
  t.notOk(await exists(server.root), 'root removed')
  t.notOk(await exists(server.home), 'home removed')
  await server.close() // idempotent
})
