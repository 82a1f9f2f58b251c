import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReport } from '../../src/analysis/report.ts';
import { connect } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import type { Engine } from '../../src/db/url.ts';
import { importResponses } from '../../src/exports/import.ts';
import { savePaperResponse } from '../../src/responses/paper-entries.ts';
import { setSchedule } from '../../src/responses/schedules.ts';
import { journey } from '../../src/survey/journey.ts';
import { cli, ROOT } from '../faults/harness.ts';
import { createAccount, cspSurvey, freshDatabase, makeApp, Respondent, TEST_ENGINE, type TestApp } from '../helpers.ts';

// `cli copy`: a council that started on the embedded SQLite moves to PostgreSQL
// (and back). On the Postgres run of the suite the copies cross engines both
// ways; on the SQLite run they go from file to file.

const survey = cspSurvey();
const fixture = readFileSync(join(ROOT, 'test/fixtures/csp-2019-published.csv'));
const other: Engine = TEST_ENGINE === 'postgres' ? 'sqlite' : 'postgres';
/** The engine the copy goes to: the other one when the suite has a Postgres server. */
const across: Engine = process.env.TEST_DATABASE_URL ? other : 'sqlite';

let t: TestApp;
const cleanup: (() => Promise<void>)[] = [];
beforeEach(async () => {
  t = await makeApp();
});
afterEach(async () => {
  for (const step of cleanup.splice(0)) await step();
  await t.close();
});

async function database(name: string, engine: Engine) {
  const made = await freshDatabase(t.dir, name, engine);
  cleanup.push(made.drop);
  return made.url;
}

/** Every row of the tables a copy carries, in a stable order, to compare two databases. */
async function contents(db: Kysely<Database>) {
  return {
    responses: await db.selectFrom('responses').selectAll().orderBy('id').execute(),
    values: await db
      .selectFrom('response_values')
      .selectAll()
      .orderBy(['response_id', 'question_id', 'value'])
      .execute(),
    pages: await db.selectFrom('response_pages').selectAll().orderBy(['response_id', 'page_id']).execute(),
    paper: await db.selectFrom('paper_entries').selectAll().orderBy('response_id').execute(),
    schedules: await db.selectFrom('survey_schedules').selectAll().execute(),
    accounts: await db.selectFrom('admin_accounts').selectAll().orderBy('id').execute(),
    report: await buildReport(db, survey, { status: 'all' }),
  };
}

async function opened<T>(url: string, work: (db: Kysely<Database>) => Promise<T>): Promise<T> {
  const db = await connect(url);
  try {
    return await work(db);
  } finally {
    await db.destroy();
  }
}

describe('cli copy', () => {
  it(`moves every response, draft, paper entry, schedule and account to another engine (${TEST_ENGINE} to ${across}) and back, the report identical`, async () => {
    await importResponses(t.db, survey, fixture);
    const draft = new Respondent(t.app);
    await draft.start('facebook');
    await draft.answer('area', { area: 'dartford' });
    const answers = { area: { area: 'gravesham' } };
    await savePaperResponse(t.db, survey, {
      id: '00000000-0000-4000-8000-00000000beef',
      answers,
      values: journey(survey, answers).values,
      accountId: await createAccount(t.db, 'clerk@council.gov.uk', 'analyst', 'a long enough passphrase'),
      now: new Date('2026-12-01T10:00:00Z'),
    });
    await setSchedule(t.db, survey, { opensAt: null, closesAt: '2027-01-31T23:59:00.000Z' }, new Date());
    const before = await contents(t.db);
    expect(before.responses).toHaveLength(422);

    const there = await database('there', across);
    const moved = await cli(['copy', '--from', t.databaseUrl, '--to', there], t.databaseUrl);
    expect(moved.stderr).toBe('');
    expect(moved.stdout).toBe(
      'Copied 422 responses of csp-2019 (401 complete, 21 partial, 1 keyed in from paper); the report is identical.\n' +
        'Copied 1 admin accounts (everyone signs in again).\n',
    );
    expect(moved.code).toBe(0);
    expect(await opened(there, contents)).toEqual(before);

    // And back again, to a fresh database on the suite's engine: still the same, row for row.
    const back = await database('back', TEST_ENGINE);
    expect((await cli(['copy', '--from', there, '--to', back], t.databaseUrl)).code).toBe(0);
    expect(await opened(back, contents)).toEqual(before);
  }, 60_000);

  it('refuses a target that already holds the survey, and a wrong call, writing nothing', async () => {
    await importResponses(t.db, survey, fixture);
    const there = await database('there', across);
    expect((await cli(['copy', '--from', t.databaseUrl, '--to', there], t.databaseUrl)).code).toBe(0);
    const again = await cli(['copy', '--from', t.databaseUrl, '--to', there], t.databaseUrl);
    expect(again.code).toBe(1);
    expect(again.stderr).toBe(
      'soundings: the target already holds 420 responses of csp-2019: copy into a database without them\n',
    );
    expect(await opened(there, async (db) => (await contents(db)).responses.length)).toBe(420);

    const same = await cli(['copy', '--from', t.databaseUrl, '--to', t.databaseUrl], t.databaseUrl);
    expect([same.code, same.stderr.split('\n')[0]]).toEqual([2, 'soundings: --from and --to are the same database']);
    const half = await cli(['copy', '--from', t.databaseUrl], t.databaseUrl);
    expect([half.code, half.stderr.split('\n')[0]]).toEqual([
      2,
      'soundings: give both --from and --to (a DATABASE_URL each)',
    ]);
    const missing = await cli(['copy', '--from', join(t.dir, 'nowhere.sqlite'), '--to', there], t.databaseUrl);
    expect([missing.code, missing.stderr]).toEqual([
      1,
      `soundings: there is no database at ${join(t.dir, 'nowhere.sqlite')}\n`,
    ]);
  }, 60_000);

  it('writes nothing when the source counts disagree with its rows', async () => {
    await importResponses(t.db, survey, fixture);
    // A running count knocked out of line with the responses (as a bug or a hand edit would).
    await t.db
      .updateTable('report_totals')
      .set((eb) => ({ n: eb('n', '+', 1) }))
      .where('metric', '=', 'v|concern_1|asb')
      .execute();
    const there = await database('there', across);
    const copied = await cli(['copy', '--from', t.databaseUrl, '--to', there], t.databaseUrl);
    expect(copied.code).toBe(1);
    expect(copied.stderr).toMatch(/disagree with its responses in the source: nothing was copied/);
    expect(await opened(there, async (db) => (await contents(db)).responses.length)).toBe(0);
  }, 60_000);
});
