/**
 * The image, as far as it can be checked without a Docker engine: the Dockerfile parsed
 * (dockerfile-ast) and held to its invariants; the build context (.dockerignore) rebuilt here and
 * bundled with the real build script, and the bundles run with no node_modules, as in the image;
 * the Makefile's buildx commands (make -n).
 */
import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, cpSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { DockerfileParser, type Instruction } from 'dockerfile-ast';
import { ROOT, baseEnv, tempDir } from '../helpers/run.js';

const dockerfile = DockerfileParser.parse(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  bin: Record<string, string>;
  devDependencies: Record<string, string>;
};
const lock = JSON.parse(readFileSync(join(ROOT, 'package-lock.json'), 'utf8')) as {
  packages: Record<string, { version?: string }>;
};

const froms = dockerfile.getFROMs();
const finalFrom = froms[froms.length - 1];
if (!finalFrom) throw new Error('the Dockerfile has no FROM');
const finalLine = finalFrom.getRange().start.line;
const instructions = dockerfile.getInstructions();
/** The instructions of the final stage (the image), in order. */
const final = instructions.filter((i) => i.getRange().start.line > finalLine);
const content = (i: Instruction) => i.getArgumentsContent() ?? '';
const of = (keyword: string, list: Instruction[] = final) => list.filter((i) => i.getKeyword() === keyword);
const runs = of('RUN').map(content);

/** ARG defaults of the final stage. */
const args = new Map<string, string | null>();
for (const arg of dockerfile.getARGs()) {
  const property = arg.getProperty();
  if (property && arg.getRange().start.line > finalLine) args.set(property.getName(), property.getValue());
}
const initialArgs = new Map(dockerfile.getInitialARGs().map((a) => [a.getProperty()?.getName(), a.getProperty()?.getValue()]));

/** The JSON-form arguments of an instruction (ENTRYPOINT, CMD, VOLUME, SHELL). */
const jsonArgs = (i: Instruction | undefined): string[] => {
  if (!i) return [];
  const parsed: unknown = JSON.parse(content(i));
  return Array.isArray(parsed) ? parsed.map(String) : [];
};

t.test('three stages: node for the target, the build on the build platform, Ubuntu 24.04', async (t) => {
  const resolved = froms.map((f) => (f.getImage() ?? '').replace('${NODE_MAJOR}', initialArgs.get('NODE_MAJOR') ?? '?'));
  t.equal(froms.length, 3);
  t.equal(finalFrom.getImage(), 'ubuntu:24.04');
  t.ok(Number(initialArgs.get('NODE_MAJOR')) >= 20, 'Node.js 20 or newer');
  for (const image of resolved) t.match(image, /^[a-z0-9./-]+:[0-9][\w.-]*$/, `${image}: a pinned tag`);
  const build = froms.find((f) => f.getBuildStage() === 'build');
  t.equal(build?.getPlatformFlag()?.getValue(), '$BUILDPLATFORM', 'esbuild runs natively; its output is JavaScript');
  const buildRuns = instructions.filter((i) => i.getKeyword() === 'RUN' && i.getRange().start.line < finalLine).map(content);
  t.ok(buildRuns.some((r) => r.startsWith('npm ci')), 'npm ci from the lock file');
  t.ok(buildRuns.some((r) => r.includes('npm run build')), 'the bundle');
  t.equal(of('ADD', instructions).length, 0, 'no ADD');
});

t.test('the codex CLI is the version the tests pin', async (t) => {
  const locked = lock.packages['node_modules/@openai/codex']?.version;
  // An exact pin: for a 0.x release a caret still admits every patch of the minor, and codex's
  // flags change between patches. What the tests drive is what the image installs.
  t.equal(pkg.devDependencies['@openai/codex'], locked, '@openai/codex is a devDependency pinned exactly');
  t.equal(args.get('CODEX_VERSION'), locked, `ARG CODEX_VERSION = package-lock.json's ${String(locked)}`);
  t.ok(runs.some((r) => r.includes('npm install -g') && r.includes('"@openai/codex@${CODEX_VERSION}"')), 'installed from the npm registry at that version');
});

