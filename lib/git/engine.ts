/**
 * Which engine does which git operation. isomorphic-git is the engine; native git takes an
 * operation only where `npm run bench` shows isomorphic-git cannot meet its target, and only
 * when a git binary is present. JGO_GIT_ENGINE=isomorphic or native forces one everywhere.
 */
import { UsageError } from '../errors.js';
import type { Settings } from '../config.js';
import { findGit } from './native.js';

export type Engine = 'isomorphic' | 'native';

/**
 * The operations with two engines. Two have one implementation and are not here: a remote's
 * refs are read with isomorphic-git's listServerRefs, and a push is `git push` (so the token's
 * rule is enforced in one place for each).
 */
export type Operation = 'cloneMirror' | 'fetchMirror' | 'workingCopy' | 'changedPaths' | 'commit';

/**
 * The default choice per operation, from the benchmark (README, "Git engines"): moving and
 * indexing packs and checking out trees is where isomorphic-git is 4-15x slower than git, so
 * git takes those.
 */
export const AUTO: Record<Operation, Engine> = {
  cloneMirror: 'native',
  fetchMirror: 'native',
  workingCopy: 'native',
  changedPaths: 'native',
  commit: 'native',
};

export type EngineSetting = 'auto' | Engine;

export function engineSetting(settings: Settings): EngineSetting {
  const raw = (settings.get('JGO_GIT_ENGINE') ?? 'auto').trim().toLowerCase();
  if (raw === 'auto' || raw === 'isomorphic' || raw === 'native') return raw;
  throw new UsageError('invalid_setting', `JGO_GIT_ENGINE=${JSON.stringify(raw)} is not auto, isomorphic or native`);
}

export class EngineChooser {
  readonly setting: EngineSetting;
  private readonly hasGit: boolean;

  constructor(setting: EngineSetting, env: NodeJS.ProcessEnv = process.env) {
    this.setting = setting;
    this.hasGit = findGit(env) !== undefined;
    if (setting === 'native' && !this.hasGit) {
      throw new UsageError('git_missing', 'JGO_GIT_ENGINE=native, but no git binary is on PATH', {
        hint: 'Install git, or set JGO_GIT_ENGINE=auto.',
      });
    }
  }

  for(operation: Operation): Engine {
    if (this.setting !== 'auto') return this.setting;
    return this.hasGit ? AUTO[operation] : 'isomorphic';
  }
}
