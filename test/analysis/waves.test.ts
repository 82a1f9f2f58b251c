// Comparing waves of a series: which waves a survey can be compared with, the
// report JSON's comparison against figures worked out by hand and by R's
// prop.test (X-squared is z²), weighted on Kish's effective sizes, and the
// tables' comparison columns (labels that changed, answers one wave alone had).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { reportJson } from '../../src/analysis/report-json.ts';
import type { Table } from '../../src/analysis/tables.ts';
import {
  changeOf,
  comparedTable,
  earlierWave,
  earlierWaves,
  pointsText,
  verdictText,
  type Wave,
  wavesOf,
} from '../../src/analysis/waves.ts';
import { importResponses } from '../../src/exports/import.ts';
import { replaceTargets, targetsOf } from '../../src/weighting/store.ts';
import { cspSurvey, cspWave, laterWaveCsv, makeApp, type TestApp } from '../helpers.ts';

const fixture = readFileSync(join(import.meta.dirname, '../fixtures/csp-2019-published.csv'));
const SCRIPT = join(import.meta.dirname, '../reference/stats.R');
const wave2019 = cspSurvey();
const wave2020 = cspWave(2020);
const wave2021 = cspWave(2021);

/** R's prop.test(correct = FALSE) X-squared for each case: z² (fails, never skips, without Rscript). */
function rStatistics(cases: [number, number, number, number][]): number[] {
  const input = `${cases.map((c) => `prop ${c.join(' ')}`).join('\n')}\n`;
  const output = execFileSync('Rscript', ['--vanilla', SCRIPT], { input, encoding: 'utf8', timeout: 60_000 });
  return output
    .trim()
    .split('\n')
    .map((line) => Number(line.trim().split(/\s+/)[0]));
}

describe('the waves of a series', () => {
  const other = cspSurvey({ slug: 'other-2018', series: { id: 'other', title: 'Another series', wave: '2018' } });
  const alone = cspSurvey({ slug: 'alone', series: undefined });
  const all = [wave2021, other, wave2019, alone, wave2020];

  it('orders the waves by their names, and offers only earlier waves of the same series, latest first', () => {
    expect(wavesOf(all, wave2020).map((s) => s.slug)).toEqual(['csp-2019', 'csp-2020', 'csp-2021']);
    expect(earlierWaves(all, wave2021).map((s) => s.slug)).toEqual(['csp-2020', 'csp-2019']);
    expect(earlierWaves(all, wave2019)).toEqual([]);
    expect(earlierWaves(all, alone)).toEqual([]);
  });

  it('says why a slug cannot be compared with', () => {
    expect(earlierWave(all, wave2020, 'csp-2019')).toEqual({ ok: true, survey: wave2019 });
    expect(earlierWave(all, wave2020, 'nope')).toEqual({
      ok: false,
      message: 'there is no survey “nope” to compare with',
    });
    expect(earlierWave(all, wave2020, 'other-2018')).toEqual({
      ok: false,
      message: '“other-2018” is not a wave of Community Safety Priorities: choose from csp-2019',
    });
    expect(earlierWave(all, wave2020, 'csp-2021')).toEqual({
      ok: false,
      message: '“csp-2021” is not an earlier wave than 2020: choose from csp-2019',
    });
    expect(earlierWave(all, wave2019, 'csp-2020')).toEqual({
      ok: false,
      message: '“csp-2020” is not an earlier wave than 2019: it has no earlier wave',
    });
    expect(earlierWave(all, alone, 'csp-2019')).toMatchObject({ ok: false, message: /is not one of a series/ });
  });
});

describe('a change between waves, code by code', () => {
  const counts = (n: number, entries: [string, number][]) => ({
    weighted: false as const,
    n,
    counts: new Map(entries),
  });

  it('is worked out on the shares among those who answered, and tested', () => {
    // 40 of 100, then 60 of 100: p̂ = 0.5, SE = √(0.25 × 0.02) = 0.0707107, z = 0.2 / 0.0707107 = 2.828427.
    const change = changeOf(counts(100, [['a', 40]]), counts(100, [['a', 60]]), 'a');
    expect(change.previous).toBe(0.4);
    expect(change.current).toBe(0.6);
    expect(change.change).toBeCloseTo(0.2, 12);
    expect(change.z).toBeCloseTo(2.828427, 6);
    expect(change.significant).toBe(true);
    expect(pointsText(change.change)).toBe('+20.0');
    expect(verdictText(change)).toBe('Yes, up ▲ (z = +2.83)');
  });

  it('is not tested for an answer one wave did not offer, nor across weighted and unweighted', () => {
    const gone = changeOf(counts(100, [['a', 40]]), counts(100, []), 'a');
    expect(gone).toMatchObject({ previous: 0.4, current: null, z: null, significant: false });
    expect(verdictText(gone)).toBe('Not tested: Not offered in this wave.');
    const mixed = changeOf(counts(100, [['a', 40]]), { weighted: true, nEff: 80, shares: new Map([['a', 0.5]]) }, 'a');
    expect(mixed.reason).toBe('One wave is weighted and the other is not.');
    expect(pointsText(-0.0104)).toBe('−1.0');
  });

  it('adds previous %, current %, change and significance to a table, showing both labels where they differ', () => {
    const table = (rows: [string, string, number][], base: number): Table => ({
      id: 'q',
      title: 'Q',
      baseText: `Of ${base}`,
      base,
      columns: [
        { heading: 'Answer', kind: 'label' },
        { heading: 'Count', kind: 'count' },
        { heading: '%', kind: 'percent' },
      ],
      rows: rows.map(([code, label, n]) => ({ code, cells: [label, n, (n * 100) / base] })),
    });
    const before = table(
      [
        ['a', 'Apples', 40],
        ['b', 'Pears', 50],
        ['gone', 'Plums', 10],
      ],
      100,
    );
    const now = table(
      [
        ['a', 'Apples', 60],
        ['b', 'Pears and quinces', 40],
      ],
      100,
    );
    const wave = (survey: typeof wave2019): Wave => ({
      survey,
      filters: { status: 'all' },
      report: {} as Wave['report'],
    });
    const out = comparedTable(now, now, { wave: wave(wave2019), table: before }, wave(wave2020));
    expect(out.columns.map((c) => c.heading)).toEqual([
      'Answer',
      'Count (2020)',
      '2019 %',
      '2020 %',
      'Change (points)',
      'Significant change?',
    ]);
    expect(out.rows.map((r) => r.cells)).toEqual([
      ['Apples', 60, 40, 60, 20, 'Yes, up ▲ (z = +2.83)'],
      // 50 of 100, then 40 of 100: p̂ = 0.45, SE = √(0.2475 × 0.02) = 0.0703562, z = −1.421338.
      ['Pears and quinces (2019: Pears)', 40, 50, 40, -10, 'No (z = −1.42)'],
      ['Plums (2019 only)', null, 10, null, null, 'Not tested: Not offered in this wave.'],
    ]);
    expect(out.compared).toEqual(['2019', '2020']);
  });
});