t.test('the tools: git, certificates, tini, gh, kubectl, the AWS CLI, node', async (t) => {
  const all = runs.join('\n');
  for (const run of runs) {
    for (const install of run.match(/apt-get install[^;&|]*/g) ?? []) {
      t.match(install, /-y --no-install-recommends/, `${install.slice(0, 60)}: no recommends`);
    }
    if (run.includes('apt-get update')) t.match(run, /rm -rf \/var\/lib\/apt\/lists\/\*/, 'apt lists removed in the same layer');
  }
  for (const name of ['ca-certificates', 'git', 'tini', 'gh', 'kubectl']) t.match(all, new RegExp(`apt-get install[^;]*\\s${name}[\\s;]`), `${name} from apt`);
  t.match(all, 'https://cli.github.com/packages', "gh: GitHub's apt repository");
  t.match(all, 'https://pkgs.k8s.io/core:/stable:/${KUBECTL_MINOR}/deb/', 'kubectl: the official pkgs.k8s.io repository');
  t.match(all, /signed-by=\/etc\/apt\/keyrings\/githubcli/, 'signed');
  t.match(all, /signed-by=\/etc\/apt\/keyrings\/kubernetes/, 'signed');
  t.ok(args.has('TARGETARCH'), 'TARGETARCH is declared in the final stage');
  t.match(all, /amd64\) aws_arch=x86_64/, 'AWS CLI for amd64');
  t.match(all, /arm64\) aws_arch=aarch64/, 'AWS CLI for arm64');
  t.match(all, 'https://awscli.amazonaws.com/awscli-exe-linux-${aws_arch}', 'the official installer');
  t.match(all, /aws --version/);
  const copies = of('COPY').map((c) => c.getArguments().map((a) => a.getValue()));
  t.ok(copies.some((c) => c[0] === '/usr/local/bin/node'), 'node from the official image');
  t.match(jsonArgs(of('SHELL')[0]).join(' '), /-o pipefail/, 'pipefail');
});

t.test('jgo: the bundles only, every executable on PATH', async (t) => {
  const bins = Object.entries(pkg.bin);
  const names = bins.map(([name]) => name).sort();
  for (const stage of ['jgo-gate', 'jgo-sync', 'jgo-worktree', 'jgo-codex', 'jgo-ship']) t.ok(names.includes(stage), `${stage} is a bin`);
  t.ok(names.includes('jgo'), 'jgo is a bin');
  for (const [name, file] of bins) t.match(file, /^dist\/cmd\/[\w-]+\.js$/, `${name}: inside dist/, which the image copies`);
  const copies = dockerfile
    .getCOPYs()
    .filter((c) => c.getRange().start.line > finalLine)
    .map((c) => ({ from: c.getFromFlag()?.getValue(), args: c.getArguments().map((a) => a.getValue()) }));
  t.ok(copies.some((c) => c.from === 'build' && c.args[0] === '/src/dist' && c.args[1] === '/opt/jgo/dist'), 'dist/ from the build stage');
  t.ok(copies.some((c) => c.from === 'build' && c.args[0] === '/src/package.json'), "package.json, for the bin list");
  const link = runs.find((r) => r.includes('require("/opt/jgo/package.json").bin'));
  t.ok(link, "every bin in package.json is linked");
  t.match(link ?? '', /ln -s "\/opt\/jgo\/\$\{file\}" "\/usr\/local\/bin\/\$\{name\}"/);
  t.match(link ?? '', /"\$\{name\}" --help/, 'and answers --help at build time');
  t.notOk(runs.some((r) => /npm (ci|install)(?! -g)/.test(r)), 'no node_modules in the image');
});

