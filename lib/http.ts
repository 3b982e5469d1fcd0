/**
 * The HTTP under jgo's own requests: git's smart HTTP (lib/git/lsrefs.ts, push.ts) and the fetch
 * the openai SDK and the GitHub API get (http-fetch.ts). node:http, with node:https loaded only
 * for an https URL and node:zlib only for a gzipped answer; each answer is read whole.
 *
 * Why not isomorphic-git's client (simple-get), which the git exchanges used before: loading it
 * loads https, tls, crypto, zlib, url and querystring in every jgo-sync and jgo-ship start,
 * 15-20 ms of CPU, whatever the URL and the answer; and it holds every request body back by a
 * timer. And one thing it cannot do: send a request's headers before its body is known, which
 * lets a server start its side (a `git http-backend` process, say) while jgo still works.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage, RequestOptions } from 'node:http';

export interface Exchange {
  method: string;
  /** As given: an answer is gzipped only if they ask for it (and is then inflated here). */
  headers: Record<string, string>;
  /** The request body (a POST's). */
  body?: Buffer;
  /**
   * The headers go at once and the body only once this has settled: fulfilled, the body follows;
   * rejected, the request is abandoned (the server sees it cut short) with that reason.
   */
  after?: Promise<unknown>;
  signal?: AbortSignal;
  /** Redirects of a GET are followed (at most 10) unless this is false; other methods' never are. */
  followRedirects?: boolean;
}

export interface ExchangeAnswer {
  status: number;
  statusText: string;
  headers: IncomingHttpHeaders;
  /** The whole body, inflated when the server gzipped it. */
  body: Buffer;
  /** Where the answer came from, after any redirects. */
  url: string;
}

const MAX_REDIRECTS = 10;

function send(url: URL, options: RequestOptions): ClientRequest {
  if (url.protocol === 'https:') return process.getBuiltinModule('node:https').request(url, options);
  if (url.protocol === 'http:') return process.getBuiltinModule('node:http').request(url, options);
  throw new TypeError(`not an http(s) URL: ${url.protocol}`);
}

function once(url: URL, ex: Exchange): Promise<ExchangeAnswer> {
  return new Promise((resolve, reject) => {
    const { signal } = ex;
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    const headers = { ...ex.headers, ...(ex.body ? { 'content-length': String(ex.body.length) } : {}) };
    const req = send(url, { method: ex.method, headers });
    const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', reject);
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        try {
          const raw = Buffer.concat(chunks);
          const gzipped = /^(x-)?gzip$/i.test(String(res.headers['content-encoding'] ?? '').trim());
          const body = gzipped ? process.getBuiltinModule('node:zlib').gunzipSync(raw) : raw;
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body, url: url.href });
        } catch (error) {
          reject(error);
        }
      });
    });
    if (ex.after === undefined) {
      req.end(ex.body);
      return;
    }
    req.flushHeaders();
    ex.after.then(
      () => req.end(ex.body),
      (reason: unknown) => req.destroy(reason instanceof Error ? reason : new Error(String(reason))),
    );
  });
}

/** One HTTP exchange, its answer read whole. Transport failures reject as Node reports them. */
export async function exchange(target: string, ex: Exchange): Promise<ExchangeAnswer> {
  let url = new URL(target);
  let headers = ex.headers;
  for (let hop = 0; ; hop++) {
    const answer = await once(url, { ...ex, headers });
    const location = answer.headers.location;
    const redirect = answer.status >= 300 && answer.status < 400 && location !== undefined;
    if (!redirect || ex.method !== 'GET' || ex.followRedirects === false) return answer;
    if (hop === MAX_REDIRECTS) throw new Error(`too many redirects from ${new URL(target).host}`);
    const next = new URL(location, url);
    // Credentials go only where they were meant for.
    if (next.host !== url.host || next.protocol !== url.protocol) {
      headers = Object.fromEntries(Object.entries(headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
    }
    url = next;
  }
}
