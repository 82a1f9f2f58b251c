import { describe, expect, it } from 'vitest';
import { Z_95 } from '../../src/stats/proportions.ts';
import { CONFIDENCE_LEVEL, INTERVAL_METHOD, weightedProportions, wilsonInterval } from '../../src/weighting/rake.ts';

describe('wilsonInterval', () => {
  it('gives the published interval for 30 of 100 (Newcombe 1998: 0.2189 to 0.3958)', () => {
    const { lower, upper } = wilsonInterval(0.3, 100);
    // Worked in R from the formula: (p + z²/2n ∓ z√(p(1-p)/n + z²/4n²)) / (1 + z²/n).
    expect(lower).toBeCloseTo(0.218948852949328, 12);
    expect(upper).toBeCloseTo(0.395848546333467, 12);
  });

  it('reaches up to z²/(n + z²) from a proportion of 0, and is symmetric about a half', () => {
    expect(wilsonInterval(0, 10)).toEqual({ lower: 0, upper: expect.closeTo(0.277532799862889, 12) });
    expect(wilsonInterval(1, 10).lower).toBeCloseTo(1 - 0.277532799862889, 12);
    expect(wilsonInterval(1, 10).upper).toBe(1);
    const half = wilsonInterval(0.5, 57.3);
    expect(half.lower).toBeCloseTo(0.374671397499073, 12);
    expect(half.upper).toBeCloseTo(0.625328602500927, 12);
  });

  it("uses R's qnorm(0.975), and is named for the reader", () => {
    expect(Z_95).toBeCloseTo(1.9599639845400536, 14);
    expect(CONFIDENCE_LEVEL).toBe(0.95);
    expect(INTERVAL_METHOD).toBe('Wilson score interval on the effective sample size');
  });
});

describe('weightedProportions', () => {
  it('shares the weights of those who answered, with intervals on the effective base', () => {
    const result = weightedProportions([
      { weight: 1, codes: 'yes' },
      { weight: 2, codes: 'no' },
      { weight: 3, codes: 'yes' },
      { weight: null, codes: 'no' }, // not weighted
      { weight: 4, codes: undefined }, // did not answer
    ]);
    expect(result.base).toBe(3);
    expect(result.weightedBase).toBe(6);
    // (Σw)² / Σw² = 36 / 14.
    expect(result.effectiveBase).toBeCloseTo(36 / 14, 12);
    expect([...result.proportions.keys()]).toEqual(['yes', 'no']);
    const yes = result.proportions.get('yes')!;
    expect(yes).toMatchObject({ weighted: 4, count: 2 });
    expect(yes.proportion).toBeCloseTo(2 / 3, 12);
    // R: the Wilson formula with p = 2/3, n = 36/14.
    expect(yes.lower).toBeCloseTo(0.188566109308221, 12);
    expect(yes.upper).toBeCloseTo(0.945093318143402, 12);
    expect(result.proportions.get('no')!.proportion).toBeCloseTo(1 / 3, 12);
  });

  it('counts each ticked code once per respondent, so shares of a tick question may add to more than 1', () => {
    const result = weightedProportions([
      { weight: 1, codes: ['a', 'b', 'a'] },
      { weight: 1, codes: ['b'] },
      { weight: 2, codes: [] }, // nothing ticked: not in the base
    ]);
    expect(result.base).toBe(2);
    expect(result.proportions.get('a')).toMatchObject({ proportion: 0.5, count: 1 });
    expect(result.proportions.get('b')).toMatchObject({ proportion: 1, count: 2 });
  });

  it('lists the codes asked for first, those nobody gave with 0', () => {
    const result = weightedProportions(
      [
        { weight: 1, codes: 'b' },
        { weight: 1, codes: 'c' },
      ],
      ['a', 'b'],
    );
    expect([...result.proportions.keys()]).toEqual(['a', 'b', 'c']);
    expect(result.proportions.get('a')).toMatchObject({ proportion: 0, weighted: 0, count: 0, lower: 0 });
    // z²/(n + z²) with n = 2.
    expect(result.proportions.get('a')!.upper).toBeCloseTo(Z_95 ** 2 / (2 + Z_95 ** 2), 12);
  });

  it('has an empty table when nobody answered', () => {
    expect(weightedProportions([{ weight: null, codes: 'a' }], ['a'])).toEqual({
      base: 0,
      weightedBase: 0,
      effectiveBase: 0,
      proportions: new Map(),
    });
  });
});
