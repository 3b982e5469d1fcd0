#!/usr/bin/env -S -u NODE_OPTIONS node
// (NODE_OPTIONS is dropped: tap puts its process-info hook there, which costs 0.25 s a start.)
// A stand-in for `codex` 0.171, driven by the test that starts it.
//
// It honours the flags of `codex exec`, `codex sandbox` and `codex login status` and refuses,
// loudly and with a non-zero exit, any flag or -c key the real 0.171 does not have, a flag given
// twice or a switch given a value, a -c value that is not TOML, a feature that does not exist, a
// missing CODEX_HOME, a git check it would fail, or a missing provider key; so a test that passes
// proves jgo's argv and environment. `exec --remote` and `--remote-auth-token-env` are checked as
// the real one checks them, and then fail to connect, as the real one does with no app server
// there. It reads stdin to its end before anything else (and so hangs if jgo never closes it),
// then follows a script:
//
//   CODEX_FAKE_SCRIPT  a JSON file: { "login": "ok" | "none", "steps": [ … ], "exit": 0 }
//     { "event": {…} }                     print one JSONL event (strings templated, see below)
//     { "write": "path", "content": "…" }  write a file (relative to the cwd)
//     { "sleep": ms }
//     { "stderr": "line" }
//     { "hang": true, "ignoreTerm": bool } start a grandchild in the group, then wait forever
//     { "exit": n }                        end now with exit code n
//     { "run": ["git", "commit", …] }      run a command in the cwd with codex's environment,
//                                          and emit its command_execution item
//   A script with "runs": [script, script, …] gives each exec invocation the next one, in order
//   (the edit run, then jgo-ship's planning run, in a whole pipeline).
//   Templates in strings: {{cwd}}, {{codex_home}}, {{env:NAME}}; and a variable's value encoded,
//   as a malicious agent would write it: {{b64:NAME}} (standard base64), {{b64url:NAME}},
//   {{hex:NAME}}, {{HEX:NAME}}, {{pct:NAME}} (every byte %XX).
//   `login status` without "login": logged in when $CODEX_HOME/auth.json exists (as the real one).
//   "sandbox": "ok" | "broken"   `codex sandbox [-c …] -- cmd…` runs cmd (unsandboxed) when ok (the
//                                default), or fails as the real one does where namespaces are denied.
//   "helpWithout": ["--output-schema", …]   flags left out of `codex exec --help` (an older codex).
//   Like the real one, exec records its session in $CODEX_HOME/sessions/YYYY/MM/DD/rollout-…-<thread>.jsonl
//   (not with --ephemeral): a session_meta line when a thread.started event is printed, and a
//   turn_context line naming the model (-m, else -c model=, else DEFAULT_MODEL) at each turn.started.
//   `exec resume <id> [-]` takes resume's narrower flags (the sandbox as -c sandbox_mode=), fails as the
//   real one does when no session of <id> is under CODEX_HOME, goes on in that session's file, prints
//   thread.started with <id>, and is recorded with "resumed": <id>.
//
//   CODEX_FAKE_RECORD  a file that gets one JSON line per invocation: argv, env, cwd, stdin,
//                      pid, pgid; and {"grandchild": pid} when a hang step starts one.
//
// Both variables start with CODEX_ so that they survive JGO_CODEX_ENV=minimal.
import { spawn, spawnSync } from 'node:child_process';
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, isAbsolute, join, resolve } from 'node:path';

const VERSION = 'codex-cli 0.171.0';
/** What 0.171 asks a custom provider for when neither -m nor -c model= names a model. */
const DEFAULT_MODEL = 'gpt-6.2-sol';
const env = process.env;

function die(message, code = 2) {
  process.stderr.write(`${message}\n`);
  process.exit(code);
}

function record(entry) {
  if (env.CODEX_FAKE_RECORD) appendFileSync(env.CODEX_FAKE_RECORD, `${JSON.stringify(entry)}\n`);
}

function pgid() {
  try {
    // /proc/self/stat: pid (comm) state ppid pgrp …
    const stat = readFileSync('/proc/self/stat', 'utf8');
    return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
  } catch {
    return undefined;
  }
}

