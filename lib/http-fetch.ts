/**
 * A fetch for the openai SDK (and the GitHub API) on node:http. Node 20's own fetch (undici)
 * compiles its HTTP parser from WebAssembly on the first request: about 230 ms of every jgo-gate
 * start, for one small JSON call. node:http costs about 20 ms. Bodies are small JSON here, so the
 * answer is read whole before it is returned. node:https is loaded only for an https URL and
 * node:zlib only for a gzipped answer. `Headers` and `Response` are the standard ones, except in
 * jgo-gate's bundle, where the build puts lib/web-shims.ts in their place.
 */
import type { IncomingMessage } from 'node:http';

type FetchInput = string | URL | { url: string };

function bodyOf(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
  throw new TypeError('jgo fetch: only string and byte bodies are supported');
}

/**
 * Follows up to five redirects (307/308 keep the method and body; others become a GET), unless
 * `redirect: 'manual'`. As fetch does, a redirect to another origin drops the Authorization
 * header: a key or token goes only where it was meant for.
 */
export async function nodeFetch(input: FetchInput, init: RequestInit = {}): Promise<Response> {
  let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  let current = init;
  for (let hop = 0; ; hop++) {
    const response = await once(url, current);
    const location = response.headers.get('location');
    if (init.redirect === 'manual' || ![301, 302, 303, 307, 308].includes(response.status) || !location || hop === 5) return response;
    const next = new URL(location, url);
    if (next.origin !== url.origin) {
      const headers = new Headers(current.headers);
      headers.delete('authorization');
      current = { ...current, headers };
    }
    if (response.status !== 307 && response.status !== 308) current = { ...current, method: 'GET', body: null };
    url = next;
  }
}

interface Answer {
  status: number;
  statusText: string;
  headers: IncomingMessage['headers'];
  body: Buffer;
}

/** One exchange on node:http(s), its answer read whole (and inflated when gzipped). */
function exchange(url: URL, method: string, headers: Record<string, string>, body: Buffer | undefined, signal: AbortSignal | undefined): Promise<Answer> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason);
      return;
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new TypeError(`not an http(s) URL: ${url.protocol}`);
    const transport = process.getBuiltinModule(url.protocol === 'https:' ? 'node:https' : 'node:http');
    const req = transport.request(url, { method, headers: { ...headers, ...(body ? { 'content-length': String(body.length) } : {}) } });
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
          resolve({ status: res.statusCode ?? 0, statusText: res.statusMessage ?? '', headers: res.headers, body: gzipped ? process.getBuiltinModule('node:zlib').gunzipSync(raw) : raw });
        } catch (error) {
          reject(error);
        }
      });
    });
    req.end(body);
  });
}

async function once(url: URL, init: RequestInit): Promise<Response> {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value;
  });
  const signal = init.signal ?? undefined;
  const method = init.method ?? 'GET';
  let answer;
  try {
    answer = await exchange(url, method, headers, bodyOf(init.body), signal);
  } catch (error) {
    throw signal?.aborted ? (signal.reason ?? error) : new TypeError('fetch failed', { cause: error });
  }
  const responseHeaders = new Headers();
  for (const [key, value] of Object.entries(answer.headers)) {
    if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
    else if (value !== undefined) responseHeaders.set(key, value);
  }
  const status = answer.status || 502;
  const empty = status === 204 || status === 304 || method === 'HEAD';
  return new Response(empty ? null : answer.body, { status, statusText: answer.statusText, headers: responseHeaders });
}
