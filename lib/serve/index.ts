/**
 * `jgo serve`: the resident jgo. It listens (printing its base URL first on stdout, logging to
 * stderr), runs each chat turn as a `jgo run` through its queue, and on SIGTERM stops taking
 * requests, gives the runs at work JGO_SERVE_GRACE_S to finish, then interrupts the rest so that
 * `jgo resume` (or the next server, with JGO_SERVE_RESUME) continues them.
 */
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { configOf, loadSettings, resolveCacheDir } from '../config.js';
import { isLoopback } from '../authority.js';
import { UsageError } from '../errors.js';
import { Redactor } from '../redact.js';
import { secretNeedles } from '../needles.js';
import { Journal, listRunIds, threadOf } from '../run/journal.js';
import { makeMetrics } from './metrics.js';
import { RunQueue } from './queue.js';
import { startRun } from './runner.js';
import { buildServer } from './server.js';
import type { ServeState } from './state.js';

export interface ServeIO {
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /** The jgo script the runs are started with. */
  jgo: string;
  /** Ends the server as SIGTERM does (tests); default: SIGTERM or SIGINT. */
  stop?: Promise<unknown>;
}

/** The host as a URL has it: an IPv6 address in brackets. */
function urlHost(host: string): string {
  return host.includes(':') && !host.startsWith('[') ? `[${host}]` : host;
}

/** The state a server starts with, its settings checked (exit 2 for a bad one). */
function prepare(options: { host?: string | undefined; port?: number | undefined }, io: ServeIO): { state: ServeState; host: string; port: number } {
  const settings = loadSettings({ env: io.env, cwd: io.cwd });
  const config = configOf(settings);
  const host = options.host ?? config.JGO_SERVE_HOST;
  const port = options.port ?? config.JGO_SERVE_PORT;
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError('bad_flags', `--port ${String(port)} is not a port (0 to 65535; 0 picks a free one)`);
  const keys = config.JGO_SERVE_API_KEYS;
  if (keys.length === 0 && !isLoopback(urlHost(host))) {
    throw new UsageError('serve_needs_keys', `jgo serve on ${host} would take requests from anyone who can reach it, and JGO_SERVE_API_KEYS is not set`, {
      hint: 'Set JGO_SERVE_API_KEYS to one or more long random keys (comma-separated), or listen on 127.0.0.1.',
    });
  }
  const cache = resolveCacheDir(settings).path;
  const redact = new Redactor(secretNeedles(settings.secrets()));
  const metrics = makeMetrics();
  const log = (line: string) => io.stderr.write(`jgo serve: ${redact.text(line)}\n`);
  // The runs get jgo's environment without the server's keys: codex and its agent never see them.
  const env = { ...io.env };
  delete env.JGO_SERVE_API_KEYS;
  const queue = new RunQueue(config.JGO_SERVE_CONCURRENCY, config.JGO_SERVE_QUEUE_MAX, (depth, running) => {
    metrics.queueDepth.set(depth);
    metrics.inProgress.set(running);
  });
  const state: ServeState = {
    settings, env: io.env, cwd: io.cwd, cache, keys, redact, queue, metrics, log,
    runner: { jgo: io.jgo, env, cwd: io.cwd, redact },
    handles: new Set(), draining: false, interrupting: false,
  };
  return { state, host, port };
}

/**
 * Runs a server that died left `running`: each is marked interrupted (its process is gone), and
 * their ids are returned, for JGO_SERVE_RESUME.
 */
export async function recoverRuns(cache: string, log: (line: string) => void): Promise<string[]> {
  const interrupted: string[] = [];
  for (const id of await listRunIds(cache)) {
    const journal = await Journal.open(cache, id);
    if (!journal) continue;
    if (journal.record.status === 'running' && !journal.inProgress()) {
      journal.record = { ...journal.record, status: 'interrupted', ended: new Date().toISOString() };
      await journal.save();
      log(`run ${id} was left running by a jgo that stopped: marked interrupted (jgo resume ${id})`);
    }
    if (journal.record.status === 'interrupted') interrupted.push(id);
  }
  return interrupted;
}

export async function serveCommand(options: { host?: string | undefined; port?: number | undefined }, io: ServeIO): Promise<number> {
  let prepared: ReturnType<typeof prepare>;
  try {
    prepared = prepare(options, io);
  } catch (error) {
    const e = error instanceof UsageError ? error : new UsageError('invalid_setting', error instanceof Error ? error.message : String(error));
    io.stderr.write(`jgo: ${e.message}\n${e.hint ? `  ${e.hint}\n` : ''}`);
    return e.exitCode;
  }
  const { state, host, port } = prepared;
  const interrupted = await recoverRuns(state.cache, state.log);
  const app = buildServer(state);
  try {
    await app.listen({ host, port });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? (error instanceof Error ? error.message : String(error));
    io.stderr.write(`jgo: cannot listen on ${urlHost(host)}:${port}: ${code}\n  ${code === 'EADDRINUSE' ? 'Another process has that port: choose another with --port (0 picks a free one).' : 'Check --host and --port.'}\n`);
    return 1;
  }
  const address = app.server.address() as AddressInfo;
  io.stdout.write(`http://${urlHost(host)}:${address.port}\n`);
  state.log(`listening on http://${urlHost(host)}:${address.port} (${state.keys.length > 0 ? `${state.keys.length} API key(s)` : 'loopback, no keys'}), ${configOf(state.settings).JGO_SERVE_CONCURRENCY} runs at once`);
  if (configOf(state.settings).JGO_SERVE_RESUME) await resumeInterrupted(state, interrupted);
  await (io.stop ?? Promise.race([once(process, 'SIGTERM'), once(process, 'SIGINT')]));
  await shutdown(state, app);
  return 0;
}

/** JGO_SERVE_RESUME: the interrupted runs go through the queue, each after its thread's others. */
async function resumeInterrupted(state: ServeState, ids: string[]): Promise<void> {
  for (const id of [...ids].reverse()) {
    const journal = await Journal.open(state.cache, id);
    const key = journal ? threadOf(journal.record) : id;
    state.log(`resuming run ${id}`);
    state.queue.add({
      key,
      start: async () => {
        const handle = startRun({ request: '', resume: id }, state.runner, () => {}, () => {});
        state.handles.add(handle);
        const outcome = await handle.done.finally(() => state.handles.delete(handle));
        state.log(`run ${id} resumed: exit ${outcome.exitCode}`);
      },
      cancel: () => {},
      onPosition: () => {},
    });
  }
}

/** SIGTERM: no new runs, the grace for those at work, then interrupted; the listener closed. */
async function shutdown(state: ServeState, app: ReturnType<typeof buildServer>): Promise<void> {
  state.draining = true;
  state.queue.close();
  const grace = configOf(state.settings).JGO_SERVE_GRACE_S * 1000;
  state.log(`stopping: ${state.handles.size} run(s) at work get ${grace / 1000} s to finish`);
  const all = () => Promise.allSettled([...state.handles].map((h) => h.done));
  const timer = new Promise((resolve) => setTimeout(resolve, grace).unref());
  await Promise.race([all(), timer]);
  if (state.handles.size > 0) {
    state.interrupting = true;
    state.log(`interrupting ${state.handles.size} run(s): jgo resume continues them`);
    for (const handle of state.handles) handle.interrupt();
    await all();
  }
  await app.close();
  state.log('stopped');
}
