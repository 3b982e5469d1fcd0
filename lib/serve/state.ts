/** What the server's parts share: settings, the cache, the queue, the metrics, the runs at work. */
import type { Settings } from '../config.js';
import type { Redactor } from '../redact.js';
import type { Metrics } from './metrics.js';
import type { RunQueue } from './queue.js';
import type { RunHandle, RunnerOptions } from './runner.js';

export interface ServeState {
  settings: Settings;
  env: NodeJS.ProcessEnv;
  cwd: string;
  cache: string;
  keys: readonly string[];
  redact: Redactor;
  queue: RunQueue;
  metrics: Metrics;
  runner: RunnerOptions;
  /** The runs working now, to be let finish or interrupted on SIGTERM. */
  handles: Set<RunHandle>;
  /** SIGTERM came: no new runs. */
  draining: boolean;
  /** The grace is over: runs still at work were interrupted. */
  interrupting: boolean;
  log: (line: string) => void;
}
