import { describe, expect, it } from 'vitest';
import {
  twoProportionZTest,
  twoSidedNormalP,
  weightedTwoProportionZTest,
  wilsonInterval,
} from '../../src/stats/proportions.ts';

// Worked by hand; the same statistics against R are in stats-reference.test.ts.

describe('two-proportion z-test between waves', () => {
  it('works 40 of 100, then 60 of 100, through', () => {
    // p1 = 0.4, p2 = 0.6, pooled p̂ = 100/200 = 0.5.
    // SE = √(0.5 · 0.5 · (1/100 + 1/100)) = √0.005 = 0.0707107; z = 0.2 / 0.0707107 = 2√2 = 2.8284.
    // p = 2·(1 − Φ(2.8284)) = 0.0046777 (normal tables), so the rise is significant.
    const result = twoProportionZTest({ x: 40, n: 100 }, { x: 60, n: 100 });
    if (!result.testable) throw new Error(result.reason);
    expect(result.p1).toBe(0.4);
    expect(result.p2).toBe(0.6);
    expect(result.pooled).toBe(0.5);
    expect(result.difference).toBeCloseTo(0.2, 12);
    expect(result.z).toBeCloseTo(2 * Math.SQRT2, 12);
    expect(result.p).toBeCloseTo(0.0046777, 7);
    expect(result.significant).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it('warns when a wave expects fewer than 5 respondents giving, or not giving, the answer', () => {
    // 1 of 50, then 0 of 70: p̂ = 1/120, and the smaller wave expects 50/120 = 0.4 giving it.
    const few = twoProportionZTest({ x: 1, n: 50 }, { x: 0, n: 70 });
    if (!few.testable) throw new Error(few.reason);
    expect(few.warnings).toEqual([
      'A wave expects only 0.4 respondents giving this answer, fewer than 5: the test may not be reliable.',
    ]);
    // 48 of 50, then 69 of 70: p̂ = 117/120, and the smaller wave expects 50 · 3/120 = 1.25 not giving it.
    const most = twoProportionZTest({ x: 48, n: 50 }, { x: 69, n: 70 });
    if (!most.testable) throw new Error(most.reason);
    expect(most.warnings).toEqual([
      'A wave expects only 1.3 respondents not giving this answer, fewer than 5: the test may not be reliable.',
    ]);
  });

  it('gives z the sign of current minus previous: a fall is negative, with the same p', () => {
    const rise = twoProportionZTest({ x: 40, n: 100 }, { x: 60, n: 100 });
    const fall = twoProportionZTest({ x: 60, n: 100 }, { x: 40, n: 100 });
    if (!rise.testable || !fall.testable) throw new Error('expected both to be testable');
    expect(fall.z).toBeCloseTo(-2 * Math.SQRT2, 12);
    expect(fall.difference).toBeCloseTo(-0.2, 12);
    expect(fall.p).toBe(rise.p);
  });

  it('is not significant at |z| of 1.96 or less', () => {
    // 50 of 100, then 60 of 100: p̂ = 0.55, SE = √(0.55 · 0.45 · 0.02) = 0.070356, z = 0.1 / 0.070356 = 1.4213.
    const result = twoProportionZTest({ x: 50, n: 100 }, { x: 60, n: 100 });
    if (!result.testable) throw new Error(result.reason);
    expect(result.z).toBeCloseTo(1.4213, 4);
    expect(result.significant).toBe(false);
  });

  it('says why there is no test when a wave has no respondents', () => {
    expect(twoProportionZTest({ x: 0, n: 0 }, { x: 3, n: 10 })).toEqual({
      testable: false,
      reason: 'The previous wave has no respondents to this question.',
      p1: null,
      p2: 0.3,
    });
    const current = twoProportionZTest({ x: 3, n: 10 }, { x: 0, n: 0 });
    expect(current).toMatchObject({ testable: false, reason: 'The current wave has no respondents to this question.' });
    const neither = twoProportionZTest({ x: 0, n: 0 }, { x: 0, n: 0 });
    expect(neither).toMatchObject({ testable: false, reason: 'Neither wave has any respondents to this question.' });
  });

  it('says why there is no test when everyone, or no one, gave the answer in both waves', () => {
    expect(twoProportionZTest({ x: 0, n: 40 }, { x: 0, n: 55 })).toEqual({
      testable: false,
      reason: 'No one gave this answer in either wave, so there is no change to test.',
      p1: 0,
      p2: 0,
    });
    const everyone = twoProportionZTest({ x: 40, n: 40 }, { x: 55, n: 55 });
    expect(everyone).toMatchObject({
      testable: false,
      reason: 'Everyone gave this answer in either wave, so there is no change to test.',
    });
    expect(JSON.stringify(everyone)).not.toContain('NaN');
  });

  it('refuses counts that make no sense', () => {
    expect(() => twoProportionZTest({ x: 11, n: 10 }, { x: 1, n: 10 })).toThrow(/previous x is 11/);
    expect(() => twoProportionZTest({ x: 1, n: 10 }, { x: -1, n: 10 })).toThrow(/current x is -1/);
    expect(() => twoProportionZTest({ x: 1.5, n: 10 }, { x: 1, n: 10 })).toThrow(RangeError);
    expect(() => twoProportionZTest({ x: 1, n: 10.5 }, { x: 1, n: 10 })).toThrow(RangeError);
  });
});

describe('weighted two-proportion z-test', () => {
  it('works a weighted change through on effective sample sizes', () => {
    // p1 = 0.3 on n1eff = 200, p2 = 0.4 on n2eff = 300: p̂ = (60 + 120) / 500 = 0.36.
    // SE = √(0.36 · 0.64 · (1/200 + 1/300)) = √(0.2304 · 0.0083333) = √0.00192 = 0.0438178; z = 0.1 / 0.0438178 = 2.2822.
    const result = weightedTwoProportionZTest({ p: 0.3, nEff: 200 }, { p: 0.4, nEff: 300 });
    if (!result.testable) throw new Error(result.reason);
    expect(result.pooled).toBeCloseTo(0.36, 12);
    expect(result.z).toBeCloseTo(2.2822, 4);
    expect(result.significant).toBe(true);
  });

  it('takes effective sizes that are not whole numbers, and a wave whose weights add to nothing', () => {
    const result = weightedTwoProportionZTest({ p: 0.41, nEff: 312.6 }, { p: 0.47, nEff: 287.3 });
    expect(result.testable).toBe(true);
    const empty = weightedTwoProportionZTest({ p: Number.NaN, nEff: 0 }, { p: 0.5, nEff: 20 });
    expect(empty).toMatchObject({ testable: false, p1: null, p2: 0.5 });
    expect(() => weightedTwoProportionZTest({ p: 1.2, nEff: 10 }, { p: 0.5, nEff: 20 })).toThrow(/previous p is 1.2/);
    expect(() => weightedTwoProportionZTest({ p: 0.2, nEff: -1 }, { p: 0.5, nEff: 20 })).toThrow(RangeError);
  });
});

describe('two-sided normal p', () => {
  it('keeps its digits far in the tail', () => {
    // 2·(1 − Φ(1.959963984540054)) = 0.05 exactly; 2·(1 − Φ(2)) = 0.0455002638963585 (tables).
    expect(twoSidedNormalP(1.959963984540054)).toBeCloseTo(0.05, 14);
    expect(twoSidedNormalP(-2)).toBeCloseTo(0.0455002638963585, 14);
    // Mills' ratio: for large z, 2·(1 − Φ(z)) ≈ 2·φ(z)/z · (1 − 1/z² + 3/z⁴), within 15/z⁶ of it.
    const z = 12;
    const approximation = ((2 * Math.exp((-z * z) / 2)) / Math.sqrt(2 * Math.PI) / z) * (1 - 1 / z ** 2 + 3 / z ** 4);
    expect(Math.abs(twoSidedNormalP(z) / approximation - 1)).toBeLessThan(15 / z ** 6);
  });
});

describe('Wilson score interval', () => {
  it('works none, all and half of 4 through with z = 2', () => {
    // With z = 2 and n = 4, z²/n = 1: centre = (p + 1/2) / 2, half-width = (2/2) · √(p(1 − p)/4 + 1/16).
    // p = 0: centre 0.25, half 0.25 → [0, 0.5]. p = 1: [0.5, 1]. p = 0.5: 0.5 ± √0.125 = [0.146447, 0.853553].
    expect(wilsonInterval(0, 4, 2)).toEqual([0, 0.5]);
    expect(wilsonInterval(1, 4, 2)).toEqual([0.5, 1]);
    const [low, high] = wilsonInterval(0.5, 4, 2);
    expect(low).toBeCloseTo(0.5 - Math.sqrt(0.125), 12);
    expect(high).toBeCloseTo(0.5 + Math.sqrt(0.125), 12);
  });

  it('uses 1.959963984540054 by default and stays inside 0 to 1', () => {
    // 61 of 154 at 95%: centre = (0.396104 + 0.012472) / 1.024944 = 0.398633,
    // half-width = 1.959964 · √(0.0015533 + 0.0000405) / 1.024944 = 0.076343 → [0.32229, 0.47498].
    const [low, high] = wilsonInterval(61 / 154, 154);
    expect(low).toBeCloseTo(0.3223, 4);
    expect(high).toBeCloseTo(0.475, 4);
    const [zeroLow] = wilsonInterval(0, 1000);
    expect(zeroLow).toBe(0);
  });

  it('gives [0, 1] with no respondents, and refuses what makes no sense', () => {
    expect(wilsonInterval(Number.NaN, 0)).toEqual([0, 1]);
    expect(() => wilsonInterval(1.5, 10)).toThrow(RangeError);
    expect(() => wilsonInterval(0.5, -1)).toThrow(RangeError);
    expect(() => wilsonInterval(0.5, 10, 0)).toThrow(RangeError);
  });
});
