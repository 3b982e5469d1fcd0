/**
 * The remote's refs over smart HTTP, read by jgo (the HTTP is lib/http.ts). Two readers:
 *
 * - `readAdvertisement`: protocol v1, one GET for every branch and tag and the default branch.
 *   This is jgo-sync's question on every run. isomorphic-git's listServerRefs answers it too,
 *   but loading isomorphic-git itself costs a process 20-30 ms of CPU, which a warm sync (nothing
 *   to fetch) then never uses; the transport alone is a few milliseconds.
 * - `openRefReader`: protocol v2 `ls-refs`, with its two halves apart. A v2 conversation is a GET
 *   of the capability advertisement and then a POST per command; smart HTTP is stateless, so the
 *   GET can be done ahead, while other work runs, and a question asked later costs one round
 *   trip, not two. jgo-ship reads the remote's branch right after its push this way, with the
 *   POST's headers sent as the push starts and its question once the push is answered: the
 *   remote's side (a `git http-backend` process) is started by then, and the proof of the push
 *   costs the run a few milliseconds after the push, not a whole exchange.
 *
 * Both, and jgo-ship's own push (push.ts), go through `smartHttp`, which sends the token in a
 * header from the first request, never in the URL (isomorphic-git asks without it first and again
 * after the 401). An answer that is not what a smart server sends
 * gives `undefined`, and the caller asks isomorphic-git, which says what is wrong.
 */
import { TOKEN_USER, type GitCredentials } from './auth.js';
import type { JgoError } from '../errors.js';
import { classifyIsoFailure } from './iso.js';
import { exchange } from '../http.js';

export interface RefReader {
  /**
   * The refs under `prefix` (a full ref name is its own prefix), name to object id. With `after`,
   * the request's headers go now and the question once `after` is fulfilled (rejected: not asked).
   */
  refs(prefix: string, after?: Promise<unknown>): Promise<Map<string, string>>;
}

/** The flush packet: the end of a list (and of a push's commands, before its pack). */
export const FLUSH = Buffer.from('0000');
const DELIM = Buffer.from('0001');

/** One pkt-line: its payload behind four hex digits of length (the payload's and their own). */
export function pkt(payload: string | Buffer): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload) : payload;
  return Buffer.concat([Buffer.from((body.length + 4).toString(16).padStart(4, '0')), body]);
}

/** The payloads of a pkt-line stream as bytes; flush, delimiter and response-end packets are skipped. */
export function pktPayloads(data: Buffer): Buffer[] {
  const payloads: Buffer[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const size = Number.parseInt(data.toString('latin1', at, at + 4), 16);
    if (Number.isNaN(size)) throw new Error('not a pkt-line stream');
    if (size < 4) {
      at += 4; // 0000 flush, 0001 delimiter, 0002 response end
      continue;
    }
    if (at + size > data.length) throw new Error('a pkt-line runs past the end of the answer');
    payloads.push(data.subarray(at + 4, at + size));
    at += size;
  }
  return payloads;
}

/** The payloads of a pkt-line stream as text, without their newlines. */
export function pktLines(data: Buffer): string[] {
  return pktPayloads(data).map((p) => p.toString('utf8').replace(/\n$/, ''));
}

/** A protocol v1 ref advertisement: every ref it lists, and the capabilities on its first line. */
export interface V1Advertisement {
  refs: Map<string, string>;
  capabilities: Set<string>;
}

const OID = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/**
 * The advertisement a smart server answers `GET info/refs?service=<service>` with (protocol v1);
 * undefined when the answer is not one. An empty repository lists only `capabilities^{}`.
 */
export function parseV1Advertisement(body: Buffer, service: 'git-upload-pack' | 'git-receive-pack'): V1Advertisement | undefined {
  const lines = pktLines(body);
  if (lines[0] !== `# service=${service}` || lines.length < 2) return undefined;
  const refs = new Map<string, string>();
  let capabilities = new Set<string>();
  for (const [i, line] of lines.slice(1).entries()) {
    const nul = line.indexOf('\0');
    if (i === 0) {
      if (nul === -1) return undefined; // the first ref carries the capabilities
      capabilities = new Set(line.slice(nul + 1).split(' ').filter(Boolean));
    }
    const head = nul === -1 ? line : line.slice(0, nul);
    const space = head.indexOf(' ');
    const oid = head.slice(0, space);
    if (space === -1 || !OID.test(oid)) return undefined;
    const name = head.slice(space + 1);
    if (name !== 'capabilities^{}') refs.set(name, oid);
  }
  return { refs, capabilities };
}

function authHeader(credentials: GitCredentials | undefined): Record<string, string> {
  // As isomorphic-git sends it (lib/git/iso.ts): a header, never the URL.
  return credentials ? { authorization: `Basic ${Buffer.from(`${TOKEN_USER}:${credentials.token}`).toString('base64')}` } : {};
}

/** One smart-HTTP request: the advertisement (GET) or a command (POST), for one service. */
export interface SmartRequest {
  service: 'git-upload-pack' | 'git-receive-pack';
  /** The request body: a POST to the service; without it, the GET of its advertisement. */
  post?: Buffer;
  /** Ask for protocol v2 (upload-pack). */
  v2?: boolean;
  signal?: AbortSignal;
  /** A GET's redirects are followed unless this is false (a POST's never are). */
  followRedirects?: boolean;
  /** A POST's headers go at once, its body once this is fulfilled (see lib/http.ts). */
  after?: Promise<unknown>;
}

