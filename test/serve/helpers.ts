/**
 * A world for `jgo serve` tests: the loopback git server with acme/widgets, the loopback model
 * server for the gate, the loopback GitHub API, the fake codex, and the built `jgo serve` started
 * as a process, whose first stdout line is its base URL.
 */
import type { Test } from 'tap';
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { bin, baseEnv, tempDir } from '../helpers/run.js';
import { startGitServer, createBareRepo, runGit, type GitServer } from '../helpers/git-server.js';
import { startLlmServer, gateAnswer, type LlmReply } from '../helpers/llm-server.js';
import { startGitHubServer, type GitHubServer } from '../helpers/github-server.js';
import { fakeCodex, ev, type FakeScript, type FakeStep } from '../helpers/fake-codex.js';

export const GITHUB_TOKEN = 'gh-test-token-serve-0123456789';
export const OPENAI_KEY = 'test-key-serve-abcdef123456';
export const SERVE_KEY = 'serve-key-0123456789abcdef0123';

/**
 * One script for every codex exec, edit and plan alike: it writes notes.md with the working
 * copy's path (so every run changes it) and answers a plan committing it. Runs at once take
 * scripts in any order; this one fits either.
 */
export function anyRun(extra: FakeStep[] = []): FakeScript {
  const plan = { commits: [{ subject: 'docs: add notes', body: '', paths: ['notes.md'] }] };
  return { login: 'ok', steps: [ev.threadStarted(), ev.turnStarted(), ...extra, { write: 'notes.md', content: 'notes for {{cwd}}\n' }, ev.message('m', JSON.stringify(plan)), ev.turnCompleted()] };
}

export interface World {
  git: GitServer;
  github: GitHubServer;
  llm: Awaited<ReturnType<typeof startLlmServer>>;
  cache: string;
  home: string;
  env: Record<string, string>;
  fake: ReturnType<typeof fakeCodex>;
  /** Rewrites the fake codex's script (for the next execs). */
  script: (s: FakeScript) => void;
}

export async function world(t: Test, options: { replies?: LlmReply[]; codex?: FakeScript; env?: Record<string, string> } = {}): Promise<World> {
  const git = await startGitServer();
  t.teardown(git.close);
  await createBareRepo(git, 'acme/widgets.git', { files: { 'README.md': '# widgets\n' } });
  const github = await startGitHubServer({ token: GITHUB_TOKEN, repos: { 'acme/widgets': {} } });
  t.teardown(github.close);
  const replies = options.replies ?? Array.from({ length: 40 }, () => gateAnswer({ executable: true, repo_ref: '', optimized_prompt: 'Write notes.md.' }));
  const llm = await startLlmServer(replies);
  t.teardown(llm.close);
  const cache = tempDir(t);
  const home = tempDir(t);
  const dir = tempDir(t);
  const fake = fakeCodex(dir, options.codex ?? anyRun());
  const env = {
    ...baseEnv(home),
    OPENAI_BASE_URL: llm.url,
    OPENAI_API_KEY: OPENAI_KEY,
    MODEL: 'gpt-test-mini',
    JGO_GIT_BASE_URL: git.url,
    JGO_CACHE_DIR: cache,
    GITHUB_TOKEN,
    JGO_GITHUB_API_URL: github.url,
    ...fake.env,
    ...options.env,
  };
  return { git, github, llm, cache, home, env, fake, script: (s) => writeFileSync(join(dir, 'fake-script.json'), JSON.stringify(s)) };
}

export interface Served {
  url: string;
  child: ChildProcess;
  stderr: () => string;
  /** Resolves with the exit code once the server has ended. */
  exited: Promise<number | null>;
  client: (key?: string) => OpenAI;
}

/** Starts `jgo serve --port 0`; the test's teardown ends it. */
export async function serve(t: Test, w: World, extra: Record<string, string> = {}, args: string[] = []): Promise<Served> {
  const child = spawn(process.execPath, [bin('jgo'), 'serve', ...(args.includes('--port') ? [] : ['--port', '0']), ...args], { cwd: w.home, env: { ...w.env, ...extra }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  let stdout = '';
  child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
      child.kill('SIGKILL');
    }
  });
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      stdout += d;
      if (stdout.includes('\n')) resolve(stdout.split('\n')[0]!);
    });
    void exited.then((code) => reject(new Error(`jgo serve exited ${code}: ${stderr}`)));
  });
  return {
    url,
    child,
    stderr: () => stderr,
    exited,
    client: (key = extra.JGO_SERVE_API_KEYS?.split(',')[0] ?? 'none') => new OpenAI({ baseURL: `${url}/v1`, apiKey: key, maxRetries: 0, timeout: 60_000 }),
  };
}

/** The remote branch's commit subjects, oldest first. */
export async function subjects(w: World, branch: string): Promise<string[]> {
  const log = await runGit(w.git, ['--git-dir', join(w.git.root, 'acme/widgets.git'), 'log', '--reverse', '--format=%s', branch]);
  return log.stdout.trim().split('\n');
}

/** A streamed answer's whole text. */
export async function streamed(stream: AsyncIterable<OpenAI.ChatCompletionChunk>): Promise<string> {
  let text = '';
  for await (const part of stream) text += part.choices[0]?.delta?.content ?? '';
  return text;
}

/** Polls `check` until it holds (or fails after `ms`). */
export async function until(check: () => Promise<boolean> | boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 100));
  }
}
