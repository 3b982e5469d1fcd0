/**
 * One loopback base URL in front of two test servers: Chat Completions to one, the Responses API
 * to the other. jgo's gate and codex (JGO_CODEX_PROVIDER=openai-compatible) share one
 * OPENAI_BASE_URL, as they would share one LiteLLM.
 */
import { createServer, request } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Router {
  url: string;
  close: () => Promise<void>;
}

/** `routes` maps a path suffix (e.g. "/chat/completions") to a base URL ending in /v1. */
export async function startRouter(routes: Record<string, string>): Promise<Router> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').replace(/^\/v1/, '');
    const target = Object.entries(routes).find(([suffix]) => path.startsWith(suffix))?.[1];
    if (!target) {
      res.writeHead(404, { 'content-type': 'application/json' }).end('{"error":{"message":"no route"}}');
      return;
    }
    const url = new URL(`${target}${path}`);
    const upstream = request(url, { method: req.method, headers: { ...req.headers, host: url.host } }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    close: async () => {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
