/**
 * `Headers`, `Response` and `FormData` for jgo-gate's bundle, given to the openai SDK in place of Node's
 * globals (the build injects them into that bundle only; see scripts/build.mjs).
 *
 * Why: Node 20 defines both globals lazily, and touching either loads all of undici, its fetch:
 * 50-60 ms of CPU in every jgo-gate start, on a path that never uses undici (the SDK's requests
 * go through lib/http-fetch.ts, on node:http). The SDK needs only the small part of both that is
 * here: headers by case-insensitive name, in sorted order, and a whole body read as text or JSON.
 */

type HeadersInit = Iterable<readonly [string, string]> | Record<string, string | readonly string[] | undefined> | ShimHeaders;

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

function checkedName(name: string): string {
  const lower = String(name).toLowerCase();
  if (!TOKEN.test(lower)) throw new TypeError(`Headers: invalid header name ${JSON.stringify(name)}`);
  return lower;
}

/** Leading and trailing HTTP whitespace removed, as the standard normalises a value. */
function normalizedValue(value: string): string {
  const text = String(value).replace(/^[\t\n\r ]+|[\t\n\r ]+$/g, '');
  if (/[\0\r\n]/.test(text)) throw new TypeError('Headers: invalid header value');
  return text;
}

export class ShimHeaders {
  readonly #map = new Map<string, string>();

  constructor(init?: HeadersInit | null) {
    if (init === undefined || init === null) return;
    if (init instanceof ShimHeaders) {
      init.forEach((value, name) => this.append(name, value));
    } else if (typeof (init as Iterable<unknown>)[Symbol.iterator] === 'function') {
      for (const pair of init as Iterable<readonly [string, string]>) {
        if (pair.length !== 2) throw new TypeError('Headers: each pair must have a name and a value');
        this.append(pair[0], pair[1]);
      }
    } else {
      for (const [name, value] of Object.entries(init as Record<string, string | readonly string[] | undefined>)) {
        if (value === undefined) continue;
        if (Array.isArray(value)) for (const v of value) this.append(name, v);
        else this.append(name, value as string);
      }
    }
  }

  append(name: string, value: string): void {
    const key = checkedName(name);
    const next = normalizedValue(value);
    const had = this.#map.get(key);
    this.#map.set(key, had === undefined ? next : `${had}, ${next}`);
  }

  set(name: string, value: string): void {
    this.#map.set(checkedName(name), normalizedValue(value));
  }

  get(name: string): string | null {
    return this.#map.get(checkedName(name)) ?? null;
  }

  has(name: string): boolean {
    return this.#map.has(checkedName(name));
  }

  delete(name: string): void {
    this.#map.delete(checkedName(name));
  }

  forEach(callback: (value: string, name: string, headers: ShimHeaders) => void, thisArg?: unknown): void {
    for (const [name, value] of this.entries()) callback.call(thisArg, value, name, this);
  }

  *entries(): IterableIterator<[string, string]> {
    for (const name of [...this.#map.keys()].sort()) yield [name, this.#map.get(name) as string];
  }

  *keys(): IterableIterator<string> {
    for (const [name] of this.entries()) yield name;
  }

  *values(): IterableIterator<string> {
    for (const [, value] of this.entries()) yield value;
  }

  [Symbol.iterator](): IterableIterator<[string, string]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return 'Headers';
  }
}

interface ResponseInit {
  status?: number;
  statusText?: string;
  headers?: HeadersInit;
}

/** A response whose body is already whole in memory (lib/http-fetch.ts reads it before resolving). */
export class ShimResponse {
  readonly status: number;
  readonly statusText: string;
  readonly headers: ShimHeaders;
  readonly url = '';
  readonly redirected = false;
  readonly type = 'default';
  #bytes: Uint8Array | null;
  #used = false;

  constructor(body?: string | Uint8Array | null, init: ResponseInit = {}) {
    this.status = init.status ?? 200;
    if (!Number.isInteger(this.status) || this.status < 200 || this.status > 599) throw new RangeError(`Response: status ${this.status} is out of range`);
    this.statusText = init.statusText ?? '';
    this.headers = init.headers instanceof ShimHeaders ? init.headers : new ShimHeaders(init.headers);
    this.#bytes = body === undefined || body === null ? null : typeof body === 'string' ? new TextEncoder().encode(body) : body;
  }

  get ok(): boolean {
    return this.status >= 200 && this.status < 300;
  }

  get bodyUsed(): boolean {
    return this.#used;
  }

  /** Always null: nothing streams here (the SDK only cancels a body, and null is nothing to cancel). */
  get body(): null {
    return null;
  }

  #take(): Uint8Array {
    if (this.#used) throw new TypeError('Response: body has already been read');
    this.#used = true;
    return this.#bytes ?? new Uint8Array(0);
  }

  async arrayBuffer(): Promise<ArrayBuffer> {
    const bytes = this.#take();
    return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  }

  async text(): Promise<string> {
    return new TextDecoder().decode(this.#take());
  }

  async json(): Promise<unknown> {
    return JSON.parse(await this.text());
  }

  get [Symbol.toStringTag](): string {
    return 'Response';
  }
}

/**
 * The SDK asks `body instanceof FormData` of every request body, which is all FormData is for
 * here: the gate sends JSON, and a multipart body cannot be made in this bundle.
 */
export class ShimFormData {
  constructor() {
    throw new TypeError('FormData is not available in jgo-gate');
  }
}

// The names the build's `inject` puts in place of the globals in jgo-gate's bundle.
export { ShimHeaders as Headers, ShimResponse as Response, ShimFormData as FormData };
