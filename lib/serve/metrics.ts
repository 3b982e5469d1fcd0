/**
 * The server's Prometheus metrics, with prom-client: runs by outcome, their duration, the queue,
 * the runs in progress and the tokens they spent. Labels are fixed words, never request text.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

export type Outcome = 'done' | 'refused' | 'failed' | 'nothing_to_ship' | 'interrupted' | 'rejected';

export interface Metrics {
  registry: Registry;
  runs: Counter<'outcome'>;
  duration: Histogram;
  queueDepth: Gauge;
  inProgress: Gauge;
  tokens: Counter<'stage'>;
}

export function makeMetrics(): Metrics {
  const registry = new Registry();
  return {
    registry,
    runs: new Counter({ name: 'jgo_runs_total', help: 'Runs by outcome (rejected: the queue was full).', labelNames: ['outcome'], registers: [registry] }),
    duration: new Histogram({
      name: 'jgo_run_duration_seconds',
      help: 'How long runs took, from the start of jgo run to its end.',
      // A run is minutes of codex: the buckets go up to an hour.
      buckets: [1, 5, 15, 30, 60, 120, 300, 600, 1200, 1800, 3600],
      registers: [registry],
    }),
    queueDepth: new Gauge({ name: 'jgo_queue_depth', help: 'Requests waiting for a run to start.', registers: [registry] }),
    inProgress: new Gauge({ name: 'jgo_runs_in_progress', help: 'Runs working now.', registers: [registry] }),
    tokens: new Counter({ name: 'jgo_tokens_total', help: 'Model tokens the runs spent, by stage.', labelNames: ['stage'], registers: [registry] }),
  };
}

/** The outcome of a run from jgo run's exit code (docs/contract.md). */
export function outcomeOf(exitCode: number, interrupted: boolean): Outcome {
  if (interrupted) return 'interrupted';
  if (exitCode === 0) return 'done';
  if (exitCode === 3) return 'refused';
  if (exitCode === 4) return 'nothing_to_ship';
  return 'failed';
}
