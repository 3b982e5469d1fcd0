/**
 * A fetch for the openai SDK (and the GitHub API) on node:http, through lib/http.ts. Node 20's own
 * fetch (undici) compiles its HTTP parser from WebAssembly on the first request: about 230 ms of
 * every jgo-gate start, for one small JSON call. node:http costs about 20 ms. Bodies are small
 * JSON here, so the answer is read whole before it is returned. `Headers` and `Response` are the
 * standard ones, except in jgo-gate's bundle, where the build puts lib/web-shims.ts in their place.
 */
import { exchange } from './http.js';

type FetchInput = string | URL | { url: string };

function bodyOf(body: unknown): Buffer | undefined {
  if (body === undefined || body === null) return undefined;
  if (typeof body === 'string') return Buffer.from(body);
  if (body instanceof Uint8Array) return Buffer.from(body.buffer, body.byteOffset, body.byteLength);
  if (body instanceof ArrayBuffer) return Buffer.from(body);
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

async function once(url: URL, init: RequestInit): Promise<Response> {
  const headers: Record<string, string> = {};
  new Headers(init.headers).forEach((value, key) => {
    headers[key] = value;
  });
  const signal = init.signal ?? undefined;
  const method = init.method ?? 'GET';
  const body = bodyOf(init.body);
  let answer;
  try {
    answer = await exchange(url.href, { method, headers, ...(body ? { body } : {}), ...(signal ? { signal } : {}), followRedirects: false });
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