const wholeScript = env.CODEX_FAKE_SCRIPT ? JSON.parse(readFileSync(env.CODEX_FAKE_SCRIPT, 'utf8')) : { steps: [] };
/** The exec invocations recorded before this one: which of `runs` this is. */
function execsSoFar() {
  if (!env.CODEX_FAKE_RECORD || !existsSync(env.CODEX_FAKE_RECORD)) return 0;
  return readFileSync(env.CODEX_FAKE_RECORD, 'utf8').split('\n').filter((l) => l.includes('"kind":"exec"')).length;
}
const script = Array.isArray(wholeScript.runs)
  ? { login: wholeScript.login, ...(wholeScript.runs[Math.min(execsSoFar(), wholeScript.runs.length - 1)] ?? { steps: [] }) }
  : wholeScript;

// --- TOML values of -c key=value (the subset anyone passes on a command line) ---
function parseToml(text) {
  let i = 0;
  const ws = () => {
    while (text[i] === ' ' || text[i] === '\t') i++;
  };
  const value = () => {
    ws();
    if (text[i] === '"') {
      let j = i + 1;
      let out = '';
      while (j < text.length && text[j] !== '"') {
        if (text[j] === '\\') j++;
        out += text[j];
        j++;
      }
      if (text[j] !== '"') throw new Error('unterminated string');
      const raw = text.slice(i, j + 1);
      i = j + 1;
      return JSON.parse(raw.replace(/\\U([0-9a-fA-F]{8})/g, (_, h) => String.fromCodePoint(parseInt(h, 16))));
    }
    if (text[i] === '[') {
      i++;
      const items = [];
      ws();
      if (text[i] === ']') {
        i++;
        return items;
      }
      for (;;) {
        items.push(value());
        ws();
        if (text[i] === ',') {
          i++;
          ws();
          if (text[i] === ']') {
            i++;
            return items;
          }
          continue;
        }
        if (text[i] === ']') {
          i++;
          return items;
        }
        throw new Error('bad array');
      }
    }
    const m = /^(true|false|-?\d+)/.exec(text.slice(i));
    if (!m) throw new Error(`not a TOML value: ${text.slice(i)}`);
    i += m[0].length;
    return m[0] === 'true' ? true : m[0] === 'false' ? false : Number(m[0]);
  };
  const v = value();
  ws();
  if (i !== text.length) throw new Error(`trailing text: ${text.slice(i)}`);
  return v;
}

const FEATURES = new Set(['shell_snapshot', 'plugins', 'unbounded_connection_retries', 'apps', 'goals', 'fast_mode']);
const CONFIG_KEYS = [
  [/^approval_policy$/, (v) => ['never', 'on-request', 'on-failure', 'untrusted'].includes(v)],
  [/^sandbox_mode$/, (v) => ['read-only', 'workspace-write', 'danger-full-access'].includes(v)],
  [/^sandbox_workspace_write\.(network_access|exclude_slash_tmp|exclude_tmpdir_env_var)$/, (v) => typeof v === 'boolean'],
  [/^features\.([a-z_]+)$/, (v, m) => typeof v === 'boolean' && FEATURES.has(m[1])],
  [/^analytics\.enabled$/, (v) => typeof v === 'boolean'],
  [/^model$/, (v) => typeof v === 'string'],
  [/^model_provider$/, (v) => typeof v === 'string'],
  [/^model_providers\.[A-Za-z0-9_-]+\.(name|base_url|env_key)$/, (v) => typeof v === 'string' && v !== ''],
  [/^model_providers\.[A-Za-z0-9_-]+\.wire_api$/, (v) => v === 'responses'],
  [/^model_providers\.[A-Za-z0-9_-]+\.(request_max_retries|stream_max_retries)$/, (v) => Number.isInteger(v)],
  [/^shell_environment_policy\.inherit$/, (v) => ['all', 'core', 'none'].includes(v)],
  [/^shell_environment_policy\.(exclude|include_only)$/, (v) => Array.isArray(v) && v.every((x) => typeof x === 'string')],
  [/^shell_environment_policy\.ignore_default_excludes$/, (v) => typeof v === 'boolean'],
];

