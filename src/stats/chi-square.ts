import { createRequire } from 'node:module';
import type gammaincFunction from '@stdlib/math-base-special-gammainc';

/**
 * @stdlib's incomplete gamma (and its 40-odd modules, 12 MB of the server's
 * resident memory) is loaded on the first test, never by a respondent's page.
 */
let gammainc: typeof gammaincFunction | undefined;
const loadGammainc = () =>
  (gammainc ??= createRequire(import.meta.url)('@stdlib/math-base-special-gammainc') as typeof gammaincFunction);

/** |adjusted residual| above this marks a cell: the two-sided 5% point of the standard normal. */
export const RESIDUAL_THRESHOLD = 1.96;

/** Expected counts below this make the chi-square approximation doubtful (Cochran). */
export const LOW_EXPECTED = 5;

export type CellReading = 'more than expected' | 'fewer than expected';

/** What was left out of the test: indices into the table as given. */
export interface Dropped {
  rows: number[];
  columns: number[];
}

export interface ChiSquareResult {
  testable: true;
  statistic: number;
  df: number;
  /** Upper-tail probability of the statistic under independence. */
  p: number;
  /** The rows and columns tested, as indices into the table as given; every matrix below follows them. */
  rows: number[];
  columns: number[];
  expected: number[][];
  lowExpected: { cells: number; share: number; minimum: number };
  /** Haberman's adjusted standardised residuals, as R's `chisq.test(x, correct = FALSE)$stdres`. */
  adjustedResiduals: number[][];
  significant: boolean[][];
  /** The cell in words for the page, null where it is not significant. */
  readings: (CellReading | null)[][];
  dropped: Dropped;
  warnings: string[];
}

export interface ChiSquareNotTestable {
  testable: false;
  /** Why there is no test, in words for the page. */
  reason: string;
  dropped: Dropped;
  warnings: string[];
}

export interface ChiSquareLabels {
  rows?: string[];
  columns?: string[];
}

/**
 * Pearson's chi-square test of independence on a table of counts (rows × columns), without
 * continuity correction. Rows and columns with no responses are left out first; with fewer than two
 * of either left there is no test, and the result says why.
 */
export function chiSquareTest(
  counts: number[][],
  labels: ChiSquareLabels = {},
): ChiSquareResult | ChiSquareNotTestable {
  checkCounts(counts);
  const columnCount = counts[0]?.length ?? 0;
  const rowSums = counts.map((row) => sum(row));
  const columnSums = Array.from({ length: columnCount }, (_, j) => sum(counts.map((row) => row[j]!)));

  const rows = indicesWhere(rowSums, (t) => t > 0);
  const columns = indicesWhere(columnSums, (t) => t > 0);
  const dropped: Dropped = {
    rows: indicesWhere(rowSums, (t) => t === 0),
    columns: indicesWhere(columnSums, (t) => t === 0),
  };
  const rowName = (i: number) => labels.rows?.[i] ?? `row ${i + 1}`;
  const columnName = (j: number) => labels.columns?.[j] ?? `column ${j + 1}`;
  const warnings = [
    ...dropped.rows.map((i) => `${capitalise(rowName(i))} has no responses and is left out of the test.`),
    ...dropped.columns.map((j) => `${capitalise(columnName(j))} has no responses and is left out of the test.`),
  ];

  if (rows.length < 2 || columns.length < 2) {
    const reason =
      rows.length === 0 || columns.length === 0
        ? 'There are no responses to test.'
        : rows.length < 2
          ? 'Only one row has any responses, so there is nothing to compare.'
          : 'Only one column has any responses, so there is nothing to compare.';
    return { testable: false, reason, dropped, warnings };
  }

  const n = sum(rows.map((i) => rowSums[i]!));
  const expected = rows.map((i) => columns.map((j) => (rowSums[i]! * columnSums[j]!) / n));
  let statistic = 0;
  const adjustedResiduals = rows.map((i, r) =>
    columns.map((j, c) => {
      const e = expected[r]![c]!;
      const difference = counts[i]![j]! - e;
      statistic += (difference * difference) / e;
      return difference / Math.sqrt(e * (1 - rowSums[i]! / n) * (1 - columnSums[j]! / n));
    }),
  );
  const df = (rows.length - 1) * (columns.length - 1);
  const significant = adjustedResiduals.map((row) => row.map((z) => Math.abs(z) > RESIDUAL_THRESHOLD));
  const readings = adjustedResiduals.map((row) => row.map(cellReading));

  const flat = expected.flat();
  const low = flat.filter((e) => e < LOW_EXPECTED).length;
  const lowExpected = { cells: low, share: low / flat.length, minimum: Math.min(...flat) };
  // Cochran's rule: at most a fifth of the cells below 5, and none below 1.
  if (lowExpected.share > 0.2) {
    warnings.push(
      `${low} of ${flat.length} cells (${Math.round(lowExpected.share * 100)}%) have an expected count below ${LOW_EXPECTED}: the test may not be reliable.`,
    );
  }
  if (lowExpected.minimum < 1) {
    warnings.push(
      `The smallest expected count is ${lowExpected.minimum.toFixed(2)}, below 1: the test may not be reliable.`,
    );
  }

  return {
    testable: true,
    statistic,
    df,
    p: chiSquareUpperTail(statistic, df),
    rows,
    columns,
    expected,
    lowExpected,
    adjustedResiduals,
    significant,
    readings,
    dropped,
    warnings,
  };
}

/**
 * P(X > statistic) for X ~ chi-square(df): the regularised upper incomplete gamma Q(df/2, statistic/2),
 * computed as the upper tail itself rather than 1 − cdf, which would lose every digit below about 1e-16.
 */
export function chiSquareUpperTail(statistic: number, df: number): number {
  if (!(df > 0) || !(statistic >= 0)) throw new RangeError(`chi-square tail needs df > 0 and statistic ≥ 0`);
  return loadGammainc()(statistic / 2, df / 2, true, true);
}

/** A cell's adjusted residual in words: "more than expected", "fewer than expected", or null when not significant. */
export function cellReading(adjustedResidual: number): CellReading | null {
  if (adjustedResidual > RESIDUAL_THRESHOLD) return 'more than expected';
  if (adjustedResidual < -RESIDUAL_THRESHOLD) return 'fewer than expected';
  return null;
}

function checkCounts(counts: number[][]): void {
  const width = counts[0]?.length ?? 0;
  for (const [i, row] of counts.entries()) {
    if (row.length !== width) throw new RangeError(`row ${i + 1} has ${row.length} cells, not ${width}`);
    for (const [j, value] of row.entries()) {
      if (!Number.isInteger(value) || value < 0) {
        throw new RangeError(`cell (${i + 1}, ${j + 1}) is ${value}: counts must be whole numbers, 0 or more`);
      }
    }
  }
}

function sum(values: number[]): number {
  return values.reduce((a, b) => a + b, 0);
}

function indicesWhere(values: number[], test: (value: number) => boolean): number[] {
  return values.flatMap((v, i) => (test(v) ? [i] : []));
}

function capitalise(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
