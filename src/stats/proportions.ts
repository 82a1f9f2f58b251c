import { createRequire } from 'node:module';
import type erfcFunction from '@stdlib/math-base-special-erfc';

/** @stdlib's erfc (10 MB of resident memory with its modules) is loaded on the first test, never by a respondent's page. */
let erfc: typeof erfcFunction | undefined;
const loadErfc = () =>
  (erfc ??= createRequire(import.meta.url)('@stdlib/math-base-special-erfc') as typeof erfcFunction);

/** The two-sided 5% point of the standard normal, qnorm(0.975). */
export const Z_95 = 1.959963984540054;

/** |z| above this is significant at the 5% level (two-sided). */
export const Z_THRESHOLD = 1.96;

/** How many of n respondents gave an answer. */
export interface Count {
  x: number;
  n: number;
}

/** A weighted share and the effective sample size behind it (Kish's n_eff = (Σw)² / Σw²). */
export interface WeightedShare {
  p: number;
  nEff: number;
}

export interface ProportionTest {
  testable: true;
  /** Shares in the previous (1) and current (2) waves. */
  p1: number;
  p2: number;
  /** p2 − p1: positive when the share has grown. */
  difference: number;
  pooled: number;
  /** (p2 − p1) / standard error: positive when the current share is the higher. */
  z: number;
  /** Two-sided. */
  p: number;
  significant: boolean;
  /** In words for the page: why the result may not be reliable. */
  warnings: string[];
}

export interface ProportionNotTestable {
  testable: false;
  /** Why there is no test, in words for the page. */
  reason: string;
  /** Each wave's share, null where the wave has no respondents. */
  p1: number | null;
  p2: number | null;
}

/**
 * Pooled two-proportion z-test of a change between waves: 1 is the previous wave, 2 the current one,
 * and z = (p2 − p1) / sqrt(p̂(1 − p̂)(1/n1 + 1/n2)) is positive when the share has grown.
 * Its z² is R's `prop.test(c(x1, x2), c(n1, n2), correct = FALSE)` X-squared.
 */
export function twoProportionZTest(previous: Count, current: Count): ProportionTest | ProportionNotTestable {
  checkCount(previous, 'previous');
  checkCount(current, 'current');
  return pooledTest(previous.x, previous.n, current.x, current.n);
}

/**
 * The same test on weighted shares, each with its effective sample size standing for n:
 * p̂ = (p1·n1eff + p2·n2eff) / (n1eff + n2eff). 1 is the previous wave, 2 the current one.
 */
export function weightedTwoProportionZTest(
  previous: WeightedShare,
  current: WeightedShare,
): ProportionTest | ProportionNotTestable {
  checkShare(previous, 'previous');
  checkShare(current, 'current');
  return pooledTest(previous.p * previous.nEff, previous.nEff, current.p * current.nEff, current.nEff);
}

function pooledTest(x1: number, n1: number, x2: number, n2: number): ProportionTest | ProportionNotTestable {
  const p1 = n1 > 0 ? x1 / n1 : null;
  const p2 = n2 > 0 ? x2 / n2 : null;
  if (p1 === null || p2 === null) {
    const which =
      p1 === null && p2 === null
        ? 'Neither wave has any'
        : p1 === null
          ? 'The previous wave has no'
          : 'The current wave has no';
    return { testable: false, reason: `${which} respondents to this question.`, p1, p2 };
  }
  const pooled = (x1 + x2) / (n1 + n2);
  // With everyone (or no one) giving the answer in both waves the standard error is 0 and z is 0/0.
  if (pooled <= 0 || pooled >= 1) {
    const who = pooled <= 0 ? 'No one' : 'Everyone';
    return {
      testable: false,
      reason: `${who} gave this answer in either wave, so there is no change to test.`,
      p1,
      p2,
    };
  }
  const z = (p2 - p1) / Math.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2));
  // The normal approximation is the 2×2 chi-square's, and fails the same way on small expected counts.
  const smallest = Math.min(n1, n2) * Math.min(pooled, 1 - pooled);
  const warnings =
    smallest < 5
      ? [
          `A wave expects only ${smallest.toFixed(1)} respondents ${pooled < 0.5 ? 'giving' : 'not giving'} this answer, fewer than 5: the test may not be reliable.`,
        ]
      : [];
  return {
    testable: true,
    p1,
    p2,
    difference: p2 - p1,
    pooled,
    z,
    p: twoSidedNormalP(z),
    significant: Math.abs(z) > Z_THRESHOLD,
    warnings,
  };
}

/**
 * 2·P(Z > |z|) for a standard normal Z, as erfc(|z|/√2): the tail itself, so it keeps its digits
 * far below the 1e-16 where 1 − cdf would round to 0.
 */
export function twoSidedNormalP(z: number): number {
  return loadErfc()(Math.abs(z) / Math.SQRT2);
}

/**
 * Wilson score interval for a share p of n respondents (n may be an effective sample size), as R's
 * `prop.test(x, n, correct = FALSE)$conf.int`. With n = 0 nothing is known and the interval is [0, 1].
 */
export function wilsonInterval(p: number, n: number, z = Z_95): [low: number, high: number] {
  if (!(n >= 0) || !Number.isFinite(n)) throw new RangeError(`n is ${n}: it must be 0 or more`);
  if (!(z > 0) || !Number.isFinite(z)) throw new RangeError(`z is ${z}: it must be more than 0`);
  if (n === 0) return [0, 1];
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p is ${p}: it must be from 0 to 1`);
  const z2n = (z * z) / n;
  const centre = (p + z2n / 2) / (1 + z2n);
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2n / (4 * n))) / (1 + z2n);
  // At p = 0 or 1 the bound is exactly 0 or 1; rounding would put it a hair outside or inside.
  return [p === 0 ? 0 : Math.max(0, centre - half), p === 1 ? 1 : Math.min(1, centre + half)];
}

function checkCount({ x, n }: Count, wave: string): void {
  if (!Number.isInteger(n) || n < 0) throw new RangeError(`${wave} n is ${n}: it must be a whole number, 0 or more`);
  if (!Number.isInteger(x) || x < 0 || x > n) {
    throw new RangeError(`${wave} x is ${x}: it must be a whole number from 0 to n (${n})`);
  }
}

function checkShare({ p, nEff }: WeightedShare, wave: string): void {
  if (!(nEff >= 0) || !Number.isFinite(nEff)) throw new RangeError(`${wave} nEff is ${nEff}: it must be 0 or more`);
  // A wave with no one in it has no share to check: its weights summed to 0.
  if (nEff > 0 && !(p >= 0 && p <= 1)) throw new RangeError(`${wave} p is ${p}: it must be from 0 to 1`);
}