function checkConfig(pair, config) {
  const eq = pair.indexOf('=');
  if (eq <= 0) die(`Error: Invalid override (missing '='): ${pair}`);
  const key = pair.slice(0, eq);
  let value;
  try {
    value = parseToml(pair.slice(eq + 1));
  } catch (error) {
    die(`fake-codex: -c ${pair}: the value is not TOML (${error.message}); the real codex would take it as a raw string`);
  }
  const rule = CONFIG_KEYS.find(([re]) => re.test(key));
  if (!rule) die(`fake-codex: -c ${key}: not a configuration key this fake knows codex 0.171 to have`);
  if (!rule[1](value, rule[0].exec(key))) die(`fake-codex: -c ${pair}: not a valid value for ${key}`);
  config[key] = value;
}

// --- flags ---
const EXEC_VALUE = new Map([
  ['-c', 'config'], ['--config', 'config'], ['--enable', 'enable'], ['--disable', 'disable'],
  ['-i', 'image'], ['--image', 'image'], ['-m', 'model'], ['--model', 'model'],
  ['--local-provider', 'local_provider'], ['-p', 'profile'], ['--profile', 'profile'],
  ['-s', 'sandbox'], ['--sandbox', 'sandbox'], ['-C', 'cd'], ['--cd', 'cd'], ['--add-dir', 'add_dir'],
  ['--thread-source', 'thread_source'], ['--cyber-access-program', 'cyber'], ['--output-schema', 'output_schema'],
  ['--color', 'color'], ['-o', 'output_last_message'], ['--output-last-message', 'output_last_message'],
  ['--remote', 'remote'], ['--remote-auth-token-env', 'remote_auth_token_env'],
]);
const EXEC_FLAGS = new Set([
  '--strict-config', '--oss', '--approve-for-me', '--dangerously-bypass-approvals-and-sandbox',
  '--dangerously-bypass-hook-trust', '--worktree', '--skip-git-repo-check', '--trust', '--ephemeral',
  '--ignore-user-config', '--ignore-rules', '--json',
]);
// `codex exec resume` takes fewer: no --sandbox, --cd, --add-dir, --profile, --color, --oss or --local-provider.
const RESUME_VALUE = new Map([...EXEC_VALUE].filter(([flag]) => !['-s', '--sandbox', '-C', '--cd', '--add-dir', '-p', '--profile', '--color', '--local-provider'].includes(flag)));
const RESUME_FLAGS = new Set([...[...EXEC_FLAGS].filter((flag) => !['--oss', '--approve-for-me'].includes(flag)), '--last', '--all']);
const LOGIN_VALUE = new Map([['-c', 'config'], ['--config', 'config'], ['--enable', 'enable'], ['--disable', 'disable']]);

function parse(args, valueFlags, flags) {
  const opts = { config: [], enable: [], disable: [], positional: [] };
  for (let i = 0; i < args.length; i++) {
    let arg = args[i];
    let inline;
    if (arg.startsWith('--') && arg.includes('=')) {
      inline = arg.slice(arg.indexOf('=') + 1);
      arg = arg.slice(0, arg.indexOf('='));
    }
    if (valueFlags.has(arg)) {
      const value = inline ?? args[++i];
      if (value === undefined) die(`error: a value is required for '${arg}' but none was supplied`);
      const name = valueFlags.get(arg);
      if (Array.isArray(opts[name])) opts[name].push(value);
      else if (opts[name] !== undefined && name !== 'config') die(`error: the argument '${arg}' cannot be used multiple times`);
      else opts[name] = value;
    } else if (flags.has(arg)) {
      const name = arg.slice(2).replace(/-/g, '_');
      if (inline !== undefined) die(`error: unexpected value '${inline}' for '${arg}' found; no more were expected`);
      if (opts[name] === true) die(`error: the argument '${arg}' cannot be used multiple times`);
      opts[name] = true;
    } else if (arg === '-h' || arg === '--help') {
      process.stdout.write(valueFlags === EXEC_VALUE ? execHelp() : 'fake codex help\n');
      process.exit(0);
    } else if (arg.startsWith('-') && arg !== '-') {
      die(`error: unexpected argument '${arg}' found\n\n  tip: to pass '${arg}' as a value, use '-- ${arg}'`);
    } else {
      opts.positional.push(arg);
    }
  }
  const config = {};
  for (const pair of opts.config) checkConfig(pair, config);
  for (const f of [...opts.enable, ...opts.disable]) if (!FEATURES.has(f)) die(`Error: Unknown feature flag: ${f}`, 1);
  opts.settings = config;
  return opts;
}

