import { describe, expect, it } from 'vitest';
import { cellReading, chiSquareTest, chiSquareUpperTail } from '../../src/stats/chi-square.ts';

// Worked by hand; the same statistics against R are in stats-reference.test.ts.

function tested(counts: number[][]) {
  const result = chiSquareTest(counts);
  if (!result.testable) throw new Error(`expected a test, got: ${result.reason}`);
  return result;
}

describe('chi-square test of a cross-tab', () => {
  it('works a textbook 2×2 through: 20/30 against 30/20', () => {
    //            yes  no | total
    //   men       20  30 |  50
    //   women     30  20 |  50
    //   total     50  50 | 100
    // Every expected count is 50·50/100 = 25 and every O − E is ±5, so the statistic is
    // 4 · 5²/25 = 4 on (2 − 1)(2 − 1) = 1 df, and p = P(χ²₁ > 4) = 2·(1 − Φ(2)) = 2 · 0.0227501319 = 0.0455002639.
    // Adjusted residual: −5 / √(25 · (1 − 50/100) · (1 − 50/100)) = −5 / 2.5 = −2 for men saying yes.
    const result = tested([
      [20, 30],
      [30, 20],
    ]);
    expect(result.statistic).toBeCloseTo(4, 12);
    expect(result.df).toBe(1);
    expect(result.p).toBeCloseTo(0.0455002638963585, 12);
    expect(result.expected).toEqual([
      [25, 25],
      [25, 25],
    ]);
    expect(result.adjustedResiduals.flat().map((r) => Number(r.toFixed(12)))).toEqual([-2, 2, 2, -2]);
    expect(result.significant).toEqual([
      [true, true],
      [true, true],
    ]);
    expect(result.readings).toEqual([
      ['fewer than expected', 'more than expected'],
      ['more than expected', 'fewer than expected'],
    ]);
    expect(result.lowExpected).toEqual({ cells: 0, share: 0, minimum: 25 });
    expect(result.warnings).toEqual([]);
  });

  it('works a 2×2 with no significant cell through: 10/20 against 20/30', () => {
    // Row and column totals 30 and 50, N = 80: expected 30·30/80 = 11.25, 18.75, 18.75, 31.25, and O − E = ∓1.25.
    // Statistic = 1.25² · (1/11.25 + 2/18.75 + 1/31.25) = (25/16) · (4/45 + 8/75 + 4/125) = (25/16) · (256/1125) = 16/45.
    // In a 2×2 each adjusted residual is ±√statistic = ±4/√45 = ±0.5963, so none is beyond 1.96, and
    // p = 2·(1 − Φ(0.5963)) = 0.55098 (normal tables: Φ(0.5963) = 0.72451).
    const result = tested([
      [10, 20],
      [20, 30],
    ]);
    expect(result.statistic).toBeCloseTo(16 / 45, 12);
    expect(result.p).toBeCloseTo(0.55098, 5);
    expect(result.expected.flat()).toEqual([11.25, 18.75, 18.75, 31.25]);
    for (const r of result.adjustedResiduals.flat()) expect(Math.abs(r)).toBeCloseTo(4 / Math.sqrt(45), 12);
    expect(result.adjustedResiduals[0]![0]).toBeLessThan(0);
    expect(result.significant.flat()).toEqual([false, false, false, false]);
    expect(result.readings.flat()).toEqual([null, null, null, null]);
  });

  it('has df (rows − 1)(columns − 1) and a statistic of 0 with p = 1 when rows are in proportion', () => {
    // Every row is a multiple of 1:2:3, so observed = expected everywhere.
    const result = tested([
      [1, 2, 3],
      [2, 4, 6],
      [10, 20, 30],
    ]);
    expect(result.df).toBe(4);
    expect(result.statistic).toBeCloseTo(0, 12);
    expect(result.p).toBeCloseTo(1, 12);
  });

  it('warns in words when more than a fifth of the expected counts are below 5', () => {
    // Row totals 20, 40, 40 and column totals 20, 20, 20, 40 (N = 100): the first row expects 4, 4, 4 and 8,
    // the others 8, 8, 8 and 16, so 3 of 12 cells (25%) are below 5 and none below 1.
    const result = tested([
      [1, 5, 6, 8],
      [10, 7, 7, 16],
      [9, 8, 7, 16],
    ]);
    expect(result.lowExpected).toEqual({ cells: 3, share: 0.25, minimum: 4 });
    expect(result.warnings).toEqual([
      '3 of 12 cells (25%) have an expected count below 5: the test may not be reliable.',
    ]);
  });

  it('warns when an expected count is below 1', () => {
    // Totals 2 and 98 by 10 and 90 (N = 100): expected 0.2, 1.8, 9.8 and 88.2.
    const result = tested([
      [1, 1],
      [9, 89],
    ]);
    expect(result.lowExpected.cells).toBe(2);
    expect(result.lowExpected.minimum).toBeCloseTo(0.2, 12);
    expect(result.warnings).toEqual([
      '2 of 4 cells (50%) have an expected count below 5: the test may not be reliable.',
      'The smallest expected count is 0.20, below 1: the test may not be reliable.',
    ]);
  });

  it('gives no warning when a fifth or fewer of the expected counts are below 5, none below 1', () => {
    // Row totals 8, 23, 23, 23, 23 by column totals 50, 50 (N = 100): the first row expects 4 and 4,
    // the others 11.5: 2 of 10 cells (20%) below 5, none below 1, which Cochran's rule allows.
    const result = tested([
      [3, 5],
      [12, 11],
      [11, 12],
      [12, 11],
      [12, 11],
    ]);
    expect(result.lowExpected.cells).toBe(2);
    expect(result.lowExpected.share).toBe(0.2);
    expect(result.warnings).toEqual([]);
  });

  it('leaves out rows and columns with no responses, says so, and keeps the indices of the rest', () => {
    const result = chiSquareTest(
      [
        [12, 0, 7],
        [0, 0, 0],
        [3, 0, 25],
      ],
      { rows: ['under 18', '18 to 24', '25 to 34'], columns: ['Yes', 'Not sure', 'No'] },
    );
    if (!result.testable) throw new Error(result.reason);
    expect(result.dropped).toEqual({ rows: [1], columns: [1] });
    expect(result.rows).toEqual([0, 2]);
    expect(result.columns).toEqual([0, 2]);
    expect(result.expected).toHaveLength(2);
    expect(result.expected[0]).toHaveLength(2);
    expect(result.df).toBe(1);
    expect(result.warnings).toEqual([
      '18 to 24 has no responses and is left out of the test.',
      'Not sure has no responses and is left out of the test.',
    ]);
    // The same as the 2×2 on its own.
    const alone = tested([
      [12, 7],
      [3, 25],
    ]);
    expect(result.statistic).toBe(alone.statistic);
    expect(result.p).toBe(alone.p);
  });

  it('says why there is no test when fewer than two rows or columns have responses, with no NaN', () => {
    const oneColumn = chiSquareTest([
      [5, 0],
      [3, 0],
    ]);
    expect(oneColumn).toEqual({
      testable: false,
      reason: 'Only one column has any responses, so there is nothing to compare.',
      dropped: { rows: [], columns: [1] },
      warnings: ['Column 2 has no responses and is left out of the test.'],
    });
    const oneRow = chiSquareTest([
      [0, 0, 0],
      [4, 6, 1],
    ]);
    expect(oneRow.testable).toBe(false);
    if (!oneRow.testable) expect(oneRow.reason).toBe('Only one row has any responses, so there is nothing to compare.');
    for (const empty of [[], [[]], [[0, 0]], [[0], [0]], [[7]]]) {
      const result = chiSquareTest(empty);
      expect(result.testable).toBe(false);
      expect(JSON.stringify(result)).not.toMatch(/NaN|null/);
    }
    const none = chiSquareTest([
      [0, 0],
      [0, 0],
    ]);
    if (!none.testable) expect(none.reason).toBe('There are no responses to test.');
  });

  it('refuses counts that are not whole numbers of 0 or more, and ragged tables', () => {
    expect(() => chiSquareTest([[1, -1]])).toThrow(RangeError);
    expect(() => chiSquareTest([[1, 2.5]])).toThrow(/whole numbers/);
    expect(() => chiSquareTest([[1, Number.NaN]])).toThrow(RangeError);
    expect(() => chiSquareTest([[1, 2], [3]])).toThrow(/row 2 has 1 cells, not 2/);
  });
});

describe('reading a cell', () => {
  it('reads beyond ±1.96 as more or fewer than expected, and 1.96 itself as neither', () => {
    expect(cellReading(2.5)).toBe('more than expected');
    expect(cellReading(-1.97)).toBe('fewer than expected');
    expect(cellReading(1.96)).toBeNull();
    expect(cellReading(-1.96)).toBeNull();
    expect(cellReading(0)).toBeNull();
  });
});

describe('the chi-square upper tail', () => {
  it('matches the closed forms for 2 df, e^(−x/2), far into the tail where 1 − cdf would be 0', () => {
    // With 2 df the survival function is exactly exp(−x/2).
    for (const x of [0, 1, 5.991464547107979, 40, 100, 1000]) {
      const exact = Math.exp(-x / 2);
      expect(Math.abs(chiSquareUpperTail(x, 2) - exact) / exact).toBeLessThan(1e-12);
    }
    expect(chiSquareUpperTail(1000, 2)).toBeGreaterThan(0);
  });

  it('refuses a negative statistic or a df of 0', () => {
    expect(() => chiSquareUpperTail(-1, 1)).toThrow(RangeError);
    expect(() => chiSquareUpperTail(1, 0)).toThrow(RangeError);
  });
});
