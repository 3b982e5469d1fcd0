/**
 * A fetch for the openai SDK on node:http. Node 20's own fetch (undici) compiles its HTTP parser
 * from WebAssembly on the first request: about 230 ms of every jgo-gate start, for one small
 * JSON call. node:http costs about 20 ms. Bodies are small JSON here, so the answer is read whole
 * before it is returned. `Headers` and `Response` are the standard ones, except in jgo-gate's
 * bundle, where the build puts lib/web-shims.ts in their place.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

type FetchInput = string | URL | { url: string };

function bodyOf(body: unknown): string | Uint8Array | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return body;
  if (body instanceof Uint8Array) return body;
  if (body instanceof ArrayBuffer) return new Uint8Array(body);
  throw new TypeError('jgo fetch: only string and byte bodies are supported');
}

/** Follows up to five redirects (307/308 keep the method and body; others become a GET). */
export async function nodeFetch(input: FetchInput, init: RequestInit = {}): Promise<Response> {
  let url = new URL(typeof input === 'string' || input instanceof URL ? input : input.url);
  let current = init;
  for (let hop = 0; ; hop++) {
    const response = await once(url, current);
    const location = response.headers.get('location');
    if (init.redirect === 'manual' || ![301, 302, 303, 307, 308].includes(response.status) || !location || hop === 5) return response;
    url = new URL(location, url);
    if (response.status !== 307 && response.status !== 308) current = { ...current, method: 'GET', body: null };
  }
}

function once(url: URL, init: RequestInit): Promise<Response> {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value;
  });
  const body = bodyOf(init.body);
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const signal = init.signal ?? undefined;
    if (signal?.aborted) {
      reject(signal.reason ?? new DOMException('The operation was aborted.', 'AbortError'));
      return;
    }
    const req = send(url, { method: init.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('error', reject);
      res.on('end', () => {
        const responseHeaders = new Headers();
        for (const [key, value] of Object.entries(res.headers)) {
          if (Array.isArray(value)) for (const v of value) responseHeaders.append(key, v);
          else if (value !== undefined) responseHeaders.set(key, value);
        }
        const status = res.statusCode ?? 502;
        const empty = status === 204 || status === 304 || init.method === 'HEAD';
        resolve(new Response(empty ? null : Buffer.concat(chunks), { status, statusText: res.statusMessage ?? '', headers: responseHeaders }));
      });
    });
    const onAbort = () => req.destroy(signal?.reason instanceof Error ? signal.reason : new DOMException('The operation was aborted.', 'AbortError'));
    signal?.addEventListener('abort', onAbort, { once: true });
    req.on('close', () => signal?.removeEventListener('abort', onAbort));
    req.on('error', (error) => reject(signal?.aborted ? (signal.reason ?? error) : new TypeError('fetch failed', { cause: error })));
    req.end(body);
  });
}