/** `codex exec --help` in the real one's shape: `  -c, --config <VALUE>` and `      --json`. */
function execHelp() {
  const without = new Set(script.helpWithout ?? []);
  const byName = new Map();
  for (const [flag, name] of EXEC_VALUE) byName.set(name, [...(byName.get(name) ?? []), flag]);
  const lines = [];
  for (const [name, flags] of byName) {
    const shown = flags.filter((f) => !without.has(f));
    if (shown.length === 0) continue;
    const short = shown.find((f) => !f.startsWith('--'));
    const long = shown.find((f) => f.startsWith('--'));
    lines.push(`  ${short ? `${short}, ` : '    '}${long ?? ''} <${name.toUpperCase()}>`);
  }
  for (const flag of EXEC_FLAGS) if (!without.has(flag)) lines.push(`      ${flag}`);
  lines.push('  -h, --help', '  -V, --version');
  return `Run Codex non-interactively (fake codex help)\n\nUsage: codex exec [OPTIONS] [PROMPT]\n\nOptions:\n${lines.join('\n')}\n`;
}

const SANDBOX_VALUE = new Map([
  ['-c', 'config'], ['--config', 'config'], ['--enable', 'enable'], ['--disable', 'disable'],
  ['-P', 'permission_profile'], ['--permission-profile', 'permission_profile'], ['-p', 'profile'], ['--profile', 'profile'],
  ['-C', 'cd'], ['--cd', 'cd'], ['--sandbox-state-json', 'state_json'], ['--sandbox-state-readable-root', 'readable_root'],
]);
const SANDBOX_FLAGS = new Set(['--sandbox-state-disable-network', '--include-managed-config', '--transparent-tcp']);

/** `codex sandbox [OPTIONS] [--] COMMAND…`: the options end at `--` or at the first word that is not one. */
function sandbox(args) {
  let end = args.indexOf('--');
  if (end < 0) {
    end = args.length;
    for (let i = 0; i < args.length; i++) {
      if (SANDBOX_VALUE.has(args[i])) i++;
      else if (!args[i].startsWith('-')) {
        end = i;
        break;
      }
    }
  }
  const opts = parse(args.slice(0, end), SANDBOX_VALUE, SANDBOX_FLAGS);
  const command = args.slice(args[end] === '--' ? end + 1 : end);
  requireCodexHome();
  record({ kind: 'sandbox', argv: process.argv.slice(2), env, cwd: process.cwd(), pid: process.pid, pgid: pgid() });
  if (command.length === 0) die('Error: sandbox command must not be empty', 1);
  // 0.171 routes TCP through a managed network proxy only; jgo configures none, so this always fails.
  if (opts.transparent_tcp) die('Error: --transparent-tcp requires a managed network proxy', 1);
  if (script.sandbox === 'broken') {
    die('Error: sandbox setup failed: bwrap: No permissions to create a new namespace, likely because the kernel does not allow non-privileged user namespaces.', 1);
  }
  const done = spawnSync(command[0], command.slice(1), { cwd: opts.cd ? resolve(opts.cd) : process.cwd(), env: process.env, stdio: 'inherit' });
  process.exit(done.status ?? 1);
}

function requireCodexHome() {
  const home = env.CODEX_HOME;
  if (home !== undefined && !existsSync(home)) {
    die(`Error finding codex home: CODEX_HOME points to "${home}", but that path does not exist`, 1);
  }
  return home ?? join(env.HOME ?? '/nonexistent', '.codex');
}

