/**
 * What the assistant says at the end of a chat turn, from the run's final envelope: the pushed
 * branch, its commits and pull request, or why nothing was pushed; and, for a run of a thread,
 * the marker a later message of the conversation is a follow-up of.
 */
import type { Envelope } from '../envelope.js';
import { marker } from './chat.js';

export interface Finished {
  runId: string;
  exitCode: number;
  envelope: Envelope | undefined;
  /** The run followed up an earlier one of the conversation. */
  followUp: boolean;
}

export function finalMessage(f: Finished): string {
  const env = f.envelope;
  const ship = env?.ship;
  if (f.exitCode === 0 && ship?.pushed) {
    const commits = ship.commits.map((c) => `- \`${c.sha.slice(0, 7)}\` ${c.subject}`);
    const pr = ship.pr ? [`Pull request: ${ship.pr.url}`] : [];
    return [`Pushed \`${ship.branch}\` (${commits.length === 1 ? '1 commit' : `${commits.length} commits`}):`, ...commits, ...pr, '', marker(f.runId, ship.branch, ship.pr?.url)].join('\n');
  }
  if (f.exitCode === 3) {
    const reason = env?.gate?.reason || env?.error?.message || 'the request is not one jgo can carry out';
    return `jgo will not run this: ${reason}`;
  }
  const error = env?.error;
  const what = error ? `${error.stage === 'run' ? '' : `${error.stage}: `}${error.message}` : `jgo run exited ${f.exitCode}`;
  const lines = [f.exitCode === 4 ? `Nothing to push: ${what}` : `The run failed (${what}).`];
  if (f.exitCode !== 4 && f.exitCode !== 2) lines.push(`It can be continued with \`jgo resume ${f.runId}\`.`);
  // A follow-up stays in its thread: the next message continues it still.
  if (f.followUp) lines.push('', marker(f.runId, env?.continue?.branch, env?.continue?.pr?.url));
  return lines.join('\n');
}
