import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, type Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import type { Filters } from '../../src/analysis/filters.ts';
import { buildReport, countsQuery, responsesByDay, responsesByDayQuery } from '../../src/analysis/report.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import { connect } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import { importResponses } from '../../src/exports/import.ts';
import { cspSurvey, freshDatabase, makeApp, type TestApp } from '../helpers.ts';

// Migration 08 adds report_summary (the counts by status and flag alone) and
// clusters report_totals and report_days by their keys, dimensions first.

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
/** The rollups 06 made; 08 adds report_summary. */
const ROLLUPS_06 = ['report_totals', 'report_days', 'report_counts'] as const;
const FILTERS: Filters[] = [
  { status: 'all' },
  { status: 'complete' },
  { status: 'all', area: 'dartford' },
  { status: 'all', channel: 'facebook' },
  { status: 'all', flagged: 'exclude' },
  { status: 'partial', from: '2019-02-20', to: '2019-02-28' },
  { status: 'all', area: 'gravesham', from: '2019-02-20' },
];

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
  await importResponses(t.db, survey, fixture);
});
afterEach(async () => {
  await t.close();
});

/** Every count row of every rollup, in one order. */
async function countRows(db: Kysely<Database>, tables: readonly string[] = [...ROLLUPS_06, 'report_summary']) {
  const all: Record<string, unknown[]> = {};
  for (const table of tables) {
    const rows = await (db as Kysely<any>).selectFrom(table).selectAll().execute();
    all[table] = rows
      .map((r: Record<string, unknown>) => ({ ...r, n: Number(r.n) }))
      .sort((a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return all;
}

const reports = (db: Kysely<Database>) => Promise.all(FILTERS.map((f) => buildReport(db, survey, f)));

describe('migration 08 (report_summary, and the rollups clustered)', () => {
  it('keeps every count, and the reports, going up and back down', async () => {
    const expected = await countRows(t.db);
    const expectedReports = await reports(t.db);
    expect(expectedReports[0]?.responses).toBe(420);

    // A database as it was before 08, holding the same counts.
    const dir = mkdtempSync(join(tmpdir(), 'soundings-layout-'));
    const database = await freshDatabase(dir, 'before-08');
    const db = await connect(database.url, { migrate: false });
    try {
      const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
      const before = await migrator.migrateTo('2026-11-26-07-shared-secrets');
      expect(before.error).toBeUndefined();
      for (const table of ROLLUPS_06) {
        const rows = expected[table] as Record<string, unknown>[];
        for (let i = 0; i < rows.length; i += 500)
          await (db as Kysely<any>)
            .insertInto(table)
            .values(rows.slice(i, i + 500))
            .execute();
      }

      // Up: the rows kept, and report_summary summed from them as the app keeps it.
      await migrateToLatest(db);
      expect(await countRows(db)).toEqual(expected);
      expect(await reports(db)).toEqual(expectedReports);

      // Down to 07, through any migration added after 08.
      const down = await migrator.migrateTo('2026-11-26-07-shared-secrets');
      expect(down.error).toBeUndefined();
      expect(down.results?.at(-1)).toMatchObject({ migrationName: '2026-11-26-08-report-summary', status: 'Success' });
      const { report_summary: _summary, ...expected06 } = expected;
      expect(await countRows(db, ROLLUPS_06)).toEqual(expected06);
      await expect(db.selectFrom('report_summary').selectAll().execute()).rejects.toThrow(/report_summary/);
      // And up again.
      await migrateToLatest(db);
      expect(await countRows(db)).toEqual(expected);
      expect(await reports(db)).toEqual(expectedReports);
    } finally {
      await db.destroy();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('reads each report from the smallest rollup that has its filters, by key, on tables clustered by it', async () => {
    const sqlite = await makeApp({ engine: 'sqlite' });
    try {
      await importResponses(sqlite.db, survey, fixture);
      const expectedTables: [Filters, string][] = [
        [{ status: 'all' }, 'report_summary'],
        [{ status: 'complete', flagged: 'exclude' }, 'report_summary'],
        [{ status: 'all', area: 'dartford' }, 'report_totals'],
        [{ status: 'all', channel: 'facebook' }, 'report_totals'],
        [{ status: 'partial', from: '2019-02-20', to: '2019-02-28' }, 'report_days'],
        [{ status: 'all', area: 'gravesham', from: '2019-02-20' }, 'report_counts'],
      ];
      for (const [filters, table] of expectedTables) {
        const query = countsQuery(sqlite.db, survey, filters).compile();
        expect(query.sql, JSON.stringify(filters)).toContain(`from "${table}" as "counts"`);
        const plan = await sqlite.db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
        );
        const steps = plan.rows.map((r) => r.detail).join('; ');
        // Looked up by the survey in the key (or report_counts' index by survey and day), never a whole table's scan.
        expect(steps, JSON.stringify(filters)).toMatch(
          /^SEARCH counts USING (PRIMARY KEY|INDEX report_counts_day) \(survey=\?/,
        );
      }
      const clustered = await sqlite.db.executeQuery<{ name: string }>(
        CompiledQuery.raw(
          `select name from sqlite_master where type = 'table' and sql like '%without rowid%' order by name`,
        ),
      );
      expect(clustered.rows.map((r) => r.name)).toEqual(['report_days', 'report_summary', 'report_totals']);
    } finally {
      await sqlite.close();
    }
  });

  it("finds the responses per day under an area or channel filter in the count rows' partial index", async () => {
    const sqlite = await makeApp({ engine: 'sqlite' });
    try {
      await importResponses(sqlite.db, survey, fixture);
      for (const filters of [
        { status: 'all', area: 'dartford' },
        { status: 'complete', channel: 'facebook', flagged: 'exclude' },
        { status: 'partial', area: 'gravesham', from: '2019-02-20' },
      ] satisfies Filters[]) {
        const query = responsesByDayQuery(sqlite.db, survey, filters).compile();
        expect(query.sql).toContain('from "report_counts" as "counts"');
        const plan = await sqlite.db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
        );
        expect(plan.rows.map((r) => r.detail).join('; ')).toMatch(/USING (COVERING )?INDEX report_counts_responses/);
      }
      // The same days and counts as the responses themselves give, the status filtered too.
      const days = await responsesByDay(sqlite.db, survey, { status: 'all', area: 'dartford' });
      const complete = await responsesByDay(sqlite.db, survey, { status: 'complete', area: 'dartford' });
      expect(complete).toEqual(days.filter((d) => d.complete).map((d) => ({ ...d, partial: 0 })));
      const expected = await sqlite.db
        .selectFrom('responses')
        .innerJoin('response_values', 'response_values.response_id', 'responses.id')
        .select([
          (eb) => eb.fn<string>('substr', ['responses.started_at', eb.val(1), eb.val(10)]).as('day'),
          'responses.status',
          (eb) => eb.fn.countAll<number>().as('n'),
        ])
        .where('response_values.question_id', '=', 'area')
        .where('response_values.value', '=', 'dartford')
        .groupBy(['day', 'responses.status'])
        .execute();
      const total = (list: { n?: number; complete?: number; partial?: number }[]) =>
        list.reduce((sum, r) => sum + Number(r.n ?? 0) + (r.complete ?? 0) + (r.partial ?? 0), 0);
      expect(days.length).toBeGreaterThan(1);
      expect(total(days)).toBe(total(expected));
      expect(new Set(days.map((d) => d.day))).toEqual(new Set(expected.map((r) => r.day)));
    } finally {
      await sqlite.close();
    }
  });
});
