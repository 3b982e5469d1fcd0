/** `jgo show`: what a run did and cost, from its journal, for people (and --json for scripts). */
import { addUsage, totalTokens, type Usage } from '../envelope.js';
import { formatMs } from '../format.js';
import { threadOf, type RunRecord, type StageRecord } from './journal.js';

export interface Report {
  run_id: string;
  request: string;
  status: string;
  started: string;
  ended: string | undefined;
  repository: string | undefined;
  branch: string | undefined;
  pr: { url: string; number: number } | undefined;
  stages: Array<{ stage: string; duration_ms: number; exit_code: number; error?: string }>;
  commits: Array<{ sha: string; subject: string }>;
  files: string[];
  /** Which codex edited, and with which model (codex's default changes between releases). */
  codex: { version: string | undefined; model: string | undefined } | undefined;
  commands: Array<{ command: string; exit_code: number | null }>;
  usage: { input_tokens: number; output_tokens: number; total_tokens: number; by: Record<string, Usage> };
  error: { stage: string; code: string; message: string; exit_code: number } | undefined;
  /** The thread the run belongs to: its first run's id, and every run of it, oldest first. */
  thread: { id: string; parent: string | undefined; runs: ThreadEntry[] };
}

export interface ThreadEntry {
  run_id: string;
  status: string;
  request: string;
  commits: Array<{ sha: string; subject: string }>;
}

/** The run's usage: each stage's, and their sum. */
function runUsage(by: Record<string, Usage | undefined>): Report['usage'] {
  const stages = Object.fromEntries(Object.entries(by).filter((e): e is [string, Usage] => e[1] !== undefined));
  const sum = Object.values(stages).reduce<Usage>((total, usage) => addUsage(total, usage), {});
  return { input_tokens: sum.input_tokens ?? 0, output_tokens: sum.output_tokens ?? 0, total_tokens: sum.total_tokens ?? 0, by: stages };
}

export function buildReport(record: RunRecord, stages: StageRecord[], inProgress: boolean, thread: ThreadEntry[] = []): Report {
  const last = stages.at(-1)?.envelope;
  const usage = runUsage({ gate: last?.gate?.usage, codex: last?.codex?.usage, ship: last?.ship?.plan_usage });
  const commands = (last?.codex?.commands ?? last?.codex?.failed_commands ?? []).map((c) => ({ command: c.command, exit_code: c.exit_code }));
  return {
    run_id: record.run_id,
    request: record.request,
    status: record.status === 'running' && !inProgress ? 'abandoned' : record.status,
    started: record.started,
    ended: record.ended,
    repository: last?.repo?.ref,
    branch: last?.ship?.branch ?? last?.worktree?.branch,
    pr: last?.ship?.pr ? { url: last.ship.pr.url, number: last.ship.pr.number } : undefined,
    stages: stages.map((s) => ({
      stage: s.stage,
      duration_ms: s.duration_ms,
      exit_code: s.exit_code,
      ...(s.envelope.error && s.envelope.error.stage === s.stage ? { error: `${s.envelope.error.code}: ${s.envelope.error.message}` } : {}),
    })),
    commits: last?.ship?.commits.map((c) => ({ sha: c.sha, subject: c.subject })) ?? [],
    files: last?.codex?.changed_files ?? [],
    codex: last?.codex ? { version: last.codex.version, model: last.codex.model } : undefined,
    commands,
    usage,
    error: last?.error ? { stage: last.error.stage, code: last.error.code, message: last.error.message, exit_code: last.error.exit_code } : undefined,
    thread: { id: threadOf(record), parent: record.parent, runs: thread },
  };
}

export function renderReport(r: Report): string {
  const lines: string[] = [];
  lines.push(`run ${r.run_id}: ${r.status}${r.error ? ` at ${r.error.stage} (${r.error.code})` : ''}`);
  lines.push(`request:    ${r.request}`);
  if (r.repository) lines.push(`repository: ${r.repository}`);
  if (r.branch) lines.push(`branch:     ${r.branch}`);
  if (r.pr) lines.push(`pull request: ${r.pr.url}`);
  lines.push(`started:    ${r.started}${r.ended ? `, ended ${r.ended}` : ''}`);
  if (r.codex && (r.codex.version || r.codex.model)) lines.push(`codex:      ${r.codex.version ?? 'version unknown'}, model ${r.codex.model ?? 'unknown'}`);
  lines.push('', 'stages:');
  for (const s of r.stages) lines.push(`  ${s.stage.padEnd(9)} ${formatMs(s.duration_ms).padStart(9)}  ${s.exit_code === 0 ? 'ok' : `exit ${s.exit_code}${s.error ? `: ${s.error}` : ''}`}`);
  if (r.commits.length > 0) {
    lines.push('', 'commits:');
    for (const c of r.commits) lines.push(`  ${c.sha.slice(0, 12)} ${c.subject}`);
  }
  if (r.files.length > 0) {
    lines.push('', `files (${r.files.length}):`);
    for (const f of r.files) lines.push(`  ${f}`);
  }
  if (r.commands.length > 0) {
    lines.push('', 'codex commands:');
    for (const c of r.commands) lines.push(`  ${c.exit_code === 0 ? 'ok    ' : `exit ${c.exit_code}`.padEnd(6)} ${c.command}`);
  }
  lines.push('', `tokens: ${r.usage.total_tokens} (${r.usage.input_tokens} in, ${r.usage.output_tokens} out)${Object.keys(r.usage.by).length > 0 ? `; ${Object.entries(r.usage.by).map(([k, u]) => `${k} ${totalTokens(u)}`).join(', ')}` : ''}`);
  if (r.thread.runs.length > 1) {
    lines.push('', `thread ${r.thread.id} (${r.thread.runs.length} runs, one branch):`);
    for (const run of r.thread.runs) {
      lines.push(`  ${run.run_id === r.run_id ? '*' : ' '} ${run.run_id}  ${run.status.padEnd(8)} ${run.request.replace(/\s+/g, ' ').slice(0, 80)}`);
      for (const c of run.commits) lines.push(`      ${c.sha.slice(0, 12)} ${c.subject}`);
    }
  }
  if (r.error) lines.push('', `error: ${r.error.message}`);
  return `${lines.join('\n')}\n`;
}
