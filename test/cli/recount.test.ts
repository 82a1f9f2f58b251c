import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildReportFromRows } from '../../src/analysis/reference-report.ts';
import { buildReport } from '../../src/analysis/report.ts';
import { importResponses } from '../../src/exports/import.ts';
import { recountSurvey } from '../../src/rollups/index.ts';
import { runCli as cli, cspSurvey, makeApp, Respondent, type TestApp } from '../helpers.ts';

const _run = promisify(execFile);
const root = join(import.meta.dirname, '../..');
const fixture = readFileSync(join(root, 'test/fixtures/csp-2019-published.csv'));
const survey = cspSurvey();

/** The rollups share their columns; Kysely cannot type a table named at run time. */
const counts = (t: TestApp) => t.db as unknown as Kysely<Record<string, { survey: string; metric: string; n: number }>>;

/** Every count row of the survey, in one order, for comparing before and after. */
async function keptCounts(t: TestApp) {
  const rows: unknown[] = [];
  for (const table of ['report_summary', 'report_totals', 'report_days', 'report_counts'])
    rows.push(
      ...(await counts(t).selectFrom(table).selectAll().where('survey', '=', survey.slug).execute())
        .map((r) => ({ table, ...r, n: Number(r.n) }))
        .filter((r) => r.n !== 0)
        .sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b))),
    );
  return rows;
}

/** Adds one to a count the report reads, as a bug or a hand edit might: the counts no longer match the rows. */
async function corrupt(t: TestApp, table: string, metric: string, where: Record<string, string> = {}) {
  let query = counts(t).selectFrom(table).selectAll().where('survey', '=', survey.slug).where('metric', '=', metric);
  for (const [column, value] of Object.entries(where)) query = query.where(column as 'metric', '=', value);
  const row = await query.executeTakeFirstOrThrow();
  await counts(t)
    .updateTable(table)
    .set({ n: Number(row.n) + 1 })
    .where((eb) => eb.and(Object.entries(row).map(([column, value]) => eb(column as 'metric', '=', value as string))))
    .execute();
}

let t: TestApp;
beforeEach(async () => {
  t = await makeApp();
  expect((await importResponses(t.db, survey, fixture)).ok).toBe(true);
  const r = new Respondent(t.app);
  await r.start();
  await r.answer('area', { area: 'dartford' });
});
afterEach(async () => {
  await t.close();
});

describe('cli recount --check', () => {
  it('says the counts agree with the stored responses, and changes nothing', async () => {
    const before = await keptCounts(t);
    const result = await cli(['recount', '--survey', 'csp-2019', '--check'], t.databaseUrl);
    expect(result).toEqual({
      code: 0,
      stdout: 'The running counts of csp-2019 agree with its 421 stored responses.\n',
      stderr: '',
    });
    expect(await keptCounts(t)).toEqual(before);
  });

  it('names the table whose counts are wrong, exits 1, and leaves them wrong', async () => {
    await corrupt(t, 'report_summary', 'v|concern_1|asb');
    const corrupted = await keptCounts(t);
    const result = await cli(['recount', '--survey', 'csp-2019', '--check'], t.databaseUrl);
    expect(result.code).toBe(1);
    expect(result.stdout).toBe(
      'The running counts of csp-2019 differ from its 421 stored responses in: questions.concern_1.\n' +
        'Run `recount --survey csp-2019` to rebuild them.\n',
    );
    expect(await keptCounts(t)).toEqual(corrupted);
  });

  it('finds a wrong count in the tables kept by day and by channel too', async () => {
    await corrupt(t, 'report_days', 'p|about-you');
    await corrupt(t, 'report_totals', 'v|concern_2|property', { channel: 'web' });
    await corrupt(t, 'report_counts', 'gv|concern_1_top3|asb|fly_tipping', { channel: 'facebook' });
    const result = await cli(['recount', '--survey', 'csp-2019', '--check'], t.databaseUrl);
    expect(result.code).toBe(1);
    // Other tables made from the same counts (About you's base, the combined ranks) differ with them.
    expect(result.stdout).toMatch(
      / in: pagesReached \(by day\), .*questions\.concern_2 \(channel web\), .*questions\.concern_1_top3 \(channel facebook, by day\)/,
    );
    expect(result.stdout).not.toMatch(/pagesReached[,.]|concern_1_top3[,.]|concern_2[,.]/);
  });
});

describe('cli recount', () => {
  it('rebuilds wrong counts from the stored responses, and says so', async () => {
    const right = await keptCounts(t);
    await corrupt(t, 'report_totals', 'v|concern_1|asb');
    await corrupt(t, 'report_counts', 'n|facebook');
    // A count row lost altogether.
    await counts(t)
      .deleteFrom('report_days')
      .where('survey', '=', survey.slug)
      .where('metric', '=', 'p|postcode')
      .execute();
    expect(await keptCounts(t)).not.toEqual(right);

    const recount = await cli(['recount', '--survey', 'csp-2019'], t.databaseUrl);
    expect(recount).toEqual({
      code: 0,
      stdout: 'Recounted 421 responses of csp-2019: the counts had drifted and are now rebuilt.\n',
      stderr: '',
    });
    expect(await keptCounts(t)).toEqual(right);
    expect(await buildReport(t.db, survey, { status: 'all' })).toEqual(
      await buildReportFromRows(t.db, survey, { status: 'all' }),
    );
    const check = await cli(['recount', '--survey', 'csp-2019', '--check'], t.databaseUrl);
    expect(check.code).toBe(0);
  });

  it('says when nothing changed', async () => {
    const before = await keptCounts(t);
    const result = await cli(['recount', '--survey', 'csp-2019'], t.databaseUrl);
    expect(result.stdout).toBe('Recounted 421 responses of csp-2019: the counts were right, nothing changed.\n');
    expect(await keptCounts(t)).toEqual(before);
  });

  it('explains a missing or unknown survey with exit code 2', async () => {
    for (const args of [['recount'], ['recount', '--survey', 'nope', '--check'], ['recount', '--survey']]) {
      const { code, stderr } = await cli(args, t.databaseUrl);
      expect(code, args.join(' ')).toBe(2);
      expect(stderr).toMatch(/soundings: .+\n\nUsage:[\s\S]*recount --survey SLUG \[--check\]/);
    }
  });

  it('keeps the counts exact while respondents save answers during the recount', async () => {
    const respondents = Array.from({ length: 12 }, (_, i) => new Respondent(t.app, 'csp-2019', `10.0.0.${i + 1}`));
    for (const r of respondents) await r.start();
    const areas = ['dartford', 'gravesham'];
    // Each respondent saves pages while recounts run: every save lands before or after a recount, never inside one.
    const saves = respondents.map(async (r, i) => {
      await r.answer('area', { area: areas[i % 2] as string });
      await r.answer('concern-1', { concern_1: 'asb' });
      await r.answer('area', { area: areas[(i + 1) % 2] as string });
    });
    const recounts = [recountSurvey(t.db, survey, 50), recountSurvey(t.db, survey, 50)];
    await Promise.all([...saves, ...recounts]);
    expect(await buildReport(t.db, survey, { status: 'all' })).toEqual(
      await buildReportFromRows(t.db, survey, { status: 'all' }),
    );
    const again = await recountSurvey(t.db, survey);
    expect(again).toEqual({ responses: 433, changed: false });
  });
});
