/**
 * Protocol v2 `ls-refs` over smart HTTP, with its two halves apart. A v2 conversation is a GET of
 * the capability advertisement and then a POST per command; smart HTTP is stateless, so the GET
 * can be done ahead, while other work runs, and a question asked later costs one round trip, not
 * two. jgo-ship reads the remote's branch right after its push this way: the proof of the push is
 * one exchange on the run's critical path. Anything unexpected (a server without v2, an error)
 * gives `undefined`, and the caller asks the ordinary way, which reports failures properly.
 */
import { TOKEN_USER, type GitCredentials } from './auth.js';
import { iso } from './iso.js';

export interface RefReader {
  /** The refs under `prefix` (a full ref name is its own prefix), name to object id. */
  refs(prefix: string): Promise<Map<string, string>>;
}

const FLUSH = '0000';
const DELIM = '0001';

function pkt(line: string): string {
  return `${(Buffer.byteLength(line) + 4).toString(16).padStart(4, '0')}${line}`;
}

/** The payloads of a pkt-line stream, without their newlines; flush and delimiter packets are skipped. */
export function pktLines(data: Buffer): string[] {
  const lines: string[] = [];
  let at = 0;
  while (at + 4 <= data.length) {
    const size = Number.parseInt(data.toString('latin1', at, at + 4), 16);
    if (Number.isNaN(size)) throw new Error('not a pkt-line stream');
    if (size < 4) {
      at += 4; // 0000 flush, 0001 delimiter, 0002 response end
      continue;
    }
    if (at + size > data.length) throw new Error('a pkt-line runs past the end of the answer');
    lines.push(data.toString('utf8', at + 4, at + size).replace(/\n$/, ''));
    at += size;
  }
  return lines;
}

async function collect(body: AsyncIterableIterator<Uint8Array> | undefined): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  if (body) for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function authHeader(credentials: GitCredentials | undefined): Record<string, string> {
  // As isomorphic-git sends it (lib/git/iso.ts): a header, never the URL.
  return credentials ? { authorization: `Basic ${Buffer.from(`${TOKEN_USER}:${credentials.token}`).toString('base64')}` } : {};
}

/**
 * Reads the remote's v2 capability advertisement now; the reader then asks `ls-refs` with one
 * POST per call. Undefined when the remote does not speak v2 with ls-refs, or cannot be read.
 */
export async function openRefReader(url: string, credentials: GitCredentials | undefined): Promise<RefReader | undefined> {
  const base = url.replace(/\/+$/, '');
  const auth = authHeader(credentials);
  try {
    const { http } = await iso();
    const res = await http.request({
      url: `${base}/info/refs?service=git-upload-pack`,
      method: 'GET',
      headers: { ...auth, 'git-protocol': 'version=2', 'user-agent': 'git/jgo' },
    });
    const body = await collect(res.body);
    if (res.statusCode !== 200) return undefined;
    const lines = pktLines(body).filter((l) => !l.startsWith('# service='));
    if (lines[0] !== 'version 2' || !lines.some((l) => l === 'ls-refs' || l.startsWith('ls-refs='))) return undefined;
    const format = lines.find((l) => l.startsWith('object-format='))?.slice('object-format='.length);
    return {
      async refs(prefix: string) {
        const request =
          pkt('command=ls-refs\n') +
          pkt('agent=git/jgo\n') +
          (format && format !== 'sha1' ? pkt(`object-format=${format}\n`) : '') +
          DELIM +
          pkt(`ref-prefix ${prefix}\n`) +
          FLUSH;
        const answer = await http.request({
          url: `${base}/git-upload-pack`,
          method: 'POST',
          headers: {
            ...auth,
            'git-protocol': 'version=2',
            'content-type': 'application/x-git-upload-pack-request',
            accept: 'application/x-git-upload-pack-result',
            'user-agent': 'git/jgo',
          },
          body: (async function* () {
            yield Buffer.from(request);
          })(),
        });
        const data = await collect(answer.body);
        if (answer.statusCode !== 200) throw new Error(`ls-refs: HTTP ${answer.statusCode}`);
        const refs = new Map<string, string>();
        for (const line of pktLines(data)) {
          const [oid, name] = line.split(' ');
          if (oid && name && /^[0-9a-f]{40}([0-9a-f]{24})?$/.test(oid) && name.startsWith(prefix)) refs.set(name, oid);
        }
        return refs;
      },
    };
  } catch {
    return undefined;
  }
}