t.test('settings, the cache volume, the user and PID 1', async (t) => {
  const env = new Map<string, string | null>();
  for (const e of dockerfile.getENVs()) {
    if (e.getRange().start.line > finalLine) for (const p of e.getProperties()) env.set(p.getName(), p.getValue());
  }
  t.same(
    Object.fromEntries(['JGO_CACHE_DIR', 'CODEX_HOME', 'GOCACHE', 'GOMODCACHE', 'JGO_ENV_FILE', 'JGO_CODEX_SANDBOX'].map((n) => [n, env.get(n)])),
    {
      JGO_CACHE_DIR: '/jgo-cache',
      CODEX_HOME: '/jgo-cache/codex',
      GOCACHE: '/jgo-cache/go-build',
      GOMODCACHE: '/jgo-cache/go-mod',
      JGO_ENV_FILE: '/work/.env',
      JGO_CODEX_SANDBOX: 'danger-full-access',
    },
  );
  t.same(jsonArgs(of('VOLUME')[0]), ['/jgo-cache']);
  const users = of('USER').map(content);
  t.equal(users.length, 1);
  const [uid, gid] = (users[0] ?? '').split(':').map(Number);
  t.ok(uid !== undefined && Number.isInteger(uid) && uid >= 1000, `a fixed non-root UID (${String(uid)})`);
  t.ok(runs.some((r) => r.includes(`useradd --uid ${uid}`) && r.includes(`--gid ${gid}`)), 'the user exists with that UID and GID');
  t.ok(runs.some((r) => new RegExp(`install -d -o ${uid} -g ${gid} .*/jgo-cache /work`).test(r)), 'it owns /jgo-cache and /work');
  const userLine = of('USER')[0]?.getRange().start.line ?? 0;
  t.notOk(of('RUN').some((r) => r.getRange().start.line > userLine), 'nothing runs as root after USER');
  t.equal(of('WORKDIR').map(content).pop(), '/work');

  const entrypoint = jsonArgs(of('ENTRYPOINT')[0]);
  t.same(entrypoint.slice(0, 2), ['/usr/bin/tini', '--'], 'tini is PID 1 and reaps orphans');
  const script = entrypoint[2];
  const copied = of('COPY').find((c) => c.getArguments().map((a) => a.getValue())[1] === script);
  t.same(copied?.getArguments().map((a) => a.getValue())[0], 'scripts/docker-entrypoint.sh', 'the entrypoint script is copied there');
  t.equal(script, '/opt/jgo/scripts/docker-entrypoint.sh', 'beside dist/, where it finds dist/scripts/docker-env.js');
  t.doesNotThrow(() => accessSync(join(ROOT, 'scripts', 'docker-entrypoint.sh'), constants.X_OK), 'executable in the repository');
  t.same(jsonArgs(of('CMD')[0]), [], 'no arguments: the entrypoint shows jgo --help');
});

// ---------------------------------------------------------------------------------------------
// The build context

/** .dockerignore's rules, as Docker applies them: the last matching pattern wins, and a pattern
 *  that matches a directory matches everything in it. Enough for the patterns used here. */
function dockerignore(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => {
      const negated = l.startsWith('!');
      const pattern = (negated ? l.slice(1) : l).replace(/^\/+|\/+$/g, '');
      const source = pattern
        .split('/')
        .map((part) => (part === '**' ? '.*' : part.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '[^/]*').replace(/\?/g, '[^/]')))
        .join('/')
        .replace(/\.\*\//g, '(?:.*/)?');
      return { negated, re: new RegExp(`^${source}$`) };
    });
  return (path: string) => {
    const parts = path.split('/');
    const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
    let excluded = false;
    for (const rule of rules) if (prefixes.some((p) => rule.re.test(p))) excluded = !rule.negated;
    return excluded;
  };
}

const ignored = dockerignore(readFileSync(join(ROOT, '.dockerignore'), 'utf8'));

function contextFiles(dir = '', out: string[] = []): string[] {
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = dir === '' ? entry.name : `${dir}/${entry.name}`;
    if (ignored(path) && !entry.isDirectory()) continue;
    if (entry.isDirectory()) {
      if (['.git', 'node_modules', 'dist', '.tap'].includes(path)) continue;
      contextFiles(path, out);
    } else out.push(path);
  }
  return out;
}

