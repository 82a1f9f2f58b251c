import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { buildReportFromRows } from '../../src/analysis/reference-report.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { openSqliteDatabase } from '../../src/db/open.ts';
import { newDraftToken } from '../../src/responses/anonymity.ts';
import { startDraft } from '../../src/responses/save-draft.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import { cli, ROOT, ServerProcess, SLUG, sleep } from './harness.ts';

const survey = loadSurveys()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'soundings-retention-'));
const path = join(dir, 'soundings.sqlite');
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

async function statuses() {
  const { db } = await openSqliteDatabase(path, { readonly: true });
  try {
    const rows = await db.selectFrom('responses').select('status').execute();
    const report = await buildReport(db, survey, { status: 'all' });
    const fromRows = await buildReportFromRows(db, survey, { status: 'all' });
    return {
      complete: rows.filter((r) => r.status === 'complete').length,
      partial: rows.filter((r) => r.status === 'partial').length,
      countsAgree: JSON.stringify(report) === JSON.stringify(fromRows),
    };
  } finally {
    await db.destroy();
  }
}

it('erases drafts older than DRAFT_RETENTION_DAYS when the server starts, and nothing else', async () => {
  // The 2019 responses: 400 sent and 20 never sent, imported: records, not drafts, so they stay.
  const imported = await cli(['import', '--survey', SLUG, join(ROOT, 'test/fixtures/csp-2019-published.csv')], path);
  expect(imported.code, imported.stderr).toBe(0);
  // Three drafts abandoned long ago, and one begun today.
  const { db } = await openSqliteDatabase(path);
  for (const now of ['2019-01-01T10:00:00Z', '2019-06-01T10:00:00Z', '2025-01-01T10:00:00Z', new Date().toISOString()])
    await startDraft(db, survey, { channel: 'web', tokenHash: newDraftToken().hash, now: new Date(now) });
  await db.destroy();
  server = await ServerProcess.start(path, { DRAFT_RETENTION_DAYS: '90' });
  const erasedLog = /"erased":3,"retentionDays":90,"msg":"stale drafts erased"/;
  let now = await statuses();
  // The erasure is visible to other connections once committed, and logged once fsynced just after: wait for both.
  for (let i = 0; i < 100 && (now.partial > 21 || !erasedLog.test(server.log)); i++) {
    await sleep(100);
    now = await statuses();
  }
  expect(now).toEqual({ complete: 400, partial: 21, countsAgree: true });
  expect(server.log).toMatch(erasedLog);
  expect(await server.stop()).toBe(0);
  server = undefined;
});