describe('the report JSON compared with an earlier wave', () => {
  let t: TestApp;
  beforeEach(async () => {
    t = await makeApp({ surveys: [wave2019, wave2020] });
    await importResponses(t.db, wave2019, fixture);
    // 2020: the 2019 responses less 80 of the 163 who put ASB first.
    await importResponses(t.db, wave2020, Buffer.from(laterWaveCsv(fixture, 2020, 80)));
  });
  afterEach(async () => {
    await t.close();
  });

  it('gives each code’s shares, change, z and significance, as worked by hand and by R', async () => {
    const json = (await reportJson(t.db, wave2020, { status: 'all' }, { compare: wave2019 })) as {
      comparison: {
        with: string;
        weighted: boolean;
        questions: Record<
          string,
          Record<string, { previous: number; current: number; change: number; z: number; significant: boolean }>
        >;
      };
    };
    const { comparison } = json;
    expect(comparison.with).toBe('csp-2019');
    expect(comparison.weighted).toBe(false);
    // ASB: 163 of 407, then 83 of 327. p̂ = 246/734 = 0.335150; SE = √(0.335150 × 0.664850 × (1/407 + 1/327))
    // = √(0.222826 × 0.00551520) = 0.0350558; z = (0.253823 − 0.400491) / 0.0350558 = −4.18388.
    const asb = comparison.questions.concern_1?.asb;
    expect(asb?.previous).toBeCloseTo(163 / 407, 12);
    expect(asb?.current).toBeCloseTo(83 / 327, 12);
    expect(asb?.change).toBeCloseTo(83 / 327 - 163 / 407, 12);
    expect(asb?.z).toBeCloseTo(-4.18388, 4);
    expect(asb?.significant).toBe(true);
    // Property: 94 of 407, then 94 of 327: z = 1.74309, not significant.
    const property = comparison.questions.concern_1?.property;
    expect(property?.z).toBeCloseTo(1.74309, 4);
    expect(property?.significant).toBe(false);
    const [asbR, propertyR] = rStatistics([
      [163, 407, 83, 327],
      [94, 407, 94, 327],
    ]);
    expect(Math.abs((asb?.z ?? 0) ** 2 - (asbR as number))).toBeLessThan(1e-9);
    expect(Math.abs((property?.z ?? 0) ** 2 - (propertyR as number))).toBeLessThan(1e-9);
    // Follow-ups (per category) and free text are not in the JSON's comparison; yes/no questions are.
    expect(Object.keys(comparison.questions)).not.toContain('concern_1_top3');
    expect(Object.keys(comparison.questions)).not.toContain('postcode');
    expect(Object.keys(comparison.questions)).toContain('area');
  });

  it('weighted, tests the weighted shares on each wave’s effective sample size (Kish)', async () => {
    const { targets } = await targetsOf(t.db, wave2019);
    await replaceTargets(t.db, wave2020, targets, new Date());
    const weight = { variables: ['age', 'sex'], cap: null, merges: [] };
    type Weighted = {
      questions: Record<string, { weighted: { proportions: Record<string, number>; effective_base: number } }>;
      comparison: { weighted: boolean; questions: Record<string, Record<string, { z: number; current: number }>> };
    };
    const previous = (await reportJson(t.db, wave2019, { status: 'all' }, { weight })) as unknown as Weighted;
    const json = (await reportJson(
      t.db,
      wave2020,
      { status: 'all' },
      { weight, compare: wave2019 },
    )) as unknown as Weighted;
    expect(json.comparison.weighted).toBe(true);
    const p1 = previous.questions.concern_1?.weighted.proportions.asb as number;
    const n1 = previous.questions.concern_1?.weighted.effective_base as number;
    const p2 = json.questions.concern_1?.weighted.proportions.asb as number;
    const n2 = json.questions.concern_1?.weighted.effective_base as number;
    expect(n1).toBeLessThan(407);
    const pooled = (p1 * n1 + p2 * n2) / (n1 + n2);
    const z = (p2 - p1) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
    const asb = json.comparison.questions.concern_1?.asb;
    expect(asb?.current).toBeCloseTo(p2, 12);
    expect(asb?.z).toBeCloseTo(z, 10);
    const [statistic] = rStatistics([[p1 * n1, n1, p2 * n2, n2]]);
    expect(Math.abs((asb?.z ?? 0) ** 2 - (statistic as number))).toBeLessThan(1e-9);
  });
});
