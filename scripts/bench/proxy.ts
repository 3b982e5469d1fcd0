/**
 * A loopback HTTP proxy in front of the bench's git server that reads what each push sends: the
 * bytes of every git-receive-pack request and the object count in its pack header. The push rows
 * point both jgo and native git at it, so "the push sends only the new objects" is a number
 * checked per run, not a claim. Everything else passes through untouched (one extra loopback hop
 * for both sides).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import zlib from 'node:zlib';

/** One push as the proxy saw it. */
export interface PushRecord {
  /** Request body bytes on the wire (the ref updates and the pack). */
  bytes: number;
  /** Objects in the pack, from its header; undefined when no pack was sent (a delete) or it could not be read. */
  objects: number | undefined;
}

export interface PushProxy {
  /** The proxy's base URL (no trailing slash). */
  url: string;
  /** The pushes seen since the last call, in order; empties the list. */
  take(): PushRecord[];
  close(): Promise<void>;
}

/** How much of a request body is kept to find the pack header (the ref-update lines come first). */
const HEAD_BYTES = 256 * 1024;

/** The object count of the pack that follows the pkt-lines of a receive-pack request, if it is there. */
export function packObjectCount(body: Buffer): number | undefined {
  let at = 0;
  for (;;) {
    if (body.length < at + 4) return undefined;
    const len = Number.parseInt(body.subarray(at, at + 4).toString('latin1'), 16);
    if (!Number.isFinite(len)) return undefined;
    if (len === 0) {
      at += 4;
      break;
    }
    if (len < 4) return undefined;
    at += len;
  }
  // Push certificates and push options would come as more pkt-line sections; jgo and the bench send none.
  if (body.length < at + 12 || body.subarray(at, at + 4).toString('latin1') !== 'PACK') return undefined;
  return body.readUInt32BE(at + 8);
}

export async function startPushProxy(target: string): Promise<PushProxy> {
  const upstream = new URL(target);
  let records: PushRecord[] = [];
  const server = http.createServer((req, res) => {
    const push = req.method === 'POST' && /\/git-receive-pack$/.test(req.url ?? '');
    const headers = { ...req.headers };
    // Node answers "Expect: 100-continue" itself; the upstream need not see it.
    delete headers.expect;
    headers.host = upstream.host;
    const out = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: req.url, headers }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    out.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'text/plain' });
      res.end(`bench proxy: ${error.message}\n`);
    });
    let bytes = 0;
    const head: Buffer[] = [];
    let kept = 0;
    req.on('data', (chunk: Buffer) => {
      bytes += chunk.length;
      if (push && kept < HEAD_BYTES) {
        head.push(chunk);
        kept += chunk.length;
      }
    });
    req.on('end', () => {
      if (!push) return;
      let body = Buffer.concat(head);
      if (body.length === 4 && body.toString('latin1') === '0000') return; // native git's auth probe
      const encoding = String(req.headers['content-encoding'] ?? '');
      if (encoding === 'gzip' || encoding === 'x-gzip') {
        try {
          body = zlib.gunzipSync(body, { finishFlush: zlib.constants.Z_SYNC_FLUSH });
        } catch {
          // leave it: the count is then unknown
        }
      }
      records.push({ bytes, objects: packObjectCount(body) });
    });
    req.pipe(out);
    res.on('close', () => {
      if (!res.writableFinished) out.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    take: () => {
      const taken = records;
      records = [];
      return taken;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