/** Reads stdin to its end: a pipe that is never closed waits here forever, as it hangs the real codex. */
async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

/** A value as `base64`, `xxd -p` or a thorough URL encoder would write it. */
function encoded(form, value) {
  const bytes = Buffer.from(value, 'utf8');
  if (form === 'b64') return bytes.toString('base64');
  if (form === 'b64url') return bytes.toString('base64url');
  if (form === 'hex') return bytes.toString('hex');
  if (form === 'HEX') return bytes.toString('hex').toUpperCase();
  return [...bytes].map((b) => `%${b.toString(16).padStart(2, '0').toUpperCase()}`).join('');
}

function template(value, ctx) {
  if (typeof value === 'string') {
    return value
      .replace(/\{\{cwd\}\}/g, ctx.cwd)
      .replace(/\{\{codex_home\}\}/g, ctx.codexHome)
      .replace(/\{\{env:([A-Za-z0-9_]+)\}\}/g, (_, name) => env[name] ?? '')
      .replace(/\{\{(b64|b64url|hex|HEX|pct):([A-Za-z0-9_]+)\}\}/g, (_, form, name) => encoded(form, env[name] ?? ''));
  }
  if (Array.isArray(value)) return value.map((v) => template(v, ctx));
  if (value && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, template(v, ctx)]));
  return value;
}

