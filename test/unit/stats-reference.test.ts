import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { chiSquareTest } from '../../src/stats/chi-square.ts';
import { twoProportionZTest, weightedTwoProportionZTest, wilsonInterval } from '../../src/stats/proportions.ts';

// Every figure here is checked against R's chisq.test and prop.test (test/reference/stats.R), run once
// for all cases. Without R the tests fail rather than skip: a skipped reference would look like a pass.

const SCRIPT = fileURLToPath(new URL('../reference/stats.R', import.meta.url));
const INSTALL = 'apt-get install -y r-cran-survey';

/** Agreement to 1e-9, and relative 1e-6 for p-values, however small they are. */
const ABSOLUTE = 1e-9;
const RELATIVE_P = 1e-6;

interface Case {
  name: string;
  line: string;
  check: (reference: number[]) => void;
}

/** A small seeded generator (mulberry32), so the generated cases are the same on every run. */
function seeded(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function expectClose(actual: number, reference: number, what: string): void {
  expect(Math.abs(actual - reference), `${what}: ${actual} against R's ${reference}`).toBeLessThanOrEqual(ABSOLUTE);
}

function expectCloseP(actual: number, reference: number, what: string): void {
  expect(Number.isFinite(actual), `${what} is ${actual}`).toBe(true);
  if (reference < 1e-300) {
    expect(actual, `${what}: R gives ${reference}`).toBeLessThan(1e-290);
    return;
  }
  expect(Math.abs(actual - reference) / reference, `${what}: ${actual} against R's ${reference}`).toBeLessThanOrEqual(
    RELATIVE_P,
  );
}

/** A chi-square case: R is given the table without its empty rows and columns, which the code drops. */
function chiSquareCase(name: string, counts: number[][]): Case {
  const rows = counts.flatMap((row, i) => (row.some((v) => v > 0) ? [i] : []));
  const columns = counts[0]!.flatMap((_, j) => (counts.some((row) => row[j]! > 0) ? [j] : []));
  const kept = rows.map((i) => columns.map((j) => counts[i]![j]!));
  return {
    name,
    line: `chisq ${kept.length} ${columns.length} ${kept.flat().join(' ')}`,
    check: (reference) => {
      const result = chiSquareTest(counts);
      if (!result.testable) throw new Error(`${name}: not testable: ${result.reason}`);
      expect(result.rows).toEqual(rows);
      expect(result.columns).toEqual(columns);
      const cells = rows.length * columns.length;
      expect(reference).toHaveLength(3 + 2 * cells);
      expectClose(result.statistic, reference[0]!, `${name} statistic`);
      expect(result.df).toBe(reference[1]);
      expectCloseP(result.p, reference[2]!, `${name} p`);
      result.expected.flat().forEach((e, k) => {
        expectClose(e, reference[3 + k]!, `${name} expected[${k}]`);
      });
      result.adjustedResiduals.flat().forEach((r, k) => {
        expectClose(r, reference[3 + cells + k]!, `${name} stdres[${k}]`);
      });
    },
  };
}

/** A change between waves: R's X-squared is z², and the sign is that of current minus previous. */
function proportionCase(name: string, x1: number, n1: number, x2: number, n2: number): Case {
  return {
    name,
    line: `prop ${x1} ${n1} ${x2} ${n2}`,
    check: ([statistic, p]) => {
      const result = twoProportionZTest({ x: x1, n: n1 }, { x: x2, n: n2 });
      if (!result.testable) throw new Error(`${name}: not testable: ${result.reason}`);
      expectClose(result.z ** 2, statistic!, `${name} z²`);
      expect(Math.sign(result.z)).toBe(Math.sign(x2 / n2 - x1 / n1));
      expectCloseP(result.p, p!, `${name} p`);
    },
  };
}

/** The weighted test: R is given the weighted counts p·nEff on the effective sizes. */
function weightedCase(name: string, p1: number, n1: number, p2: number, n2: number): Case {
  return {
    name,
    line: `prop ${p1 * n1} ${n1} ${p2 * n2} ${n2}`,
    check: ([statistic, p]) => {
      const result = weightedTwoProportionZTest({ p: p1, nEff: n1 }, { p: p2, nEff: n2 });
      if (!result.testable) throw new Error(`${name}: not testable: ${result.reason}`);
      expectClose(result.z ** 2, statistic!, `${name} z²`);
      expect(Math.sign(result.z)).toBe(Math.sign(p2 - p1));
      expectCloseP(result.p, p!, `${name} p`);
    },
  };
}

function wilsonCase(name: string, x: number, n: number): Case {
  return {
    name,
    line: `wilson ${x} ${n}`,
    check: ([low, high]) => {
      const [ourLow, ourHigh] = wilsonInterval(x / n, n);
      expectClose(ourLow, low!, `${name} low`);
      expectClose(ourHigh, high!, `${name} high`);
    },
  };
}

function generatedTables(count: number): number[][][] {
  const random = seeded(20260101);
  const int = (max: number) => Math.floor(random() * (max + 1));
  const tables: number[][][] = [];
  while (tables.length < count) {
    const scale = [4, 20, 150, 3000][int(3)]!;
    const width = 2 + int(5);
    const table = Array.from({ length: 2 + int(5) }, () =>
      Array.from({ length: width }, () => (random() < 0.1 ? 0 : int(scale))),
    );
    // Now and then an empty row, which the code drops and R never sees.
    if (random() < 0.2) table[int(table.length - 1)]!.fill(0);
    const rows = table.filter((row) => row.some((v) => v > 0)).length;
    const columns = table[0]!.filter((_, j) => table.some((row) => row[j]! > 0)).length;
    if (rows >= 2 && columns >= 2) tables.push(table);
  }
  return tables;
}

function generatedCounts(count: number): [number, number, number, number][] {
  const random = seeded(7);
  const cases: [number, number, number, number][] = [];
  while (cases.length < count) {
    const n1 = 1 + Math.floor(random() * 5000);
    const n2 = 1 + Math.floor(random() * 5000);
    const x1 = Math.floor(random() * (n1 + 1));
    const x2 = Math.floor(random() * (n2 + 1));
    const pooled = (x1 + x2) / (n1 + n2);
    if (pooled > 0 && pooled < 1) cases.push([x1, n1, x2, n2]);
  }
  return cases;
}

const cases: Case[] = [
  chiSquareCase('textbook 2×2', [
    [20, 30],
    [30, 20],
  ]),
  chiSquareCase('2×2, not significant', [
    [10, 20],
    [20, 30],
  ]),
  chiSquareCase('2×2 with p near 1e-12', [
    [185, 100],
    [100, 185],
  ]),
  chiSquareCase('2×2 with p near 1e-45', [
    [300, 100],
    [100, 300],
  ]),
  chiSquareCase('3×4 with a quarter of the expected counts below 5', [
    [1, 5, 6, 8],
    [10, 7, 7, 16],
    [9, 8, 7, 16],
  ]),
  chiSquareCase('expected count below 1', [
    [1, 1],
    [9, 89],
  ]),
  chiSquareCase('an empty row and an empty column dropped', [
    [12, 0, 7],
    [0, 0, 0],
    [3, 0, 25],
    [9, 0, 4],
  ]),
  chiSquareCase('5×4 with large counts and p near 1e-13', [
    [420, 380, 410, 395],
    [400, 405, 390, 420],
    [380, 415, 400, 405],
    [395, 400, 420, 380],
    [550, 400, 270, 390],
  ]),
  ...generatedTables(30).map((table, i) => chiSquareCase(`generated table ${i + 1}`, table)),
  proportionCase('40 of 100, then 60 of 100', 40, 100, 60, 100),
  proportionCase('a fall', 163, 407, 120, 390),
  proportionCase('p near 1e-12', 3000, 10000, 3480, 10000),
  proportionCase('none, then one', 0, 70, 1, 50),
  proportionCase('all, then some', 5, 5, 3, 10),
  ...generatedCounts(30).map(([x1, n1, x2, n2], i) => proportionCase(`generated counts ${i + 1}`, x1, n1, x2, n2)),
  weightedCase('weighted shares', 0.41, 312.6, 0.47, 287.3),
  weightedCase('weighted, a fall', 0.62, 1043.25, 0.55, 987.5),
  weightedCase('weighted, p near 1e-12', 0.3, 9800.5, 0.348, 10120.25),
  wilsonCase('none of 4', 0, 4),
  wilsonCase('all of 4', 4, 4),
  wilsonCase('2 of 4', 2, 4),
  wilsonCase('61 of 154', 61, 154),
  wilsonCase('1 of 1000', 1, 1000),
  wilsonCase('999 of 1000', 999, 1000),
  wilsonCase('weighted: 45.6765 of an effective 123.45', 45.6765, 123.45),
  ...generatedCounts(15).map(([x, n], i) => wilsonCase(`generated interval ${i + 1}`, x, n)),
];

let reference: number[][] | undefined;
let failure: Error | undefined;

beforeAll(() => {
  const input = `${cases.map((c) => c.line).join('\n')}\n`;
  let output: string;
  try {
    output = execFileSync('Rscript', ['--vanilla', SCRIPT], { input, encoding: 'utf8', timeout: 60_000 });
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    failure = new Error(
      missing
        ? `Rscript is not installed, and these statistics are checked against R: install it with \`${INSTALL}\``
        : `Rscript failed on ${SCRIPT}: ${(error as Error).message}`,
    );
    return;
  }
  reference = output
    .trim()
    .split('\n')
    .map((line) => line.trim().split(/\s+/).map(Number));
});

function referenceFor(index: number): number[] {
  if (failure) throw failure;
  expect(reference, 'one line from R for each case').toHaveLength(cases.length);
  return reference![index]!;
}

describe('the statistics agree with R', () => {
  it('has R to compare with', () => {
    if (failure) throw failure;
    expect(reference).toHaveLength(cases.length);
  });

  it.each(cases.map((c, i) => [c.name, i] as const))('%s', (_, index) => {
    cases[index]!.check(referenceFor(index));
  });
});
