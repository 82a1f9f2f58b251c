import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type SuppressedCell,
  type SuppressedTable,
  suppressFrequencies,
  suppressTable,
} from '../../src/stats/suppression.ts';

/** The table with its totals as one grid: the last row is the column totals, the last column the row totals. */
function withTotals(t: SuppressedTable): SuppressedCell[][] {
  return [...t.cells.map((row, i) => [...row, t.rowTotals[i]!]), [...t.columnTotals, t.grandTotal]];
}

function shown(t: SuppressedTable): string[][] {
  return withTotals(t).map((row) => row.map((c) => c.shown));
}

/** The counts with their totals, added up here rather than taken from the code under test. */
function countsWithTotals(counts: number[][]): number[][] {
  const width = counts[0]!.length;
  const rows = counts.map((row) => [...row, row.reduce((a, b) => a + b, 0)]);
  const totals = Array.from({ length: width + 1 }, (_, j) => rows.reduce((a, row) => a + row[j]!, 0));
  return [...rows, totals];
}

/** Each row and column of the grid with totals, as lists of [i, j]: the lines subtraction works along. */
function lines(height: number, width: number): [number, number][][] {
  const rows = Array.from({ length: height + 1 }, (_, i) =>
    Array.from({ length: width + 1 }, (_, j): [number, number] => [i, j]),
  );
  const columns = Array.from({ length: width + 1 }, (_, j) =>
    Array.from({ length: height + 1 }, (_, i): [number, number] => [i, j]),
  );
  return [...rows, ...columns];
}

/**
 * What an attacker who knows every shown figure can work out: the hidden cells that the table's sums
 * pin down, found by linear algebra (a hidden cell is pinned when its unit vector lies in the row
 * space of the equations "the parts of each line add up to its total"). No graphs, unlike the code.
 */
function pinned(height: number, width: number, hidden: boolean[][]): [number, number][] {
  const unknowns: [number, number][] = [];
  for (let i = 0; i <= height; i++) for (let j = 0; j <= width; j++) if (hidden[i]![j]) unknowns.push([i, j]);
  const column = new Map(unknowns.map(([i, j], k) => [`${i},${j}`, k]));
  const equations = lines(height, width).map((line) => {
    const equation = new Array<number>(unknowns.length).fill(0);
    line.forEach(([i, j], position) => {
      const k = column.get(`${i},${j}`);
      if (k !== undefined) equation[k]! += position === line.length - 1 ? -1 : 1;
    });
    return equation;
  });
  // Reduced row echelon form, with partial pivoting.
  const pivots: number[] = [];
  let row = 0;
  for (let k = 0; k < unknowns.length && row < equations.length; k++) {
    let best = row;
    for (let r = row + 1; r < equations.length; r++) {
      if (Math.abs(equations[r]![k]!) > Math.abs(equations[best]![k]!)) best = r;
    }
    if (Math.abs(equations[best]![k]!) < 1e-9) continue;
    [equations[row], equations[best]] = [equations[best]!, equations[row]!];
    const pivot = equations[row]![k]!;
    equations[row] = equations[row]!.map((v) => v / pivot);
    for (let r = 0; r < equations.length; r++) {
      const factor = equations[r]![k]!;
      if (r !== row && Math.abs(factor) > 1e-12) {
        equations[r] = equations[r]!.map((v, c) => v - factor * equations[row]![c]!);
      }
    }
    pivots.push(k);
    row++;
  }
  return pivots.flatMap((k, r) => (equations[r]!.filter((v) => Math.abs(v) > 1e-9).length === 1 ? [unknowns[k]!] : []));
}

const publish = { mode: 'publish' } as const;

