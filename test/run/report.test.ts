/** `jgo show` names the codex release and the model that edited, as the envelope recorded them. */
import t from 'tap';
import { buildReport, renderReport } from '../../lib/run/report.js';
import type { RunRecord, StageRecord } from '../../lib/run/journal.js';

const record: RunRecord = { run_id: '20261123-202500-7f3a', request: 'acme/widgets add notes', started: '2026-11-23T20:25:00Z', ended: '2026-11-23T20:27:00Z', status: 'done', host: 'h', pid: 1 };

function codexStage(codex: Record<string, unknown>): StageRecord {
  return {
    stage: 'codex',
    command: ['jgo-codex'],
    started: record.started,
    ended: record.started,
    duration_ms: 1000,
    exit_code: 0,
    envelope: { jgo: 1, codex: { exit_code: 0, last_message: 'done', duration_ms: 1000, ...codex } },
  };
}

t.test('the codex line: release and model, or nothing when the envelope has neither', async (t) => {
  const both = buildReport(record, [codexStage({ version: '0.171.0', model: 'gpt-6.2-sol' })], false);
  t.same(both.codex, { version: '0.171.0', model: 'gpt-6.2-sol' }, 'in --json');
  t.match(renderReport(both), /^codex: +0\.171\.0, model gpt-6\.2-sol$/m);
  t.match(renderReport(buildReport(record, [codexStage({ model: 'gpt-5.5' })], false)), /^codex: +version unknown, model gpt-5\.5$/m);
  const older = buildReport(record, [codexStage({})], false);
  t.notMatch(renderReport(older), /^codex:/m, 'an envelope from before either was recorded');
  t.equal(buildReport(record, [], false).codex, undefined, 'no codex stage yet');
});
