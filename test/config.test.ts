import t from 'tap';
import { writeFileSync, mkdirSync, accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { configOf, loadSettings, openAISettings, parseConfig, resolveCacheDir, settingOf, DEFAULT_CACHE_DIR } from '../lib/config.js';
import { UsageError } from '../lib/errors.js';
import { tempDir } from './helpers/run.js';

const settingsIn = (dir: string, env: NodeJS.ProcessEnv, file?: string) => {
  if (file !== undefined) writeFileSync(join(dir, '.env'), file);
  return loadSettings({ env, cwd: dir });
};

t.test('process environment wins over the env file, which wins over defaults', async (t) => {
  const dir = tempDir(t);
  const s = settingsIn(dir, { MODEL: 'from-env' }, 'MODEL=from-file\nJGO_CODEX_SANDBOX="read-only"\n');
  t.equal(s.get('MODEL'), 'from-env');
  t.equal(s.lookup('MODEL')?.source, 'env');
  t.equal(s.get('JGO_CODEX_SANDBOX'), 'read-only', 'quoted dotenv values are unquoted');
  t.equal(s.lookup('JGO_CODEX_SANDBOX')?.source, 'file');
  t.equal(s.get('CODEX_BIN'), undefined);
  t.equal(s.envFile, join(dir, '.env'));
});

t.test('the env file does not touch process.env', async (t) => {
  const dir = tempDir(t);
  const env: NodeJS.ProcessEnv = {};
  settingsIn(dir, env, 'JGO_SOMETHING_ONLY_IN_FILE=1\n');
  t.same(env, {});
  t.equal(process.env.JGO_SOMETHING_ONLY_IN_FILE, undefined);
});

t.test('JGO_ENV_FILE names the file, relative to the working directory', async (t) => {
  const dir = tempDir(t);
  mkdirSync(join(dir, 'conf'));
  writeFileSync(join(dir, 'conf', 'jgo.env'), 'MODEL=named\n');
  writeFileSync(join(dir, '.env'), 'MODEL=default-file\n');
  const s = loadSettings({ env: { JGO_ENV_FILE: 'conf/jgo.env' }, cwd: dir });
  t.equal(s.get('MODEL'), 'named');
  t.equal(s.envFile, join(dir, 'conf', 'jgo.env'));
});

t.test('a missing env file is fine', async (t) => {
  const dir = tempDir(t);
  const s = loadSettings({ env: { JGO_ENV_FILE: join(dir, 'nope.env') }, cwd: dir });
  t.equal(s.envFile, undefined);
  t.equal(s.envFilePath, join(dir, 'nope.env'));
});

t.test('an empty value counts as unset, so the fallback applies', async (t) => {
  const dir = tempDir(t);
  const s = settingsIn(dir, { OPENAI_API_KEY: '', OPENWEBUI_API_KEY: 'k-openwebui', OPENAI_BASE_URL: 'http://x/v1', MODEL: 'm' });
  t.equal(openAISettings(s).apiKey.from, 'OPENWEBUI_API_KEY');
});

t.test('each OpenAI setting falls back on its own: OPENAI_*, then OPENWEBUI_*, then LITELLM_*', async (t) => {
  const dir = tempDir(t);
  const cases: Array<[string, NodeJS.ProcessEnv, [string, string, string]]> = [
    ['all OPENAI', { OPENAI_BASE_URL: 'http://a/v1', OPENAI_API_KEY: 'ka', MODEL: 'ma', OPENWEBUI_BASE_URL: 'http://b/v1', OPENWEBUI_API_KEY: 'kb', OPENWEBUI_MODEL: 'mb' }, ['OPENAI_BASE_URL', 'OPENAI_API_KEY', 'MODEL']],
    ['all OPENWEBUI', { OPENWEBUI_BASE_URL: 'http://b/v1', OPENWEBUI_API_KEY: 'kb', OPENWEBUI_MODEL: 'mb', LITELLM_BASE_URL: 'http://c/v1', LITELLM_API_KEY: 'kc', LITELLM_MODEL: 'mc' }, ['OPENWEBUI_BASE_URL', 'OPENWEBUI_API_KEY', 'OPENWEBUI_MODEL']],
    ['all LITELLM', { LITELLM_BASE_URL: 'http://c/v1', LITELLM_API_KEY: 'kc', LITELLM_MODEL: 'mc' }, ['LITELLM_BASE_URL', 'LITELLM_API_KEY', 'LITELLM_MODEL']],
    ['mixed', { OPENAI_BASE_URL: 'http://a/v1', LITELLM_API_KEY: 'kc', OPENWEBUI_MODEL: 'mb', LITELLM_MODEL: 'mc' }, ['OPENAI_BASE_URL', 'LITELLM_API_KEY', 'OPENWEBUI_MODEL']],
  ];
  for (const [name, env, expected] of cases) {
    const o = openAISettings(settingsIn(dir, env));
    t.same([o.baseURL.from, o.apiKey.from, o.model.from], expected, name);
  }
  const fromFile = openAISettings(settingsIn(dir, { LITELLM_MODEL: 'mc' }, 'OPENWEBUI_BASE_URL=http://b/v1\nOPENWEBUI_API_KEY=kb\nOPENWEBUI_MODEL=mb\n'));
  t.equal(fromFile.model.from, 'OPENWEBUI_MODEL', 'the file supplies a higher fallback than the environment does');
  t.equal(fromFile.model.source, 'file');
});

t.test('missing settings: exit 2 naming every missing variable and its fallbacks', async (t) => {
  const dir = tempDir(t);
  const error = t.throws(() => openAISettings(settingsIn(dir, { MODEL: 'm' }))) as unknown;
  t.ok(error instanceof UsageError);
  const e = error as UsageError;
  t.equal(e.exitCode, 2);
  t.equal(e.code, 'missing_settings');
  t.match(e.message, /OPENAI_BASE_URL \(or OPENWEBUI_BASE_URL, or LITELLM_BASE_URL\)/);
  t.match(e.message, /OPENAI_API_KEY \(or OPENWEBUI_API_KEY, or LITELLM_API_KEY\)/);
  t.notMatch(e.message, /MODEL \(/, 'a variable that is set is not named');
});

t.test('a base URL that is not http(s) is a settings error', async (t) => {
  const dir = tempDir(t);
  t.throws(() => openAISettings(settingsIn(dir, { OPENAI_BASE_URL: 'file:///x', OPENAI_API_KEY: 'k', MODEL: 'm' })), { code: 'invalid_setting' });
});

t.test('numbers and booleans are validated, each setting on its own or all at once', async (t) => {
  const dir = tempDir(t);
  const s = settingsIn(dir, { JGO_LLM_TIMEOUT_S: 'soon', JGO_LLM_RETRIES: '3', JGO_CODEX_NETWORK: 'maybe', JGO_SHIP_PR: 'off' });
  t.throws(() => settingOf(s, 'JGO_LLM_TIMEOUT_S'), { code: 'invalid_setting', exitCode: 2, message: /JGO_LLM_TIMEOUT_S="soon"/ });
  t.equal(settingOf(s, 'JGO_LLM_RETRIES'), 3);
  t.equal(settingOf(s, 'JGO_CODEX_IDLE_S'), 600, 'unset: the default');
  t.throws(() => settingOf(s, 'JGO_CODEX_NETWORK'), { code: 'invalid_setting' });
  t.equal(settingOf(s, 'JGO_SHIP_PR'), false);
  t.throws(() => configOf(s), { code: 'invalid_setting' }, 'the whole object refuses the first bad one');
});

t.test('JGO_CACHE_DIR from the environment, then the env file', async (t) => {
  const dir = tempDir(t);
  t.equal(resolveCacheDir(settingsIn(dir, { JGO_CACHE_DIR: join(dir, 'a') })).path, join(dir, 'a'));
  t.equal(resolveCacheDir(settingsIn(dir, {}, `JGO_CACHE_DIR=${join(dir, 'b')}\n`)).path, join(dir, 'b'));
});

t.test('a named cache directory that cannot be written is a settings error', async (t) => {
  const dir = tempDir(t);
  writeFileSync(join(dir, 'file'), '');
  t.throws(() => resolveCacheDir(settingsIn(dir, { JGO_CACHE_DIR: join(dir, 'file', 'sub') })), { code: 'cache_unwritable', exitCode: 2 });
});

t.test('the default cache directory, else the XDG fallback with a notice', async (t) => {
  const dir = tempDir(t);
  const s = settingsIn(dir, { XDG_CACHE_HOME: join(dir, 'xdg'), HOME: join(dir, 'home') });
  const result = resolveCacheDir(s);
  // As root, /jgo-cache can be made; as anyone else it cannot. Both are the rule.
  let defaultWritable = true;
  try {
    mkdirSync(DEFAULT_CACHE_DIR, { recursive: true });
    accessSync(DEFAULT_CACHE_DIR, constants.W_OK);
  } catch {
    defaultWritable = false;
  }
  if (defaultWritable) {
    t.equal(result.path, DEFAULT_CACHE_DIR);
    t.equal(result.fellBack, undefined);
  } else {
    t.equal(result.path, join(dir, 'xdg', 'jgo'));
    t.match(result.fellBack, /not writable/);
  }
});

t.test('the XDG fallback when the default is unusable (HOME/.cache when XDG is unset)', async (t) => {
  // A default below a regular file can never be created, whoever runs the test.
  const dir = tempDir(t);
  const { resolveCacheDirFrom } = await import('../lib/config.js');
  const blocker = join(dir, 'blocker');
  writeFileSync(blocker, '');
  const s = settingsIn(dir, { HOME: join(dir, 'home') });
  const result = resolveCacheDirFrom(s, join(blocker, 'jgo-cache'));
  t.equal(result.path, join(dir, 'home', '.cache', 'jgo'));
  t.match(result.fellBack, /blocker\/jgo-cache is not writable/);
  const withXdg = resolveCacheDirFrom(settingsIn(dir, { XDG_CACHE_HOME: join(dir, 'xdg') }), join(blocker, 'x'));
  t.equal(withXdg.path, join(dir, 'xdg', 'jgo'));
});

t.test('every setting is parsed once into one typed object, defaults filled in', async (t) => {
  const dir = tempDir(t);
  const s = settingsIn(dir, { OPENWEBUI_API_KEY: 'key-from-openwebui', GH_TOKEN: 'gh-token-value', JGO_CODEX_ENV_PASS: 'AWS_PROFILE, NOT_SET' }, 'AWS_PROFILE=dev\nJGO_SHIP_PR=yes\n');
  const c = configOf(s);
  t.equal(configOf(s), c, 'read once per set of settings');
  t.equal(c.OPENAI_API_KEY, 'key-from-openwebui');
  t.same(c.from, { OPENAI_API_KEY: 'OPENWEBUI_API_KEY' });
  t.equal(c.token, 'gh-token-value');
  t.equal(c.JGO_SHIP_PR, true);
  t.equal(c.JGO_SHIP_MODE, 'plan');
  t.equal(c.JGO_LLM_TIMEOUT_S, 60);
  t.equal(c.JGO_CODEX_SANDBOX, 'workspace-write');
  t.equal(c.JGO_GITHUB_API_URL, 'https://api.github.com');
  t.equal(c.authority.baseUrl, 'https://github.com');
  t.same(c.JGO_CODEX_ENV_PASS, ['AWS_PROFILE', 'NOT_SET']);
  t.same(c.passed, { AWS_PROFILE: 'dev' }, 'pass-through values may come from the env file');
  t.ok(c.secrets.includes('key-from-openwebui') && c.secrets.includes('gh-token-value'));
});

t.test('a setting jgo does not accept is exit 2 naming the variable and the fix', async (t) => {
  const dir = tempDir(t);
  for (const [name, value, message] of [
    ['JGO_LLM_TIMEOUT_S', '0', /JGO_LLM_TIMEOUT_S="0" is not a whole number from 1 to 3600/],
    ['JGO_SHIP_PR', 'maybe', /JGO_SHIP_PR="maybe" is not true or false/],
    ['JGO_CODEX_SANDBOX', 'Everywhere', /JGO_CODEX_SANDBOX="everywhere" is not one of workspace-write, read-only, danger-full-access/],
    ['JGO_GIT_BASE_URL', 'ftp://x', /JGO_GIT_BASE_URL/],
    ['JGO_GITHUB_API_URL', 'http://ghe.example.com', /plain http to another machine/],
    ['JGO_CODEX_ENV_PASS', 'A-B', /is not a variable name/],
  ] as const) {
    const error = t.throws(() => parseConfig(settingsIn(dir, { [name]: value }))) as UsageError;
    t.equal(error.code, 'invalid_setting', name);
    t.match(error.message, message, name);
    t.ok(error.hint, `${name} has a hint`);
  }
});