export interface SmartAnswer {
  status: number;
  type: string;
  body: Buffer;
}

/**
 * One exchange with a smart-HTTP remote (lib/http.ts), the token in a header. Transport failures are
 * thrown as they come: the caller says what they mean.
 */
export async function smartHttp(url: string, credentials: GitCredentials | undefined, req: SmartRequest): Promise<SmartAnswer> {
  const base = url.replace(/\/+$/, '');
  const res = await exchange(req.post ? `${base}/${req.service}` : `${base}/info/refs?service=${req.service}`, {
    method: req.post ? 'POST' : 'GET',
    headers: {
      ...authHeader(credentials),
      'user-agent': 'git/jgo',
      // As git asks: a large ref advertisement comes compressed.
      'accept-encoding': 'gzip',
      ...(req.v2 ? { 'git-protocol': 'version=2' } : {}),
      ...(req.post ? { 'content-type': `application/x-${req.service}-request`, accept: `application/x-${req.service}-result` } : {}),
    },
    ...(req.post ? { body: req.post } : {}),
    ...(req.after ? { after: req.after } : {}),
    ...(req.signal ? { signal: req.signal } : {}),
    ...(req.followRedirects === false ? { followRedirects: false } : {}),
  });
  return { status: res.status, type: String(res.headers['content-type'] ?? ''), body: res.body };
}

/** An HTTP status other than 200, worded as the git layer words it (auth_failed, repo_not_found, …). */
export function statusFailure(status: number, url: string, credentials: GitCredentials | undefined): JgoError {
  return classifyIsoFailure(Object.assign(new Error(`HTTP ${status}`), { data: { statusCode: status } }), url, credentials);
}

/**
 * Reads the remote's v2 capability advertisement now; the reader then asks `ls-refs` with one
 * POST per call. Undefined when the remote does not speak v2 with ls-refs, or cannot be read.
 */
export async function openRefReader(url: string, credentials: GitCredentials | undefined): Promise<RefReader | undefined> {
  try {
    const caps = await smartHttp(url, credentials, { service: 'git-upload-pack', v2: true });
    if (caps.status !== 200) return undefined;
    const lines = pktLines(caps.body).filter((l) => !l.startsWith('# service='));
    if (lines[0] !== 'version 2' || !lines.some((l) => l === 'ls-refs' || l.startsWith('ls-refs='))) return undefined;
    const format = lines.find((l) => l.startsWith('object-format='))?.slice('object-format='.length);
    return {
      async refs(prefix: string, after?: Promise<unknown>) {
        const post = Buffer.concat([
          pkt('command=ls-refs\n'),
          pkt('agent=git/jgo\n'),
          ...(format && format !== 'sha1' ? [pkt(`object-format=${format}\n`)] : []),
          DELIM,
          pkt(`ref-prefix ${prefix}\n`),
          FLUSH,
        ]);
        const answer = await smartHttp(url, credentials, { service: 'git-upload-pack', v2: true, post, ...(after ? { after } : {}) });
        if (answer.status !== 200) throw new Error(`ls-refs: HTTP ${answer.status}`);
        const refs = new Map<string, string>();
        for (const line of pktLines(answer.body)) {
          const [oid, name] = line.split(' ');
          if (oid && name && OID.test(oid) && name.startsWith(prefix)) refs.set(name, oid);
        }
        return refs;
      },
    };
  } catch {
    return undefined;
  }
}

/** A remote's branches and tags (peeled tags left out), and its default branch when it says. */
export interface Advertisement {
  refs: Map<string, string>;
  defaultBranch: string | undefined;
}

/** A protocol v1 upload-pack advertisement's refs and HEAD's target; undefined when it is not one. */
export function parseAdvertisement(body: Buffer): Advertisement | undefined {
  const advertised = parseV1Advertisement(body, 'git-upload-pack');
  if (!advertised) return undefined;
  const refs = new Map<string, string>();
  for (const [name, oid] of advertised.refs) if (/^refs\/(heads|tags)\//.test(name) && !name.endsWith('^{}')) refs.set(name, oid);
  const symref = [...advertised.capabilities].find((c) => c.startsWith('symref=HEAD:refs/heads/'));
  return { refs, defaultBranch: symref?.slice('symref=HEAD:refs/heads/'.length) };
}

/**
 * The remote's refs in one protocol v1 GET. Throws the git layer's stable errors for a refusal
 * (auth_failed, repo_not_found), an unreachable server (network_error) or another HTTP status;
 * undefined when the answer is not a smart-HTTP advertisement.
 */
export async function readAdvertisement(url: string, credentials: GitCredentials | undefined, signal?: AbortSignal): Promise<Advertisement | undefined> {
  let answer: SmartAnswer;
  try {
    answer = await smartHttp(url, credentials, { service: 'git-upload-pack', ...(signal ? { signal } : {}) });
  } catch (error) {
    throw classifyIsoFailure(error, url, credentials);
  }
  if (answer.status !== 200) throw statusFailure(answer.status, url, credentials);
  if (!answer.type.startsWith('application/x-git-upload-pack-advertisement')) return undefined;
  try {
    return parseAdvertisement(answer.body);
  } catch {
    return undefined;
  }
}
