import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crosstab, crosstabJson } from '../../src/analysis/crosstab.ts';
import { buildReportFromRows } from '../../src/analysis/reference-report.ts';
import { buildMatrix, selectRows } from '../../src/analysis/response-matrix.ts';
import { cspSurvey, makeFixtureApp, type TestApp } from '../helpers.ts';

const survey = cspSurvey();
let t: TestApp;

beforeAll(async () => {
  t = await makeFixtureApp();
});
afterAll(() => t.close());

describe('a cross-tab from the response matrix', () => {
  it('lets the event loop turn between batches while it builds', async () => {
    let building = true;
    let turns = 0;
    const tick = () => {
      turns++;
      if (building) setImmediate(tick);
    };
    setImmediate(tick);
    const matrix = await buildMatrix(t.db, survey, { batch: 100 });
    building = false;
    expect(matrix.size).toBe(420);
    // Five batches of 100: the respondents' requests get a turn after each.
    expect(turns).toBeGreaterThanOrEqual(4);
  });

  it('gives the counts the GROUP BY reference gives, for every filter', async () => {
    const matrix = await buildMatrix(t.db, survey);
    expect(matrix.size).toBe(420);
    for (const filters of [
      { status: 'all' as const },
      { status: 'complete' as const, area: 'dartford' },
      { status: 'all' as const, channel: 'facebook', from: '2019-02-20' },
    ]) {
      const reference = await buildReportFromRows(t.db, survey, filters);
      for (const by of ['age', 'gender', 'ethnicity', 'area', 'postcode']) {
        const column = by === 'postcode' ? 'postcode_district' : by;
        const table = crosstabJson(crosstab(survey, matrix, 'concern_1', column, selectRows(matrix, survey, filters)));
        const expected = reference.crosstabs[`concern_1_by_${column}`] ?? {};
        for (const [row, cells] of Object.entries(table.counts))
          for (const [col, n] of Object.entries(cells)) expect(n, `${row} ${col}`).toBe(expected[row]?.[col] ?? 0);
        // Every reference cell is in the cross-tab too.
        for (const [row, cells] of Object.entries(expected))
          for (const [col, n] of Object.entries(cells)) expect(table.counts[row]?.[col], `${row} ${col}`).toBe(n);
      }
    }
  });

  it('counts a multiple-choice answer in each of its cells, with totals of respondents', async () => {
    const matrix = await buildMatrix(t.db, survey);
    const rows = selectRows(matrix, survey, { status: 'all' });
    const table = crosstab(survey, matrix, 'concern_1_top3', 'gender', rows);
    const reference = await buildReportFromRows(t.db, survey, { status: 'all' });
    // Summed over genders, each code's count is at most those who ticked it (some left gender blank).
    const ticked = new Map<string, number>();
    for (const tally of Object.values(
      reference.questions.concern_1_top3 as Record<string, { counts: Record<string, number> }>,
    ))
      for (const [code, n] of Object.entries(tally.counts)) ticked.set(code, (ticked.get(code) ?? 0) + n);
    table.row.codes.forEach(({ code }, r) => {
      const sum = (table.counts[r] as number[]).reduce((a, b) => a + b, 0);
      expect(sum).toBeLessThanOrEqual(ticked.get(code) ?? 0);
    });
    expect(table.test.testable).toBe(false);
    expect(table.total).toBeGreaterThan(0);
    // Column totals are respondents, not ticks: no more than answered the gender question.
    const genderAnswered = (reference.questions.gender as { answered: number }).answered;
    for (const n of table.columnTotals) expect(n).toBeLessThanOrEqual(genderAnswered);
  });
});