describe('suppressing a cross-tab for publication', () => {
  it('hides a small count, then enough others that no total gives it away', () => {
    //          A    B    C | total
    //   North 25    4   30 |  59
    //   South 18   40   22 |  80
    //   total 43   44   52 | 139
    // Primary: the 4. North then has one hidden cell: of its shown 25 and 30, neither's column has a
    // lone hidden cell, so the smaller, 25. Column A then has one: 18. South then has one: 40 is chosen
    // over the smaller 22 because column B has the lone 4, so it protects both. Now every row and
    // column has 0 or 2 hidden cells, and the four make a rectangle: adding 1 to 25 and 40 and taking
    // 1 from 4 and 18 keeps every total, so none of them can be worked out.
    const t = suppressTable(
      [
        [25, 4, 30],
        [18, 40, 22],
      ],
      publish,
    );
    expect(shown(t)).toEqual([
      ['[c]', '[c]', '30', '59'],
      ['[c]', '[c]', '22', '80'],
      ['43', '44', '52', '139'],
    ]);
    expect(t.cells.map((row) => row.map((c) => c.suppressed))).toEqual([
      ['secondary', 'primary', null],
      ['secondary', 'secondary', null],
    ]);
    expect(t.cells[0]![1]).toEqual({ value: null, shown: '[c]', suppressed: 'primary', small: true });
    expect(t.cells[0]![2]).toEqual({ value: 30, shown: '30', suppressed: null, small: false });
    expect(t.summary).toEqual({
      mode: 'publish',
      threshold: 10,
      suppressZeros: false,
      primary: 1,
      secondary: 3,
      totals: 0,
      note: '[c]: hidden, because the count is fewer than 10 respondents, or so that such a count cannot be worked out from the totals.',
    });
  });

  it('hides a small total, and another total beside it so that the grand total does not give it away', () => {
    //          A    B | total
    //   North  3   12 |  15
    //   South  0   20 |  20
    //   total  3   32 |  35
    // Primary: the 3 in North and column A's total 3. North has one hidden cell: 12. The totals row then
    // has one (the 3 of column A), and 35 − 32 would give it away: the only part left to hide is the 32.
    // Zeros stay shown. Rows 2, 0, 2 and columns 2, 2, 0 hidden cells: nothing can be worked out.
    const t = suppressTable(
      [
        [3, 12],
        [0, 20],
      ],
      publish,
    );
    expect(shown(t)).toEqual([
      ['[c]', '[c]', '15'],
      ['0', '20', '20'],
      ['[c]', '[c]', '35'],
    ]);
    expect(t.columnTotals.map((c) => c.suppressed)).toEqual(['primary', 'secondary']);
    expect(t.summary).toMatchObject({ primary: 2, secondary: 2, totals: 2 });
  });

  it('pairs small counts in different rows through the cells that protect both', () => {
    //   5 40 | 45
    //  30  7 | 37
    //  35 47 | 82
    // The 5 and the 7 are alone in their rows and columns. Row 1 hides 40, whose column has the lone 7,
    // so it protects both; row 2 then hides 30, likewise. Four cells, a rectangle.
    const t = suppressTable(
      [
        [5, 40],
        [30, 7],
      ],
      publish,
    );
    expect(shown(t)).toEqual([
      ['[c]', '[c]', '45'],
      ['[c]', '[c]', '37'],
      ['35', '47', '82'],
    ]);
  });

  it('needs nothing more when the small counts already make a rectangle', () => {
    // 5, 6, 7 and 8 have two hidden cells in every row and column they are in; every total is 12 or more.
    const t = suppressTable(
      [
        [5, 6, 40],
        [7, 8, 30],
      ],
      publish,
    );
    expect(shown(t)).toEqual([
      ['[c]', '[c]', '40', '51'],
      ['[c]', '[c]', '30', '45'],
      ['12', '14', '70', '96'],
    ]);
    expect(t.summary).toMatchObject({ primary: 4, secondary: 0, totals: 0 });
  });

  it('protects a cell that rows and columns pin down together, though every line has two hidden cells', () => {
    //          A    B    C    D | total
    //   1     32    7   48   24 | 111
    //   2      8   52    2   52 | 114
    //   3      7   23    4   32 |  66
    //   4      7    9   59   11 |  86
    //   total 54   91  113  119 | 377
    // The line rule alone hides the seven small counts and 24 and 11 (rows 1 and 4): every line then has
    // 0, 2 or 3 hidden cells, yet A4 is pinned. Column A's hidden three add to 54 − 32 = 22; rows 2 and 3
    // give A2 + C2 = 114 − 104 = 10 and A3 + C3 = 66 − 55 = 11, column C gives C2 + C3 = 113 − 107 = 6;
    // so A2 + A3 = 10 + 11 − 6 = 15 and A4 = 22 − 15 = 7. (A4 joins two rectangles and lies on no cycle
    // of hidden cells.) Hiding B3 too, the smallest shown cell joining the two, puts A4 on one.
    const counts = [
      [32, 7, 48, 24],
      [8, 52, 2, 52],
      [7, 23, 4, 32],
      [7, 9, 59, 11],
    ];
    const lineRuleOnly = [
      [0, 1, 0, 1, 0],
      [1, 0, 1, 0, 0],
      [1, 0, 1, 0, 0],
      [1, 1, 0, 1, 0],
      [0, 0, 0, 0, 0],
    ].map((row) => row.map(Boolean));
    expect(pinned(4, 4, lineRuleOnly)).toEqual([[3, 0]]);

    const t = suppressTable(counts, publish);
    expect(shown(t)).toEqual([
      ['32', '[c]', '48', '[c]', '111'],
      ['[c]', '52', '[c]', '52', '114'],
      ['[c]', '[c]', '[c]', '32', '66'],
      ['[c]', '[c]', '59', '[c]', '86'],
      ['54', '91', '113', '119', '377'],
    ]);
    expect(t.cells[2]![1]!.suppressed).toBe('secondary');
    const hidden = withTotals(t).map((row) => row.map((c) => c.suppressed !== null));
    expect(pinned(4, 4, hidden)).toEqual([]);
  });

  it('takes another threshold, and hides zeros only when asked', () => {
    // With a threshold of 15, the 14 and 12 of column B are small; row 1 then hides 30 (the only
    // non-zero count left in it), and row 2 hides 28, whose column has the lone 30.
    const counts = [
      [0, 14, 30],
      [20, 12, 28],
    ];
    expect(suppressTable(counts, publish).summary).toMatchObject({ primary: 0, secondary: 0 });
    const fifteen = suppressTable(counts, { mode: 'publish', threshold: 15 });
    expect(fifteen.cells.map((row) => row.map((c) => c.suppressed))).toEqual([
      [null, 'primary', 'secondary'],
      [null, 'primary', 'secondary'],
    ]);
    const zeros = suppressTable(counts, { mode: 'publish', suppressZeros: true });
    expect(zeros.cells[0]![0]).toEqual({ value: null, shown: '[c]', suppressed: 'primary', small: true });
    expect(zeros.summary.note).toBe(
      '[c]: hidden, because the count is fewer than 10 respondents (or none), or so that such a count cannot be worked out from the totals.',
    );
  });

  it('shows analysts every count, with the small ones marked and what publishing would hide', () => {
    const t = suppressTable(
      [
        [25, 4, 30],
        [18, 40, 22],
      ],
      { mode: 'analyst' },
    );
    expect(shown(t)).toEqual([
      ['25', '4', '30', '59'],
      ['18', '40', '22', '80'],
      ['43', '44', '52', '139'],
    ]);
    expect(t.cells[0]![1]).toEqual({ value: 4, shown: '4', suppressed: null, small: true });
    expect(
      withTotals(t)
        .flat()
        .filter((c) => c.small || c.suppressed !== null),
    ).toHaveLength(1);
    expect(t.summary).toMatchObject({ mode: 'analyst', primary: 1, secondary: 3 });
    expect(t.summary.note).toBe(
      'Counts of fewer than 10 respondents are marked as small: they are hidden when the table is published, with 3 more so that they cannot be worked out from the totals.',
    );
  });

  it('leaves an empty table alone, has no note when nothing is hidden, and refuses bad input', () => {
    const empty = suppressTable([], publish);
    expect(empty.cells).toEqual([]);
    expect(empty.grandTotal).toEqual({ value: 0, shown: '0', suppressed: null, small: false });
    expect(suppressTable([[50, 60]], publish).summary.note).toBeNull();
    expect(() => suppressTable([[1, 2], [3]], publish)).toThrow(/row 2 has 1 cells, not 2/);
    expect(() => suppressTable([[1, -2]], publish)).toThrow(RangeError);
    expect(() => suppressTable([[1, 2.5]], publish)).toThrow(RangeError);
    expect(() => suppressTable([[1]], { mode: 'publish', threshold: 0 })).toThrow(/threshold/);
    expect(() => suppressTable([[1]], { mode: 'print' as 'publish' })).toThrow(/mode/);
  });
});