t.test('.dockerignore keeps secrets and build output out of the context', async (t) => {
  for (const path of ['.env', 'lib/.env', '.env.local', 'node_modules/yaml/package.json', 'dist/cmd/jgo.js', '.git/HEAD', '.tap/x', 'test/deploy/dockerfile.test.ts', 'deploy/job.yaml', 'README.md', 'npm-debug.log']) {
    t.ok(ignored(path), `${path} is left out`);
  }
  for (const path of ['package.json', 'package-lock.json', 'tsconfig.json', 'cmd/jgo.ts', 'lib/config.ts', 'scripts/build.mjs', 'scripts/docker-entrypoint.sh', 'scripts/docker-env.ts', 'test/helpers/git-server.ts']) {
    t.notOk(ignored(path), `${path} is in`);
  }
});

/** Runs node as the image would: without the NODE_OPTIONS tap adds to its children. */
function node(argv: string[], cwd: string, env: Record<string, string>): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn('env', ['-u', 'NODE_OPTIONS', process.execPath, ...argv], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

t.test('the context builds, and the bundles run with no node_modules, as in the image', async (t) => {
  const dir = tempDir(t, 'jgo-docker-context-');
  const context = join(dir, 'src');
  for (const file of contextFiles()) {
    mkdirSync(dirname(join(context, file)), { recursive: true });
    cpSync(join(ROOT, file), join(context, file));
  }
  // The build stage's `npm ci`, borrowed.
  symlinkSync(join(ROOT, 'node_modules'), join(context, 'node_modules'));
  const env = baseEnv(dir);
  const build = await node(['scripts/build.mjs'], context, env);
  t.equal(build.code, 0, `npm run build in the context: ${build.stderr}`);

  // The image: /opt/jgo holds package.json and dist/ only.
  const image = join(dir, 'opt-jgo');
  mkdirSync(image);
  cpSync(join(context, 'package.json'), join(image, 'package.json'));
  cpSync(join(context, 'dist'), join(image, 'dist'), { recursive: true });
  const helps = await Promise.all(Object.entries(pkg.bin).map(async ([name, file]) => ({ name, ...(await node([join(image, file), '--help'], dir, env)) })));
  for (const help of helps) {
    t.equal(help.code, 0, `${help.name} --help without node_modules ${help.stderr}`);
    t.match(help.stdout + help.stderr, help.name, `${help.name} printed its usage`);
  }
  writeFileSync(join(dir, 'test.env'), 'MODEL="quoted # value"\n');
  const loader = await node([join(image, 'dist', 'scripts', 'docker-env.js'), join(dir, 'test.env')], dir, env);
  t.equal(loader.code, 0, loader.stderr);
  t.equal(loader.stdout, "export MODEL='quoted # value'\n", "the entrypoint's env file loader, dotenv bundled in");
});

// ---------------------------------------------------------------------------------------------
// The Makefile

const make = spawnSync('make', ['--version'], { encoding: 'utf8' }).error === undefined;
t.test('make docker-build and docker-push: buildx for amd64 and arm64', { skip: make ? false : 'make is not installed' }, async (t) => {
  const dry = (...argv: string[]) => spawnSync('make', ['-s', '-n', '-C', ROOT, ...argv], { encoding: 'utf8', env: { PATH: process.env.PATH ?? '/usr/bin:/bin' } });
  const buildx = (out: string) => out.split('\n').find((l) => l.startsWith('docker buildx build')) ?? '';

  const build = buildx(dry('docker-build').stdout);
  t.match(build, '--platform linux/amd64,linux/arm64');
  t.match(build, '-t ghcr.io/jungju/jgo:latest');
  t.notMatch(build, '--push');
  t.notMatch(build, 'CODEX_VERSION', "the Dockerfile's pinned codex by default");

  const push = buildx(dry('docker-push', 'IMAGE=registry.example/team/jgo', 'TAG=1.2.3', 'CODEX_VERSION=0.170.0').stdout);
  t.match(push, '--platform linux/amd64,linux/arm64');
  t.match(push, '-t registry.example/team/jgo:1.2.3');
  t.match(push, '--build-arg CODEX_VERSION=0.170.0');
  t.match(push, /--push \.$/);

  t.match(buildx(dry('docker-build', 'PLATFORMS=linux/arm64', 'LOAD=1').stdout), /--platform linux\/arm64 .*--load \.$/);
});
