import { describe, expect, it } from 'vitest';
import { type RakeResult, type Respondent, rake } from '../../src/weighting/rake.ts';
import type { PopulationTarget } from '../../src/weighting/targets.ts';

// The figures expected here are worked by hand. A sample whose cells are the
// product of its margins (4 2 / 2 1) rakes in closed form: each weight is
// (target share / sample share) of its age times that of its sex.

const target = (district: string, variable: string, category: string, count: number): PopulationTarget => ({
  district,
  variable,
  category,
  count,
  basis: 'test',
  source: 'test',
});

/** Respondents of one district: `count` of each age × sex. */
function people(district: string | undefined, cells: [age: string, sex: string, count: number][]): Respondent[] {
  return cells.flatMap(([age, sex, count]) =>
    Array.from({ length: count }, () => ({ district, values: { age, sex } })),
  );
}

// Age a:b is 1:2 in the population, 2:1 in the sample; sex f:m 1:1 (counted on another basis), 2:1 in the sample.
const TARGETS = [
  target('north', 'age', 'a', 100),
  target('north', 'age', 'b', 200),
  target('north', 'sex', 'f', 5000),
  target('north', 'sex', 'm', 5000),
];
const SAMPLE = people('north', [
  ['a', 'f', 4],
  ['a', 'm', 2],
  ['b', 'f', 2],
  ['b', 'm', 1],
]);
const VARIABLES = ['age', 'sex'];

function raked(result: RakeResult) {
  if (!result.ok) throw new Error(result.message);
  return result;
}