describe('suppressing a frequency table for publication', () => {
  it('hides a small count and the next smallest, since the total would give a lone one away', () => {
    // 3 + 50 + 20 = 73: the 3 is small, and 73 − 50 − 20 would give it back, so the 20 goes too.
    const t = suppressFrequencies([3, 50, 20], publish);
    expect(t.cells.map((c) => c.shown)).toEqual(['[c]', '50', '[c]']);
    expect(t.cells.map((c) => c.suppressed)).toEqual(['primary', null, 'secondary']);
    expect(t.total).toEqual({ value: 73, shown: '73', suppressed: null, small: false });
  });

  it('hides nothing more when two counts are already small, and a small total with its only count', () => {
    expect(suppressFrequencies([5, 7, 60], publish).cells.map((c) => c.shown)).toEqual(['[c]', '[c]', '60']);
    const lone = suppressFrequencies([3, 0, 0], publish);
    expect([...lone.cells.map((c) => c.shown), lone.total.shown]).toEqual(['[c]', '0', '0', '[c]']);
    // Ties go to the first.
    expect(suppressFrequencies([40, 2, 40], publish).cells.map((c) => c.shown)).toEqual(['[c]', '[c]', '40']);
  });

  it('hides a zero with the next smallest when zeros are suppressed, and shows analysts everything', () => {
    const zeros = suppressFrequencies([0, 40, 25], { mode: 'publish', suppressZeros: true });
    expect(zeros.cells.map((c) => c.shown)).toEqual(['[c]', '40', '[c]']);
    const analyst = suppressFrequencies([3, 50, 20], { mode: 'analyst' });
    expect(analyst.cells.map((c) => [c.shown, c.small])).toEqual([
      ['3', true],
      ['50', false],
      ['20', false],
    ]);
    expect(analyst.summary).toMatchObject({ primary: 1, secondary: 1 });
  });
});

