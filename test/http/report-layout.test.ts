import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CompiledQuery, type Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { migrations } from '../../migrations/index.ts';
import type { Filters } from '../../src/analysis/filters.ts';
import { buildReport, countsQuery } from '../../src/analysis/report.ts';
import { connect } from '../../src/db/connect.ts';
import { migrateToLatest } from '../../src/db/migrate.ts';
import type { Database } from '../../src/db/schema.ts';
import { importResponses } from '../../src/exports/import.ts';
import { cspSurvey, freshDatabase, makeApp, type TestApp } from '../helpers.ts';

// Migration 08 keys report_totals and report_days by survey, metric and status
// first, so that a report sums them in key order instead of sorting them.

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const survey = cspSurvey();
const ROLLUPS = ['report_totals', 'report_days', 'report_counts'] as const;
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
async function countRows(db: Kysely<Database>) {
  const all: Record<string, unknown[]> = {};
  for (const table of ROLLUPS) {
    const rows = await (db as Kysely<any>).selectFrom(table).selectAll().execute();
    all[table] = rows
      .map((r: Record<string, unknown>) => ({ ...r, n: Number(r.n) }))
      .sort((a: unknown, b: unknown) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  }
  return all;
}

const reports = (db: Kysely<Database>) => Promise.all(FILTERS.map((f) => buildReport(db, survey, f)));

describe('migration 08 (the rollups keyed by metric)', () => {
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
      for (const table of ROLLUPS) {
        const rows = expected[table] as Record<string, unknown>[];
        for (let i = 0; i < rows.length; i += 500)
          await (db as Kysely<any>)
            .insertInto(table)
            .values(rows.slice(i, i + 500))
            .execute();
      }

      await migrateToLatest(db);
      expect(await countRows(db)).toEqual(expected);
      expect(await reports(db)).toEqual(expectedReports);

      const down = await migrator.migrateDown();
      expect(down.results?.[0]).toMatchObject({
        migrationName: '2026-11-26-08-report-counts-by-metric',
        status: 'Success',
      });
      expect(await countRows(db)).toEqual(expected);
      expect(await reports(db)).toEqual(expectedReports);
    } finally {
      await db.destroy();
      await database.drop();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('lets SQLite sum an unfiltered report, and one filtered by status, area, channel, flag or date, without sorting', async () => {
    const sqlite = await makeApp({ engine: 'sqlite' });
    try {
      await importResponses(sqlite.db, survey, fixture);
      for (const filters of FILTERS.filter((f) => !(f.from && (f.area || f.channel)))) {
        const query = countsQuery(sqlite.db, survey, filters).compile();
        const plan = await sqlite.db.executeQuery<{ detail: string }>(
          CompiledQuery.raw(`explain query plan ${query.sql}`, [...query.parameters]),
        );
        const steps = plan.rows.map((r) => r.detail).join('; ');
        expect(steps, JSON.stringify(filters)).toMatch(/^SEARCH counts USING PRIMARY KEY \(survey=\?\)$/);
      }
    } finally {
      await sqlite.close();
    }
  });
});