/** Each distinct weight, rounded, with how many respondents have it. */
function weightsOf(weights: (number | null)[]): [number | null, number][] {
  const counts = new Map<number | null, number>();
  for (const w of weights) {
    const key = w === null ? null : Number(w.toFixed(9));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return [...counts];
}

describe('rake', () => {
  it('rakes a sample to its margins: (1/3 ÷ 2/3)(1/2 ÷ 2/3) = 0.375 ... (2/3 ÷ 1/3)(1/2 ÷ 1/3) = 3', () => {
    const result = raked(rake(SAMPLE, TARGETS, VARIABLES));
    expect(weightsOf(result.weights)).toEqual([
      [0.375, 4],
      [0.75, 2],
      [1.5, 2],
      [3, 1],
    ]);
    // Σw = 9, Σw² = 4(0.140625) + 2(0.5625) + 2(2.25) + 9 = 15.1875; deff = 9 × 15.1875 / 81.
    expect(result.overall.designEffect).toBeCloseTo(1.6875, 12);
    expect(result.overall.effectiveSampleSize).toBeCloseTo(16 / 3, 12);
    expect(result.overall.efficiency).toBeCloseTo(16 / 27, 12);
    expect(result.overall.weightTotal).toBeCloseTo(9, 12);
    expect(result.overall.largestWeight).toBeCloseTo(3, 12);
    expect(result.overall.respondents).toBe(9);
    expect(result.overall.capped).toBe(0);
    expect(result.cap).toBeNull();
    expect(result.districts).toHaveLength(1);
    expect(result.districts[0]).toMatchObject({ district: 'north', respondents: 9, converged: true });
    expect(result.districts[0]!.iterations).toBeGreaterThanOrEqual(1);
    expect(result.excluded).toEqual({ total: 0, noDistrict: 0, missing: { age: 0, sex: 0 } });
  });

  it('gives each district its share of the adults (the age figures) times the respondents weighted', () => {
    // south: 300 adults to north's 300, so half of the 12 weighted; its 3 respondents are its margins' image.
    const targets = [
      ...TARGETS,
      target('south', 'age', 'a', 150),
      target('south', 'age', 'b', 150),
      target('south', 'sex', 'f', 10),
      target('south', 'sex', 'm', 30),
    ];
    const sample = [
      ...SAMPLE,
      ...people('south', [
        ['a', 'm', 1],
        ['b', 'f', 1],
        ['b', 'm', 1],
      ]),
    ];
    const result = raked(rake(sample, targets, VARIABLES));
    expect(result.districtShares.variable).toBe('age');
    expect(result.districtShares.districts).toEqual([
      { district: 'north', population: 300, share: 0.5, weightTotal: expect.closeTo(6, 9) },
      { district: 'south', population: 300, share: 0.5, weightTotal: expect.closeTo(6, 9) },
    ]);
    // north scaled from 9 to 6: every weight × 2/3.
    expect(weightsOf(result.weights.slice(0, 9))).toEqual([
      [0.25, 4],
      [0.5, 2],
      [1, 2],
      [2, 1],
    ]);
    // south: age a 3, b 3; sex f 1.5, m 4.5. (a,m) = 3; (b,f) = 1.5, so (b,m) = 1.5.
    expect(weightsOf(result.weights.slice(9))).toEqual([
      [3, 1],
      [1.5, 2],
    ]);
    expect(result.overall.weightTotal).toBeCloseTo(12, 9);
  });

  it('takes the first variable as the population when the figures have no age', () => {
    const targets = [
      target('north', 'sex', 'f', 60),
      target('north', 'sex', 'm', 60),
      target('south', 'sex', 'f', 20),
      target('south', 'sex', 'm', 20),
    ];
    const sample = [
      ...people('north', [
        ['a', 'f', 1],
        ['a', 'm', 1],
      ]),
      ...people('south', [
        ['a', 'f', 1],
        ['a', 'm', 1],
      ]),
    ];
    const result = raked(rake(sample, targets, ['sex']));
    expect(result.districtShares.variable).toBe('sex');
    expect(result.districtShares.districts.map((d) => d.share)).toEqual([0.75, 0.25]);
    expect(result.weights).toEqual([1.5, 1.5, 0.5, 0.5]);
  });

  it('leaves out respondents without a covered district or a usable answer, counting why', () => {
    const sample: Respondent[] = [
      ...SAMPLE,
      { district: undefined, values: { age: 'a', sex: 'f' } },
      { district: 'elsewhere', values: { age: 'a', sex: 'f' } },
      { district: 'north', values: { age: undefined, sex: 'f' } },
      { district: 'north', values: { sex: undefined } },
      { district: 'north', values: { age: 'b' } },
    ];
    const result = raked(rake(sample, TARGETS, VARIABLES));
    expect(result.excluded).toEqual({ total: 5, noDistrict: 2, missing: { age: 2, sex: 2 } });
    expect(result.weights.slice(9)).toEqual([null, null, null, null, null]);
    expect(weightsOf(result.weights.slice(0, 9))).toEqual([
      [0.375, 4],
      [0.75, 2],
      [1.5, 2],
      [3, 1],
    ]);
    expect(result.overall.respondents).toBe(9);
  });

  it('refuses an answer that is not a category of the figures: answers must be mapped first', () => {
    expect(() => rake([{ district: 'north', values: { age: 'under_18', sex: 'f' } }], TARGETS, VARIABLES)).toThrow(
      /"under_18" is not one of the age categories of north's figures/,
    );
  });

  it('refuses a category with no respondents, naming the district, variable and category, and suggesting a merge', () => {
    const targets = [...TARGETS.slice(0, 2), target('north', 'age', 'c', 50), ...TARGETS.slice(2)];
    const result = rake(SAMPLE, targets, VARIABLES);
    expect(result).toEqual({
      ok: false,
      converged: false,
      reason: 'empty-category',
      message:
        'Raking is impossible: no respondent in north is in age "c" (population 50): merge it with a neighbouring category (b) or weight without age.',
      excluded: { total: 0, noDistrict: 0, missing: { age: 0, sex: 0 } },
      cells: [{ district: 'north', variable: 'age', category: 'c', population: 50, respondents: 0 }],
    });
  });

  it('refuses respondents in a category whose population is 0, and a district nobody can be weighted in', () => {
    const zero = rake(SAMPLE, [...TARGETS.slice(0, 3), target('north', 'sex', 'm', 0)], VARIABLES);
    expect(zero.ok).toBe(false);
    expect(!zero.ok && zero.cells).toEqual([
      { district: 'north', variable: 'sex', category: 'm', population: 0, respondents: 3 },
    ]);
    expect(!zero.ok && zero.message).toBe(
      'Raking is impossible: 3 respondents in north are in sex "m", whose population is 0: merge it with a neighbouring category.',
    );
    const south = TARGETS.map((t) => ({ ...t, district: 'south' }));
    const empty = rake(SAMPLE, [...TARGETS, ...south], VARIABLES);
    expect(!empty.ok && empty.reason).toBe('empty-category');
    expect(!empty.ok && empty.message).toMatch(/no respondent in south can be weighted/);
  });

  it('refuses when a district lacks figures for a chosen variable, or nobody can be weighted', () => {
    const noSex = rake(SAMPLE, [...TARGETS, target('south', 'age', 'a', 5)], VARIABLES);
    expect(!noSex.ok && [noSex.reason, noSex.message]).toEqual([
      'no-targets',
      'There are no population figures for sex in south.',
    ]);
    const nobody = rake(people('north', [['a', 'f', 0]]), TARGETS, VARIABLES);
    expect(!nobody.ok && nobody.reason).toBe('no-respondents');
  });

  it('reports non-convergence without weights when the sweeps run out', () => {
    // Cells not of product form take more than one sweep.
    const sample = people('north', [
      ['a', 'f', 5],
      ['a', 'm', 1],
      ['b', 'f', 2],
      ['b', 'm', 1],
    ]);
    const result = rake(sample, TARGETS, VARIABLES, { maxIterations: 1 });
    expect(result.ok).toBe(false);
    expect(result.converged).toBe(false);
    if (result.ok) return;
    expect(result).toMatchObject({ reason: 'not-converged', district: 'north', iterations: 1 });
    expect(result.worstMisfit).toBeGreaterThan(1e-7);
    expect(result.message).toMatch(/^Raking did not converge in north within 1 iterations: .* above 1e-7/);
    expect(result).not.toHaveProperty('weights');
    // @ts-expect-error: a refusal has no weights to show.
    expect(result.weights).toBeUndefined();
    expect(raked(rake(sample, TARGETS, VARIABLES)).overall.iterations).toBeGreaterThan(1);
  });

  it('reports non-convergence for margins no positive weights can meet', () => {
    // Only (a,f) and (b,m): age a and sex f are the same people, yet their targets differ (1/3 and 1/2).
    const sample = people('north', [
      ['a', 'f', 3],
      ['b', 'm', 3],
    ]);
    const result = rake(sample, TARGETS, VARIABLES, { maxIterations: 1000 });
    expect(!result.ok && result.reason).toBe('not-converged');
    expect(!result.ok && result.iterations).toBe(1000);
    // The cell named is the one furthest from its target, with the respondents in it.
    expect(!result.ok && result.cells?.[0]).toMatchObject({ district: 'north', respondents: 3 });
  });

  it('stops at the first sweep that brings every margin within epsilon × (1 + target)', () => {
    const sample = people('north', [
      ['a', 'f', 5],
      ['a', 'm', 1],
      ['b', 'f', 2],
      ['b', 'm', 1],
    ]);
    const loose = raked(rake(sample, TARGETS, VARIABLES, { epsilon: 1e-3 }));
    const tight = raked(rake(sample, TARGETS, VARIABLES, { epsilon: 1e-12 }));
    expect(loose.overall.iterations).toBeGreaterThan(1);
    expect(loose.overall.iterations).toBeLessThan(tight.overall.iterations);
    // Margins by hand: respondents 0-4 are (a,f), 5 (a,m), 6-7 (b,f), 8 (b,m); targets a 3, b 6, f 4.5, m 4.5.
    const worst = (r: typeof loose) => {
      const w = r.weights as number[];
      const sum = (ids: number[]) => ids.reduce((total, i) => total + w[i]!, 0);
      return Math.max(
        Math.abs(sum([0, 1, 2, 3, 4, 5]) - 3) / 4,
        Math.abs(sum([6, 7, 8]) - 6) / 7,
        Math.abs(sum([0, 1, 2, 3, 4, 6, 7]) - 4.5) / 5.5,
        Math.abs(sum([5, 8]) - 4.5) / 5.5,
      );
    };
    expect(worst(loose)).toBeLessThan(1e-3);
    expect(worst(loose)).toBeGreaterThan(1e-12);
    expect(worst(tight)).toBeLessThan(1e-12);
    const once = rake(sample, TARGETS, VARIABLES, { epsilon: 1e-3, maxIterations: loose.overall.iterations - 1 });
    expect(once.ok).toBe(false);
  });

  describe('with a cap', () => {
    it('holds weights above cap × mean at the cap and rakes the rest again until both hold', () => {
      // Mean weight 1, cap 2.2: (b,m) = 3 is held at 2.2; then b: 2z + 2.2 = 6 gives z = 1.9,
      // f: 4x + 2(1.9) = 4.5 gives x = 0.175, m: 2y + 2.2 = 4.5 gives y = 1.15 (and a: 0.7 + 2.3 = 3).
      const result = raked(rake(SAMPLE, TARGETS, VARIABLES, { cap: 2.2, epsilon: 1e-12 }));
      expect(weightsOf(result.weights)).toEqual([
        [0.175, 4],
        [1.15, 2],
        [1.9, 2],
        [2.2, 1],
      ]);
      expect(result.overall.largestWeight).toBeCloseTo(2.2, 12);
      expect(result.overall.capped).toBe(1);
      expect(result.districts[0]!.capped).toBe(1);
      expect(result.cap).toEqual({ factor: 2.2, limits: { north: 2.2 } });
      // Σw² = 4(0.030625) + 2(1.3225) + 2(3.61) + 4.84 = 14.8275; deff = 9 × 14.8275 / 81.
      expect(result.overall.designEffect).toBeCloseTo(1.6475, 9);
    });

    it("is a multiple of each district's own mean weight", () => {
      // north's weights add to 6 over 9 respondents (mean 2/3): cap 2.2 holds them at 2.2 × 2/3.
      const targets = [...TARGETS, ...TARGETS.map((t) => ({ ...t, district: 'south' }))];
      const sample = [
        ...SAMPLE,
        ...people('south', [
          ['a', 'f', 1],
          ['a', 'm', 1],
          ['b', 'f', 2],
          ['b', 'm', 2],
        ]),
      ];
      const result = raked(rake(sample, targets, VARIABLES, { cap: 2.2, epsilon: 1e-12 }));
      expect(result.cap!.limits.north).toBeCloseTo((2.2 * 7.5) / 9, 12);
      expect(result.cap!.limits.south).toBeCloseTo((2.2 * 7.5) / 6, 12);
      expect(weightsOf(result.weights.slice(0, 9))).toEqual([
        [Number((0.175 * (7.5 / 9)).toFixed(9)), 4],
        [Number((1.15 * (7.5 / 9)).toFixed(9)), 2],
        [Number((1.9 * (7.5 / 9)).toFixed(9)), 2],
        [Number((2.2 * (7.5 / 9)).toFixed(9)), 1],
      ]);
    });

    it('leaves weights alone when none is above the cap', () => {
      const result = raked(rake(SAMPLE, TARGETS, VARIABLES, { cap: 3 }));
      expect(weightsOf(result.weights)).toEqual([
        [0.375, 4],
        [0.75, 2],
        [1.5, 2],
        [3, 1],
      ]);
      expect(result.overall.capped).toBe(0);
    });

    it('refuses a cap the margins cannot meet, without weights', () => {
      // Cap 1.2: (b,f) = 1.5 and (b,m) = 3 are both held at 1.2, so age b is 3 × 1.2 = 3.6 for a target of 6.
      const result = rake(SAMPLE, TARGETS, VARIABLES, { cap: 1.2 });
      expect(result.ok).toBe(false);
      if (result.ok) return;
      expect(result.reason).toBe('cap-not-met');
      expect(result.message).toBe(
        'The cap cannot hold in north: with the weights held at 1.2, age "b" cannot reach its share. Raise the cap, merge categories or weight on fewer variables.',
      );
      expect(result.cells).toEqual([
        { district: 'north', variable: 'age', category: 'b', population: 200, respondents: 3 },
      ]);
      expect(result).not.toHaveProperty('weights');
    });
  });

  it('refuses options that make no sense', () => {
    expect(() => rake(SAMPLE, TARGETS, [])).toThrow(RangeError);
    expect(() => rake(SAMPLE, TARGETS, ['age', 'age'])).toThrow(RangeError);
    expect(() => rake(SAMPLE, TARGETS, VARIABLES, { cap: 0.5 })).toThrow(/cap must be ≥ 1/);
    expect(() => rake(SAMPLE, TARGETS, VARIABLES, { maxIterations: 0 })).toThrow(/maxIterations/);
    expect(() => rake(SAMPLE, TARGETS, VARIABLES, { epsilon: 0 })).toThrow(/epsilon/);
  });

  it('rakes a million respondents on three variables in well under a second of CPU', () => {
    const ages = ['18_24', '25_34', '35_44', '45_54', '55_64', '65_plus'];
    const groups = ['white', 'mixed', 'asian', 'black', 'other'];
    const targets = ['dartford', 'gravesham'].flatMap((district) => [
      ...ages.map((a, k) => target(district, 'age', a, 1000 + 100 * k)),
      target(district, 'sex', 'female', 51),
      target(district, 'sex', 'male', 49),
      ...groups.map((g, k) => target(district, 'ethnic_group', g, k === 0 ? 800 : 50)),
    ]);
    const answers = ages.flatMap((age) =>
      ['female', 'male'].flatMap((sex) => groups.map((ethnic_group) => ({ age, sex, ethnic_group }))),
    );
    let seed = 7;
    const next = () => {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      return seed / 2 ** 32;
    };
    const respondents: Respondent[] = Array.from({ length: 1_000_000 }, () => ({
      district: next() < 0.6 ? 'dartford' : 'gravesham',
      values: answers[Math.floor(next() * answers.length)]!,
    }));
    const before = process.cpuUsage();
    const result = rake(respondents, targets);
    const used = process.cpuUsage(before);
    expect(result.ok).toBe(true);
    expect((used.user + used.system) / 1000).toBeLessThan(1000);
  });
});
