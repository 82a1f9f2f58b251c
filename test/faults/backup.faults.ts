import { randomUUID } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { stringify } from 'csv-stringify/sync';
import { afterAll, expect, it } from 'vitest';
import { buildReportFromRows } from '../../src/analysis/reference-report.ts';
import { openSqliteDatabase } from '../../src/db/open.ts';
import { loadSurveys } from '../../src/survey/definitions/index.ts';
import {
  checkDatabase,
  cli,
  Journey,
  NotAcknowledged,
  ROOT,
  recordFault,
  SCRIPTS,
  ServerProcess,
  SLUG,
  send,
  sleep,
  snapshot,
} from './harness.ts';

const survey = loadSurveys()[0]!;
const dir = mkdtempSync(join(tmpdir(), 'soundings-backup-'));
const data = join(dir, 'data');
const live = join(data, 'soundings.sqlite');
const backup = join(dir, 'backup.sqlite');
let server: ServerProcess | undefined;

afterAll(async () => {
  await server?.kill();
  rmSync(dir, { recursive: true, force: true });
});

/** The published responses ten times over (new response ids), for a database of some size. */
function bigImport(): string {
  const rows = parse(readFileSync(join(ROOT, 'test/fixtures/csp-2019-published.csv')), {
    columns: true,
    bom: true,
  }) as Record<string, string>[];
  const copies = Array.from({ length: 10 }, () => rows.map((row) => ({ ...row, response_id: randomUUID() }))).flat();
  const file = join(dir, 'responses.csv');
  writeFileSync(file, stringify(copies, { header: true, bom: true }));
  return file;
}

const WORKERS = 6;

it('takes a consistent backup of a live database under load; restored, it gives the same report', async () => {
  mkdirSync(data);
  const imported = await cli(['import', '--survey', SLUG, bigImport()], live);
  expect(imported.code, imported.stderr).toBe(0);
  const importedIds = await (async () => {
    const { db } = await openSqliteDatabase(live, { mustExist: true, migrate: false });
    try {
      return new Set((await db.selectFrom('responses').select('id').execute()).map((r) => r.id));
    } finally {
      await db.destroy();
    }
  })();
  expect(importedIds.size).toBe(4200);

  // Drafts are kept for the test (the imported ones date from 2019): the report must not change under it.
  server = await ServerProcess.start(live, { DRAFT_RETENTION_DAYS: 'off' });
  const base = server.url;
  const journeys: Journey[] = [];
  let stop = false;
  const problems: string[] = [];
  const worker = async () => {
    while (!stop) {
      const j = new Journey(SCRIPTS[journeys.length % SCRIPTS.length]!, () => base);
      journeys.push(j);
      try {
        await j.run();
      } catch (err) {
        if (!(err instanceof NotAcknowledged)) problems.push(String(err));
      }
    }
  };
  const acknowledgements = () => journeys.reduce((n, j) => n + j.acknowledged + (j.submitted ? 1 : 0), 0);
  const workers = Array.from({ length: WORKERS }, worker);
  await sleep(1500);

  // What respondents had been told before the backup began: it must all be in the copy.
  const before = journeys.map(snapshot);
  const acknowledgedBefore = acknowledgements();
  const started = performance.now();
  const result = await cli(['backup', backup], live);
  const seconds = (performance.now() - started) / 1000;
  const acknowledgedDuring = acknowledgements() - acknowledgedBefore;
  expect(result.code, result.stderr).toBe(0);
  expect(result.stdout).toMatch(/^Backed up .* \(\d+ responses, \d+ KB\)\.\n$/);
  await sleep(500);
  stop = true;
  await Promise.all(workers);
  expect(problems).toEqual([]);
  // It was taken under load: answers were being acknowledged while it ran.
  expect(acknowledgedDuring).toBeGreaterThan(0);
  expect(await server.stop()).toBe(0);
  server = undefined;

  // The copy is whole and consistent, and holds everything acknowledged before it began.
  const owners = new Set(journeys.map((j) => j.tokenHash).filter((h): h is string => Boolean(h)));
  const copy = await checkDatabase(backup, survey, before, { owners, imported: importedIds });
  expect(copy.problems).toEqual([]);
  expect(copy.responses).toBeGreaterThan(importedIds.size);
  expect(existsSync(`${backup}-wal`)).toBe(false);

  // Every response it holds complete is exactly as the live database has it (a sent response never changes).
  const { db: backupDb } = await openSqliteDatabase(backup, { mustExist: true, migrate: false });
  const { db: liveDb } = await openSqliteDatabase(live, { mustExist: true, migrate: false });
  try {
    const sent = await backupDb.selectFrom('responses').selectAll().where('status', '=', 'complete').execute();
    const liveRows = new Map(
      (await liveDb.selectFrom('responses').selectAll().execute()).map((row) => [row.id, row] as const),
    );
    const changed = sent.filter((row) => JSON.stringify(liveRows.get(row.id)) !== JSON.stringify(row));
    expect(changed).toEqual([]);
  } finally {
    await liveDb.destroy();
  }
  // The report recounted from the copy's raw rows, to compare the restored server's with.
  const expected = JSON.parse(JSON.stringify(await buildReportFromRows(backupDb, survey, { status: 'all' })));
  await backupDb.destroy();

  // Restore as the README says: stop the server (done), move the database and its -wal and -shm
  // aside, copy the backup in its place, start the server.
  const aside = join(dir, 'before-restore');
  mkdirSync(aside);
  for (const suffix of ['', '-wal', '-shm'])
    if (existsSync(`${live}${suffix}`)) renameSync(`${live}${suffix}`, join(aside, `soundings.sqlite${suffix}`));
  copyFileSync(backup, live);
  server = await ServerProcess.start(live, { DRAFT_RETENTION_DAYS: 'off' });
  expect((await send(server.url, 'GET', `/s/${SLUG}`)).status).toBe(200);
  const report = await cli(['report', '--survey', SLUG], live);
  expect(report.code, report.stderr).toBe(0);
  expect(JSON.parse(report.stdout)).toEqual(expected);
  // And the restored server takes new answers.
  const after = new Journey(SCRIPTS[0]!, () => server!.url);
  await after.run();
  expect(after.thanked).toBe(true);
  expect(await server.stop()).toBe(0);
  server = undefined;

  recordFault('backup', {
    fault: 'Backup taken under load, then restored',
    injected: `\`cli backup\` of a live database (4,200 imported responses) while ${WORKERS} respondents answered and sent; the server then stopped, the backup restored as the README says and the server started on it`,
    cycles: 1,
    acknowledged: before.filter((j) => j.submitted).length,
    lost: copy.problems.length,
    notes: `backup took ${seconds.toFixed(1)} s (CLI start-up included) while ${acknowledgedDuring} answers were acknowledged; the copy held ${copy.responses} responses, every one acknowledged before it began, none torn, integrity_check ok; its sent responses identical to the live ones; the restored server's report equal to the report recounted from the copy's rows`,
  });
});