/** Counts like a survey's: many small, some zero, some large. */
const count = fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 0, max: 400 }));
const table = fc
  .tuple(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }))
  .chain(([height, width]) =>
    fc.array(fc.array(count, { minLength: width, maxLength: width }), { minLength: height, maxLength: height }),
  );
const options = fc.record({ threshold: fc.integer({ min: 1, max: 15 }), suppressZeros: fc.boolean() });

describe('suppression on any table', () => {
  it('leaves no row or column, totals included, with exactly one hidden cell, and nothing pinned down', () => {
    fc.assert(
      fc.property(table, options, (counts, { threshold, suppressZeros }) => {
        const t = suppressTable(counts, { mode: 'publish', threshold, suppressZeros });
        const grid = withTotals(t);
        const height = counts.length;
        const width = counts[0]!.length;
        for (const line of lines(height, width)) {
          const hidden = line.filter(([i, j]) => grid[i]![j]!.suppressed !== null).length;
          expect(hidden).not.toBe(1);
        }
        const hidden = grid.map((row) => row.map((c) => c.suppressed !== null));
        expect(pinned(height, width, hidden)).toEqual([]);
      }),
      { numRuns: 400 },
    );
  });

  it('hides a zero as secondary when only it can close a cycle of hidden cells, and nothing is pinned down', () => {
    // Found by fast-check: with a threshold of 2, the seven 1s are primary; a shown zero is the only cell
    // that joins the two sides of a hidden cell still on no cycle, so it is hidden too.
    const counts = [
      [0, 4, 0, 0],
      [0, 1, 3, 0],
      [1, 0, 3, 0],
      [0, 1, 0, 3],
      [3, 0, 1, 0],
      [0, 1, 0, 1],
    ];
    const t = suppressTable(counts, { mode: 'publish', threshold: 2 });
    const grid = withTotals(t);
    const hiddenZeros = grid.flat().filter((c, k) => c.suppressed !== null && countsWithTotals(counts).flat()[k] === 0);
    expect(hiddenZeros.length).toBeGreaterThan(0);
    expect(hiddenZeros.every((c) => c.suppressed === 'secondary')).toBe(true);
    expect(
      pinned(
        6,
        4,
        grid.map((row) => row.map((c) => c.suppressed !== null)),
      ),
    ).toEqual([]);
  });

  it('hides exactly the small counts as primary, shows the rest as they are, and a zero only as secondary', () => {
    fc.assert(
      fc.property(table, options, (counts, { threshold, suppressZeros }) => {
        const t = suppressTable(counts, { mode: 'publish', threshold, suppressZeros });
        const values = countsWithTotals(counts);
        withTotals(t).forEach((row, i) => {
          row.forEach((cell, j) => {
            const value = values[i]![j]!;
            const small = value === 0 ? suppressZeros : value < threshold;
            expect(cell.small).toBe(small);
            expect(cell.suppressed === 'primary').toBe(small);
            if (cell.suppressed === null) expect([cell.value, cell.shown]).toEqual([value, String(value)]);
            else expect([cell.value, cell.shown]).toEqual([null, '[c]']);
            // A zero is never small unless asked; it is hidden only as the last cell that can close a
            // cycle of hidden cells (e.g. [[0,4,0,0],[0,1,3,0],[1,0,3,0],[0,1,0,3],[3,0,1,0],[0,1,0,1]] at 2).
            if (value === 0 && !suppressZeros) expect(cell.suppressed).not.toBe('primary');
          });
        });
        const all = withTotals(t).flat();
        expect(t.summary.primary).toBe(all.filter((c) => c.suppressed === 'primary').length);
        expect(t.summary.secondary).toBe(all.filter((c) => c.suppressed === 'secondary').length);
      }),
      { numRuns: 300 },
    );
  });

  it('shows analysts every count, marking the same small ones, with the same summary of what publishing hides', () => {
    fc.assert(
      fc.property(table, options, (counts, { threshold, suppressZeros }) => {
        const published = suppressTable(counts, { mode: 'publish', threshold, suppressZeros });
        const analyst = suppressTable(counts, { mode: 'analyst', threshold, suppressZeros });
        const values = countsWithTotals(counts);
        const publishedCells = withTotals(published);
        withTotals(analyst).forEach((row, i) => {
          row.forEach((cell, j) => {
            expect(cell).toEqual({
              value: values[i]![j]!,
              shown: String(values[i]![j]!),
              suppressed: null,
              small: publishedCells[i]![j]!.suppressed === 'primary',
            });
          });
        });
        expect({ ...analyst.summary, mode: 'publish', note: null }).toEqual({ ...published.summary, note: null });
      }),
      { numRuns: 200 },
    );
  });

  it('leaves no frequency table with exactly one hidden figure among its counts and total', () => {
    fc.assert(
      fc.property(fc.array(count, { minLength: 1, maxLength: 12 }), options, (counts, { threshold, suppressZeros }) => {
        const t = suppressFrequencies(counts, { mode: 'publish', threshold, suppressZeros });
        const figures = [...t.cells, t.total];
        expect(figures.filter((c) => c.suppressed !== null).length).not.toBe(1);
        const total = counts.reduce((a, b) => a + b, 0);
        [...counts, total].forEach((value, k) => {
          const small = value === 0 ? suppressZeros : value < threshold;
          expect(figures[k]!.suppressed === 'primary').toBe(small);
          if (value === 0 && !suppressZeros) expect(figures[k]!.suppressed).toBeNull();
        });
      }),
      { numRuns: 300 },
    );
  });
});
