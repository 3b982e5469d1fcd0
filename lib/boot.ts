/**
 * How every jgo executable starts: dist/cmd/<name>.js is a few lines that call boot(), which
 * compiles the executable's bundle (dist/bundle/<name>.cjs) with a V8 code cache.
 *
 * Why: a `jgo run` starts six Node processes, and on a small machine each spent 50-60 ms
 * compiling the same JavaScript (zod, yargs, the openai SDK, isomorphic-git) before doing
 * anything. Node 22 has module.enableCompileCache() for this; Node 20 has no cache for modules
 * at all, but vm.Script takes and produces V8's cached data. The first run of a bundle writes
 * the cache when it exits, with every function it compiled; later runs skip that compilation.
 *
 * Safety: V8 checks only a cache's length and version against the source, so the file name
 * carries a hash of the bundle's contents (and its modification time), and the directory must be
 * ours (a cache is code).
 * Anything wrong (unwritable, foreign, rejected) means a plain compile, never a failure.
 * JGO_CODE_CACHE=0 turns it off.
 */
import { isAscii } from 'node:buffer';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import vm from 'node:vm';
import { trace } from './trace.js';

/**
 * The function Node's CommonJS loader wraps a module in (Module.wrap). The build writes each
 * bundle already inside it, so that a start compiles the file's text as it is read: wrapping it
 * here made V8 copy half a megabyte into one flat string first (100 page faults, 1.3 ms).
 */
export const WRAPPER = '(function (exports, require, module, __filename, __dirname) { ';

/** Where the code cache lives: $JGO_CACHE_DIR/code-cache, else ~/.cache/jgo/code-cache. */
export function codeCacheDir(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.JGO_CODE_CACHE === '0') return undefined;
  if (env.JGO_CACHE_DIR) return join(env.JGO_CACHE_DIR, 'code-cache');
  const base = env.XDG_CACHE_HOME || (env.HOME ? join(env.HOME, '.cache') : join(homedir(), '.cache'));
  return join(base, 'jgo', 'code-cache');
}

/** The directory, made if need be, when it is a directory this user owns and others cannot write. */
function ownedDir(dir: string): boolean {
  try {
    // Not recursive: Node's recursive mkdir never returns for a path that cannot exist (/proc/x).
    // The cache directory itself is made by the settings (config.ts); until then, no code cache.
    mkdirSync(dir, { mode: 0o700 });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
  }
  try {
    const info = statSync(dir);
    const uid = process.getuid?.();
    return info.isDirectory() && (uid === undefined || info.uid === uid) && (info.mode & 0o022) === 0;
  } catch {
    return false;
  }
}

/**
 * The part of the cache's name that says which bundle it belongs to. The build writes the
 * bundle's SHA-256 into the shim (`digest`), so no start has to hash half a megabyte, or load
 * node:crypto (7 ms) to do it; the bundle's modification time is added, so that a bundle edited
 * after the build never meets a cache of the build's. Without a digest (a shim of an older
 * build), the bundle is hashed here.
 */
function bundleId(bytes: Buffer, bundle: string, digest: string | undefined): string {
  if (digest === undefined || !/^[0-9a-f]{16}$/.test(digest)) {
    return process.getBuiltinModule('node:crypto').createHash('sha256').update(bytes).digest('hex').slice(0, 16);
  }
  return `${digest}-${Math.trunc(statSync(bundle).mtimeMs).toString(36)}`;
}

/**
 * Runs the bundle of executable `name`, found beside the calling shim (its `__filename`);
 * `digest` is the first 16 hex digits of the bundle's SHA-256, as the build wrote it.
 */
export function boot(shimFile: string, name: string, digest?: string): void {
  const binDir = dirname(shimFile);
  // `jgo run` starts jgo-gate first of all, so that its start-up overlaps jgo's own.
  // Required only here: node:child_process costs every other executable's start 5-7 ms, and the
  // stages that spawn nothing (jgo-gate, a warm jgo-sync) would pay it for nothing.
  if (name === 'jgo') (require('./run/process.js') as typeof import('./run/process.js')).startGateEarly(binDir);
  // The stages are found beside the shims, not beside the bundles.
  (globalThis as { __jgoBinDir?: string }).__jgoBinDir = binDir;
  runBundle(join(binDir, '..', 'bundle', `${name}.cjs`), name, digest);
}

