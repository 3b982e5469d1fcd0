/** lib/http.ts: the HTTP under jgo's own requests, against a loopback server. */
import t, { type Test } from 'tap';
import http from 'node:http';
import { once } from 'node:events';
import { gzipSync } from 'node:zlib';
import { exchange } from '../lib/http.js';

interface Seen {
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  /** When the headers arrived, and when the body was complete (undefined: it never was). */
  at: number;
  bodyAt?: number;
  body: string;
}

async function server(t: Test, handle: (req: http.IncomingMessage, res: http.ServerResponse, seen: Seen) => void): Promise<{ url: string; seen: Seen[] }> {
  const seen: Seen[] = [];
  const srv = http.createServer((req, res) => {
    const record: Seen = { method: req.method ?? '', url: req.url ?? '', headers: req.headers, at: Date.now(), body: '' };
    seen.push(record);
    req.setEncoding('utf8');
    req.on('data', (d: string) => (record.body += d));
    req.on('end', () => {
      record.bodyAt = Date.now();
      handle(req, res, record);
    });
  });
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  t.teardown(() => new Promise<void>((done) => srv.close(() => done())));
  t.teardown(() => srv.closeAllConnections());
  const { port } = srv.address() as { port: number };
  return { url: `http://127.0.0.1:${port}`, seen };
}

t.test('a GET: the answer whole, gzip inflated, redirects followed', async (t) => {
  const { url, seen } = await server(t, (req, res) => {
    if (req.url === '/old') {
      res.writeHead(301, { location: '/new' }).end();
    } else if (req.url === '/new') {
      res.writeHead(200, { 'content-type': 'text/plain', 'content-encoding': 'gzip' }).end(gzipSync('hello there'));
    } else res.writeHead(404).end();
  });
  const answer = await exchange(`${url}/old`, { method: 'GET', headers: { authorization: 'Basic abc', 'accept-encoding': 'gzip' } });
  t.equal(answer.status, 200);
  t.equal(answer.body.toString(), 'hello there');
  t.equal(answer.url, `${url}/new`);
  t.equal(seen[0]?.headers['accept-encoding'], 'gzip', 'gzip is asked for');
  t.equal(seen[1]?.headers.authorization, 'Basic abc', 'the same host keeps the credentials');

  const kept = await exchange(`${url}/old`, { method: 'GET', headers: {}, followRedirects: false });
  t.equal(kept.status, 301, 'not followed when asked not to');
  t.equal(kept.headers.location, '/new');
});

t.test('a redirect to another host gets no credentials; a loop ends', async (t) => {
  const other = await server(t, (_req, res) => res.writeHead(200).end('there'));
  const { url } = await server(t, (req, res) => {
    res.writeHead(302, { location: req.url === '/away' ? `${other.url}/x` : '/loop' }).end();
  });
  const away = await exchange(`${url}/away`, { method: 'GET', headers: { authorization: 'Basic secret' } });
  t.equal(away.body.toString(), 'there');
  t.equal(other.seen[0]?.headers.authorization, undefined, 'the token does not follow to another host');
  await t.rejects(exchange(`${url}/loop`, { method: 'GET', headers: {} }), /too many redirects/);
});

t.test("a POST: its body with its length; a POST's redirect is not followed", async (t) => {
  const { url, seen } = await server(t, (req, res, record) => {
    if (req.url === '/moved') res.writeHead(307, { location: '/elsewhere' }).end();
    else res.writeHead(200).end(`got ${record.body}`);
  });
  const answer = await exchange(`${url}/rpc`, { method: 'POST', headers: { 'content-type': 'x/y' }, body: Buffer.from('0000') });
  t.equal(answer.body.toString(), 'got 0000');
  t.equal(seen[0]?.headers['content-length'], '4');
  const moved = await exchange(`${url}/moved`, { method: 'POST', headers: {}, body: Buffer.from('0000') });
  t.equal(moved.status, 307);
  t.equal(seen.length, 2, 'nothing was sent to where it pointed');
});

t.test('`after`: the headers go at once, the body when it is fulfilled; rejected, the request is cut short', async (t) => {
  const { url, seen } = await server(t, (_req, res, record) => res.writeHead(200).end(`got ${record.body}`));
  let go!: () => void;
  const after = new Promise<void>((resolve) => (go = resolve));
  const answering = exchange(`${url}/rpc`, { method: 'POST', headers: {}, body: Buffer.from('question'), after });
  while (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  t.equal(seen[0]?.bodyAt, undefined, 'the server has the request, not yet its body');
  await new Promise((resolve) => setTimeout(resolve, 30));
  const released = Date.now();
  go();
  const answer = await answering;
  t.equal(answer.body.toString(), 'got question');
  t.ok((seen[0]?.bodyAt ?? 0) >= released, 'the body came only once `after` was fulfilled');
  t.ok((seen[0]?.at ?? Infinity) < released - 20, 'the headers long before');

  let stop!: (reason: Error) => void;
  const cancelled = new Promise<void>((_resolve, reject) => (stop = reject));
  const failing = exchange(`${url}/rpc`, { method: 'POST', headers: {}, body: Buffer.from('never'), after: cancelled });
  while (seen.length === 1) await new Promise((resolve) => setTimeout(resolve, 5));
  stop(new Error('the push failed'));
  await t.rejects(failing, /the push failed/);
  await new Promise((resolve) => setTimeout(resolve, 30));
  t.equal(seen[1]?.bodyAt, undefined, 'the server never got the question');
});

t.test('an abort signal stops an exchange; an unreachable server is reported as Node says', async (t) => {
  const { url } = await server(t, () => {
    // never answers
  });
  const controller = new AbortController();
  const pending = exchange(`${url}/slow`, { method: 'GET', headers: {}, signal: controller.signal });
  setTimeout(() => controller.abort(new Error('stopped by SIGTERM')), 20);
  await t.rejects(pending, /stopped by SIGTERM/);
  await t.rejects(exchange('http://127.0.0.1:1/x', { method: 'GET', headers: {} }), { code: 'ECONNREFUSED' });
  await t.rejects(exchange('ftp://127.0.0.1/x', { method: 'GET', headers: {} }), /not an http\(s\) URL/);
});