function insideGitRepo(dir) {
  for (let d = dir; ; d = dirname(d)) {
    if (existsSync(join(d, '.git'))) return true;
    if (dirname(d) === d) return false;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * `--remote` and `--remote-auth-token-env` (new in 0.171), checked as 0.171 checks them, before
 * stdin is read. Returns the address, normalized as codex prints it, for the connection that fails.
 */
function checkRemote(opts) {
  const remote = opts.remote;
  const tokenEnv = opts.remote_auth_token_env;
  if (tokenEnv !== undefined && remote === undefined) die('Error: `--remote-auth-token-env` requires `--remote`.', 1);
  if (remote === undefined) return undefined;
  const ws = /^(wss?):\/\/(\[[0-9A-Fa-f:.]+\]|[^/:[\]]+):(\d{1,5})$/i.exec(remote);
  const unix = /^unix:\/\//i.test(remote);
  if ((!ws || Number(ws[3]) > 65535) && !unix) {
    die(`Error: invalid remote address \`${remote}\`; expected \`ws://host:port\`, \`wss://host:port\`, \`unix://\`, or \`unix://PATH\``, 1);
  }
  if (tokenEnv !== undefined) {
    const secure = ws && (ws[1].toLowerCase() === 'wss' || ['127.0.0.1', 'localhost', '[::1]'].includes(ws[2].toLowerCase()));
    if (!secure) die('Error: `--remote-auth-token-env` requires a `wss://` or loopback `ws://` remote.', 1);
    if (env[tokenEnv] === undefined) die(`Error: environment variable \`${tokenEnv}\` is not set`, 1);
    if (env[tokenEnv] === '') die(`Error: environment variable \`${tokenEnv}\` is empty`, 1);
  }
  return ws ? `${ws[1].toLowerCase()}://${ws[2]}:${ws[3]}/` : remote;
}

/** The session file of `thread` under CODEX_HOME, as the real one keeps it; undefined when there is none. */
function findSession(codexHome, thread) {
  const root = join(codexHome, 'sessions');
  const walk = (dir, depth) => {
    for (const name of existsSync(dir) ? readdirSync(dir) : []) {
      const path = join(dir, name);
      if (depth < 3) {
        const found = walk(path, depth + 1);
        if (found) return found;
      } else if (name.startsWith('rollout-') && name.endsWith(`-${thread}.jsonl`)) return path;
    }
    return undefined;
  };
  return walk(root, 0);
}

/** The session record the real exec keeps under CODEX_HOME, as far as jgo reads it (a resumed one goes on in its file). */
function sessionLog(codexHome, cwd, opts, resumedFile) {
  if (opts.ephemeral) return () => {};
  let file = resumedFile;
  const model = opts.model ?? opts.settings.model ?? DEFAULT_MODEL;
  const line = (type, payload) => appendFileSync(file, `${JSON.stringify({ timestamp: new Date().toISOString(), type, payload })}\n`);
  return (event) => {
    if (event.type === 'thread.started' && file === undefined && typeof event.thread_id === 'string') {
      const now = new Date();
      const day = now.toISOString().slice(0, 10).split('-');
      const dir = join(codexHome, 'sessions', ...day);
      mkdirSync(dir, { recursive: true });
      file = join(dir, `rollout-${now.toISOString().slice(0, 19).replace(/:/g, '-')}-${event.thread_id}.jsonl`);
      line('session_meta', { id: event.thread_id, cwd, originator: 'codex_exec', cli_version: VERSION.split(' ')[1], source: 'exec' });
    } else if (event.type === 'turn.started' && file !== undefined) {
      line('turn_context', { cwd, approval_policy: opts.settings.approval_policy, model });
    }
  };
}

async function exec(args) {
  const resuming = args[0] === 'resume';
  const opts = resuming ? parse(args.slice(1), RESUME_VALUE, RESUME_FLAGS) : parse(args, EXEC_VALUE, EXEC_FLAGS);
  const codexHome = requireCodexHome();
  let resumed;
  if (resuming) {
    // `exec resume [SESSION_ID] [PROMPT]`: the id first, then the prompt (`-`: stdin).
    const [id, prompt, extra] = opts.positional;
    if (extra !== undefined) die(`error: unexpected argument '${extra}' found`);
    if (id === undefined) die(opts.last ? 'fake-codex: exec resume --last is not faked (jgo names the thread)' : 'Error: a session id or --last is required to resume', 2);
    resumed = { id, file: id === undefined ? undefined : findSession(codexHome, id) };
    if (resumed.file === undefined) die(`Error: thread/resume: thread/resume failed: no rollout found for thread id ${id} (code -32600)`, 1);
    opts.positional = prompt === undefined ? [] : [prompt];
    opts.sandbox = opts.settings.sandbox_mode;
  }
  if (opts.sandbox !== undefined && !['read-only', 'workspace-write', 'danger-full-access'].includes(opts.sandbox)) {
    die(`error: invalid value '${opts.sandbox}' for '--sandbox <SANDBOX_MODE>'`);
  }
  if (opts.positional.length > 1) die(`error: unexpected argument '${opts.positional[1]}' found`);
  const remote = checkRemote(opts);
  const cwd = opts.cd ? resolve(opts.cd) : process.cwd();
  let stdin = '';
  let prompt = opts.positional[0];
  if (prompt === undefined || prompt === '-') {
    process.stderr.write('Reading prompt from stdin...\n');
    stdin = await readStdin();
    prompt = stdin;
    if (prompt.trim() === '') die('No prompt provided via stdin.', 1);
  }
  record({ kind: 'exec', argv: process.argv.slice(2), env, cwd, stdin, pid: process.pid, pgid: pgid(), ...(resumed ? { resumed: resumed.id } : {}) });
  if (remote !== undefined) die(`Error: failed to connect to remote app server at \`${remote}\`: IO error: Connection refused (os error 111)`, 1);
  if (!opts.skip_git_repo_check && !insideGitRepo(cwd)) {
    die('Not inside a trusted directory and --skip-git-repo-check was not specified.', 1);
  }
  if (opts.output_schema !== undefined) {
    try {
      JSON.parse(readFileSync(opts.output_schema, 'utf8'));
    } catch (error) {
      die(`Failed to read output schema file ${opts.output_schema}: ${error.message}`, 1);
    }
  }
  const ctx = { cwd, codexHome };
  const emitted = [];
  const session = sessionLog(codexHome, cwd, opts, resumed?.file);
  const emit = (given) => {
    // A resumed exec goes on in the thread it resumed, whatever the script says.
    const event = resumed && given.type === 'thread.started' ? { ...given, thread_id: resumed.id } : given;
    emitted.push(event);
    session(event);
    process.stdout.write(`${JSON.stringify(event)}\n`);
  };
  const finish = (code) => {
    // Like the real one: the final message on success, an empty file otherwise.
    if (opts.output_last_message !== undefined) {
      const completed = emitted.some((e) => e.type === 'turn.completed');
      const messages = emitted.filter((e) => e.type === 'item.completed' && e.item?.type === 'agent_message');
      writeFileSync(opts.output_last_message, completed ? (messages.at(-1)?.item.text ?? '') : '');
    }
    process.exitCode = code;
  };
  if (opts.json !== true) die('fake-codex: jgo always passes --json');
  // A custom provider needs its key variable, checked before any request.
  const providerId = opts.settings.model_provider;
  if (providerId !== undefined) {
    const keyVar = opts.settings[`model_providers.${providerId}.env_key`];
    if (opts.settings[`model_providers.${providerId}.base_url`] === undefined) die(`Model provider \`${providerId}\` not found`, 1);
    if (keyVar !== undefined && !env[keyVar]) {
      emit({ type: 'thread.started', thread_id: '00000000-0000-7000-8000-000000000000' });
      emit({ type: 'turn.started' });
      emit({ type: 'error', message: `Missing environment variable: \`${keyVar}\`.` });
      emit({ type: 'turn.failed', error: { message: `Missing environment variable: \`${keyVar}\`.` } });
      finish(1);
      return;
    }
  }
  for (const step of script.steps ?? []) {
    if (step.event) emit(template(step.event, ctx));
    else if (step.write !== undefined) {
      const path = template(step.write, ctx);
      const file = isAbsolute(path) ? path : join(cwd, path);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, template(step.content ?? '', ctx));
    } else if (step.sleep !== undefined) await sleep(step.sleep);
    else if (step.stderr !== undefined) process.stderr.write(`${template(step.stderr, ctx)}\n`);
    else if (step.hang) {
      if (step.ignoreTerm) process.on('SIGTERM', () => {});
      const code = `${step.ignoreTerm ? "process.on('SIGTERM', () => {});" : ''} setInterval(() => {}, 1e9);`;
      const child = spawn(process.execPath, ['-e', code], { stdio: 'ignore' });
      record({ grandchild: child.pid, pid: process.pid });
      await new Promise(() => setInterval(() => {}, 1e9));
    } else if (step.exit !== undefined) {
      finish(step.exit);
      return;
    } else if (Array.isArray(step.run)) {
      const [command, ...args] = step.run.map((w) => template(w, ctx));
      const done = spawnSync(command, args, { cwd, env: process.env, encoding: 'utf8' });
      const id = `run_${emitted.length}`;
      const shown = step.run.join(' ');
      emit({ type: 'item.completed', item: { id, type: 'command_execution', command: shown, aggregated_output: `${done.stdout ?? ''}${done.stderr ?? ''}`, exit_code: done.status, status: done.status === 0 ? 'completed' : 'failed' } });
    }
  }
  finish(script.exit ?? 0);
}

function loginStatus(args) {
  parse(args, LOGIN_VALUE, new Set());
  const codexHome = requireCodexHome();
  record({ kind: 'login', argv: process.argv.slice(2), env, cwd: process.cwd(), pid: process.pid, pgid: pgid() });
  const loggedIn = script.login !== undefined ? script.login === 'ok' : existsSync(join(codexHome, 'auth.json'));
  if (loggedIn) {
    process.stderr.write('API key configured - sk-fake***12345\nAuthentication is checked when you send a request.\n');
    process.exit(0);
  }
  process.stderr.write('Not logged in\n');
  process.exit(1);
}

const [command, ...rest] = process.argv.slice(2);
if (command === '--version' || command === '-V') {
  process.stdout.write(`${VERSION}\n`);
} else if (command === 'exec' || command === 'e') {
  await exec(rest);
} else if (command === 'login' && rest[0] === 'status') {
  loginStatus(rest.slice(1));
} else if (command === 'sandbox') {
  sandbox(rest);
} else {
  die(`fake-codex: unsupported command: ${process.argv.slice(2).join(' ')}`);
}