/**
 * Compiles a bundle through its code cache (kept under `name`) and runs it as a CommonJS module;
 * returns its exports.
 */
function runBundle(bundle: string, name: string, digest: string | undefined): unknown {
  const bytes = readFileSync(bundle);
  // esbuild writes ASCII: read as one-byte characters, which skips UTF-8 decoding (9 ms a start).
  const text = bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8');
  // The build writes the bundle inside the wrapper (scripts/build.mjs); a bundle that is not is
  // wrapped here, its #! line (only valid at the very start of a script) made a comment.
  const source = text.startsWith(WRAPPER) ? text : Module.wrap(text.startsWith('#!') ? `//${text.slice(2)}` : text);
  const wanted = codeCacheDir();
  const dir = wanted !== undefined && ownedDir(wanted) ? wanted : undefined;
  const cacheFile = dir && join(dir, `${name}-${process.versions.v8}-${process.arch}-${bundleId(bytes, bundle, digest)}.bin`);
  let cachedData: Buffer | undefined;
  if (cacheFile) {
    try {
      cachedData = readFileSync(cacheFile);
    } catch {
      cachedData = undefined;
    }
  }
  const script = new vm.Script(source, { filename: bundle, ...(cachedData ? { cachedData } : {}) });
  // A vendor bundle's lines say so, and do not say "code cache": tests count the executable's.
  const said = name.startsWith(VENDOR) ? `${name}: cached code` : 'code cache';
  trace(`${said} ${cacheFile === undefined ? 'off' : cachedData === undefined ? 'missing' : script.cachedDataRejected ? 'rejected' : 'used'}`);
  if (dir && cacheFile && (cachedData === undefined || script.cachedDataRejected)) {
    // At exit the script holds every function this run compiled: that is what the next run needs.
    process.once('exit', () => {
      try {
        const tmp = `${cacheFile}.${process.pid}.tmp`;
        writeFileSync(tmp, script.createCachedData(), { mode: 0o600 });
        renameSync(tmp, cacheFile);
        trace(`${said} written`);
        // The caches of this bundle's earlier builds are of no more use. (After the name comes
        // V8's version, which starts with a digit: jgo-gate's caches are not jgo's.)
        const mine = new RegExp(`^${name.replace(/[^\w]/g, '\\$&')}-\\d.*\\.bin$`);
        for (const old of readdirSync(dir)) {
          if (mine.test(old) && join(dir, old) !== cacheFile) rmSync(join(dir, old), { force: true });
        }
      } catch {
        // a cache is an optimisation: never a reason to fail
      }
    });
  }
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  const module = new Module(bundle);
  module.filename = bundle;
  wrapper.call(module.exports, module.exports, bundleRequire(bundle), module, bundle, dirname(bundle));
  return module.exports;
}

/** The prefix of a vendor bundle's code cache name. */
const VENDOR = 'vendor-';
const vendors = new Map<string, unknown>();

/**
 * The `require` a bundle runs with: Node's, except for `./vendor/<name>.cjs` (a library the build
 * kept out of the executables' bundles, scripts/build.mjs), which is run through its own code
 * cache, once per process, its digest read from the build's vendor/digests.json.
 */
function bundleRequire(bundle: string): NodeJS.Require {
  const plain = createRequire(bundle);
  const wrapped = (id: string): unknown => {
    const vendor = /^\.\/vendor\/([a-z0-9-]+)\.cjs$/.exec(id)?.[1];
    if (vendor === undefined) return plain(id);
    const file = join(dirname(bundle), 'vendor', `${vendor}.cjs`);
    if (!vendors.has(file)) vendors.set(file, runBundle(file, `${VENDOR}${vendor}`, vendorDigest(dirname(file), vendor)));
    return vendors.get(file);
  };
  return Object.assign(wrapped, { resolve: plain.resolve, cache: plain.cache, extensions: plain.extensions, main: plain.main });
}

let digests: Record<string, unknown> | undefined;

function vendorDigest(dir: string, name: string): string | undefined {
  if (digests === undefined) {
    try {
      digests = JSON.parse(readFileSync(join(dir, 'digests.json'), 'utf8')) as Record<string, unknown>;
    } catch {
      digests = {};
    }
  }
  const digest = digests[name];
  return typeof digest === 'string' ? digest : undefined;
}
