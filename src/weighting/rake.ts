import { wilsonInterval as wilson } from '../stats/proportions.ts';
import type { PopulationTarget } from './targets.ts';

/** The variables weighted on unless the caller chooses others. */
export const DEFAULT_VARIABLES: readonly string[] = ['age', 'sex', 'ethnic_group'];

/** One respondent to weight: their district and their answers as population categories (see mapAnswers). */
export interface Respondent {
  district: string | undefined;
  /** Per variable, the respondent's category; undefined when they gave no answer that has a population row. */
  values: Readonly<Record<string, string | undefined>>;
}

export interface RakeOptions {
  /** Weights may not exceed cap × the district's mean weight; null or absent for no cap. */
  cap?: number | null;
  /** Full sweeps over every variable allowed before giving up (R's maxit). */
  maxIterations?: number;
  /** Each margin must end within epsilon × (1 + its target) of it (R's calibrate rule). */
  epsilon?: number;
}

/** Who was left out of the weighted figures and why; a respondent missing several answers counts under each. */
export interface Exclusions {
  total: number;
  /** No district, or a district the targets do not cover. */
  noDistrict: number;
  /** Per variable: in a covered district but without a usable answer to it. */
  missing: Record<string, number>;
}

/** How unequal the weights are (Kish): the precision the weighting costs. */
export interface WeightSummary {
  respondents: number;
  weightTotal: number;
  largestWeight: number;
  /** n·Σw²/(Σw)²: how much the weights inflate the variance of a proportion. */
  designEffect: number;
  /** n / designEffect. */
  effectiveSampleSize: number;
  /** 1 / designEffect. */
  efficiency: number;
  /** Respondents whose weight is held at the cap. */
  capped: number;
  /** Sweeps used, over every capping round (overall: the most any district used). */
  iterations: number;
  converged: true;
}

export interface DistrictWeighting extends WeightSummary {
  district: string;
}

/** Each district's part of the weighted total: its share of the population times the respondents weighted. */
export interface DistrictShares {
  /** The variable whose margin total is taken as each district's population (age: the adults). */
  variable: string;
  districts: { district: string; population: number; share: number; weightTotal: number }[];
}

/** Weights that meet every margin (and the cap); the only result that carries weights. */
export interface Raked {
  ok: true;
  converged: true;
  /** Per respondent, in the order given; null for those left out. */
  weights: (number | null)[];
  variables: string[];
  excluded: Exclusions;
  districtShares: DistrictShares;
  districts: DistrictWeighting[];
  overall: WeightSummary;
  /** The cap as asked, with the weight it came to in each district; null without a cap. */
  cap: { factor: number; limits: Record<string, number> } | null;
}

/**
 * not-converged: the margins were not met within maxIterations; cap-not-met: not with weights under the cap;
 * empty-category: a category (or a whole district) with a population but no respondents, or respondents but no population;
 * no-targets: a district lacks figures for a chosen variable; no-respondents: nobody could be weighted.
 */
export type RakeRefusalReason = 'not-converged' | 'cap-not-met' | 'empty-category' | 'no-targets' | 'no-respondents';

/** Raking was impossible or did not meet its targets: no weights, only why. */
export interface RakeRefused {
  ok: false;
  converged: false;
  reason: RakeRefusalReason;
  message: string;
  excluded: Exclusions;
  /**
   * The categories at fault: empty-category, each empty cell (no respondents,
   * or respondents where the population is 0); not-converged and cap-not-met,
   * the one that missed its target.
   */
  cells?: RefusedCell[];
  /** not-converged and cap-not-met: where it stopped. */
  district?: string;
  iterations?: number;
  worstMisfit?: number;
}

export interface RefusedCell {
  district: string;
  variable: string;
  category: string;
  population: number;
  respondents: number;
}

export type RakeResult = Raked | RakeRefused;

interface Margin {
  variable: string;
  categories: string[];
  /** Population counts as published, per category. */
  counts: number[];
  /** Counts scaled to the district's weighted total. */
  targets: Float64Array;
}

interface DistrictPlan {
  district: string;
  /** The size variable's total in the figures. */
  population: number;
  /** What its weights must add to: its share of the population times the respondents weighted. */
  total: number;
  margins: Margin[];
  /** Per margin, the category's position by name. */
  index: Map<string, number>[];
  /** Cells: one per combination of categories that some respondent has, keyed by a mixed-radix number. */
  cellOfKey: Map<number, number>;
  /** Per margin, each cell's category position. */
  cellCategories: number[][];
  cellCounts: number[];
  respondents: number;
}

/**
 * Rakes (iterative proportional fitting) each district's respondents to that district's
 * population margins, like R's survey::calibrate(calfun = "raking") on equal starting weights.
 */
export function rake(
  respondents: readonly Respondent[],
  targets: readonly PopulationTarget[],
  variables: readonly string[] = DEFAULT_VARIABLES,
  options: RakeOptions = {},
): RakeResult {
  const { cap = null, maxIterations = 100, epsilon = 1e-7 } = options;
  if (variables.length === 0 || new Set(variables).size !== variables.length)
    throw new RangeError('rake needs at least one variable, each named once');
  if (!Number.isInteger(maxIterations) || maxIterations < 1)
    throw new RangeError('maxIterations must be a whole number ≥ 1');
  if (!(epsilon > 0)) throw new RangeError('epsilon must be > 0');
  if (cap !== null && !(cap >= 1 && Number.isFinite(cap)))
    throw new RangeError('cap must be ≥ 1 (a multiple of the mean weight) or null');

  const missing: Record<string, number> = Object.fromEntries(variables.map((v) => [v, 0]));
  const excluded: Exclusions = { total: 0, noDistrict: 0, missing };
  const refuse = (reason: RakeRefusalReason, message: string, more: Partial<RakeRefused> = {}): RakeRefused => ({
    ok: false,
    converged: false,
    reason,
    message,
    excluded,
    ...more,
  });

  const plans = new Map<string, DistrictPlan>();
  for (const t of targets) {
    if (!variables.includes(t.variable) || plans.has(t.district)) continue;
    plans.set(t.district, {
      district: t.district,
      population: 0,
      total: 0,
      margins: [],
      index: [],
      cellOfKey: new Map(),
      cellCategories: variables.map(() => []),
      cellCounts: [],
      respondents: 0,
    });
  }
  for (const plan of plans.values()) {
    for (const variable of variables) {
      const rows = targets.filter((t) => t.district === plan.district && t.variable === variable);
      const total = rows.reduce((sum, t) => sum + t.count, 0);
      if (!(total > 0))
        return refuse('no-targets', `There are no population figures for ${variable} in ${plan.district}.`);
      plan.margins.push({
        variable,
        categories: rows.map((t) => t.category),
        counts: rows.map((t) => t.count),
        targets: new Float64Array(rows.length),
      });
      plan.index.push(new Map(rows.map((t, k) => [t.category, k])));
    }
  }
  if (plans.size === 0) return refuse('no-targets', `There are no population figures for ${variables.join(', ')}.`);
  // A district's population is its adults (the age margin) where the figures have them; else the first variable's total.
  const sizeVariable = [...plans.keys()].every((d) => targets.some((t) => t.district === d && t.variable === 'age'))
    ? 'age'
    : variables[0]!;
  for (const plan of plans.values())
    plan.population = targets
      .filter((t) => t.district === plan.district && t.variable === sizeVariable)
      .reduce((sum, t) => sum + t.count, 0);

  // Group respondents into cells of identical categories: raking works on cell counts, not on people.
  const planList = [...plans.values()];
  const planIndex = new Map(planList.map((p, i) => [p.district, i]));
  const strides = planList.map((p) => {
    let stride = 1;
    return p.margins.map((m) => {
      const s = stride;
      stride *= m.categories.length;
      return s;
    });
  });
  const planOf = new Int32Array(respondents.length).fill(-1);
  const cellOf = new Int32Array(respondents.length);
  for (let i = 0; i < respondents.length; i++) {
    const respondent = respondents[i]!;
    const p = respondent.district === undefined ? undefined : planIndex.get(respondent.district);
    if (p === undefined) {
      excluded.noDistrict++;
      excluded.total++;
      continue;
    }
    const plan = planList[p]!;
    const stride = strides[p]!;
    let key = 0;
    let usable = true;
    for (let v = 0; v < variables.length; v++) {
      const variable = variables[v]!;
      const value = respondent.values[variable];
      if (value === undefined) {
        missing[variable]!++;
        usable = false;
        continue;
      }
      const k = plan.index[v]!.get(value);
      if (k === undefined)
        throw new RangeError(
          `respondent ${i}: "${value}" is not one of the ${variable} categories of ${plan.district}'s figures (map the answers first)`,
        );
      key += k * stride[v]!;
    }
    if (!usable) {
      excluded.total++;
      continue;
    }
    let cell = plan.cellOfKey.get(key);
    if (cell === undefined) {
      cell = plan.cellCounts.length;
      plan.cellOfKey.set(key, cell);
      plan.cellCounts.push(0);
      for (let v = 0; v < variables.length; v++)
        plan.cellCategories[v]!.push(Math.floor(key / stride[v]!) % plan.margins[v]!.categories.length);
    }
    plan.cellCounts[cell]!++;
    plan.respondents++;
    planOf[i] = p;
    cellOf[i] = cell;
  }

  const weighted = respondents.length - excluded.total;
  if (weighted === 0)
    return refuse('no-respondents', 'No respondent has a district with figures and a usable answer to every variable.');

  // Every margin of a district is scaled to the same total, its share of the weighted respondents:
  // the sources count slightly different populations (all ages in 2021, adults in 2019).
  const population = planList.reduce((sum, p) => sum + p.population, 0);
  const cells: RefusedCell[] = [];
  const problems: string[] = [];
  for (const plan of planList) {
    plan.total = (plan.population / population) * weighted;
    if (plan.respondents === 0) {
      problems.push(
        `no respondent in ${plan.district} can be weighted, so it cannot take its share of the total: leave its figures out to weight the other districts alone`,
      );
      continue;
    }
    plan.margins.forEach((margin, v) => {
      const sum = margin.counts.reduce((a, b) => a + b, 0);
      const have = new Array<number>(margin.categories.length).fill(0);
      plan.cellCounts.forEach((count, c) => {
        have[plan.cellCategories[v]![c]!]! += count;
      });
      margin.categories.forEach((category, k) => {
        margin.targets[k] = (margin.counts[k]! / sum) * plan.total;
        const cell = { district: plan.district, variable: margin.variable, category };
        if (margin.counts[k]! > 0 && have[k] === 0) {
          cells.push({ ...cell, population: margin.counts[k]!, respondents: 0 });
          const neighbours = [margin.categories[k - 1], margin.categories[k + 1]].filter((c) => c !== undefined);
          problems.push(
            `no respondent in ${plan.district} is in ${margin.variable} "${category}" (population ${margin.counts[k]}): merge it with a neighbouring category (${neighbours.join(' or ')}) or weight without ${margin.variable}`,
          );
        } else if (margin.counts[k] === 0 && have[k]! > 0) {
          cells.push({ ...cell, population: 0, respondents: have[k]! });
          problems.push(
            `${have[k]} respondents in ${plan.district} are in ${margin.variable} "${category}", whose population is 0: merge it with a neighbouring category`,
          );
        }
      });
    });
  }
  if (problems.length > 0) return refuse('empty-category', `Raking is impossible: ${problems.join('; ')}.`, { cells });

  const raked: { weights: Float64Array; fixed: Uint8Array; iterations: number }[] = [];
  const limits: Record<string, number> = {};
  for (const plan of planList) {
    const limit = cap === null ? Number.POSITIVE_INFINITY : (cap * plan.total) / plan.respondents;
    if (cap !== null) limits[plan.district] = limit;
    const outcome = rakeDistrict(plan, limit, maxIterations, epsilon);
    if (!outcome.ok) return refuse(outcome.reason, outcome.message, outcome.detail);
    raked.push(outcome);
  }

  const weights = new Array<number | null>(respondents.length);
  for (let i = 0; i < respondents.length; i++) {
    const p = planOf[i]!;
    weights[i] = p < 0 ? null : raked[p]!.weights[cellOf[i]!]!;
  }
  const districts = planList.map(
    (plan, p): DistrictWeighting => ({ district: plan.district, ...summarise([plan], [raked[p]!]) }),
  );
  return {
    ok: true,
    converged: true,
    weights,
    variables: [...variables],
    excluded,
    districtShares: {
      variable: sizeVariable,
      districts: planList.map((plan, p) => ({
        district: plan.district,
        population: plan.population,
        share: plan.population / population,
        weightTotal: districts[p]!.weightTotal,
      })),
    },
    districts,
    overall: summarise(planList, raked),
    cap: cap === null ? null : { factor: cap, limits },
  };
}

/** A category of a district's margin as a refusal names it: its population and how many respondents are in it. */
function cellOf(plan: DistrictPlan, counts: Float64Array, v: number, k: number): RefusedCell {
  const margin = plan.margins[v]!;
  let respondents = 0;
  plan.cellCategories[v]!.forEach((category, c) => {
    if (category === k) respondents += counts[c]!;
  });
  return {
    district: plan.district,
    variable: margin.variable,
    category: margin.categories[k]!,
    population: margin.counts[k]!,
    respondents,
  };
}

type DistrictOutcome =
  | { ok: true; weights: Float64Array; fixed: Uint8Array; iterations: number }
  | { ok: false; reason: 'not-converged' | 'cap-not-met'; message: string; detail: Partial<RakeRefused> };

/**
 * Rakes one district's cells to its margins; with a cap, holds the cells above it at the
 * cap and rakes the rest again, until no weight exceeds the cap and every margin holds.
 */
function rakeDistrict(plan: DistrictPlan, limit: number, maxIterations: number, epsilon: number): DistrictOutcome {
  const cells = plan.cellCounts.length;
  const counts = Float64Array.from(plan.cellCounts);
  const weights = new Float64Array(cells).fill(1);
  const fixed = new Uint8Array(cells);
  const categoryOf = plan.cellCategories.map((c) => Int32Array.from(c));
  const widest = Math.max(...plan.margins.map((m) => m.categories.length));
  const free = new Float64Array(widest);
  const held = new Float64Array(widest);
  let iterations = 0;
  for (;;) {
    let converged = false;
    let worst = { misfit: 0, margin: 0, category: 0 };
    for (let sweep = 1; sweep <= maxIterations && !converged; sweep++) {
      iterations++;
      for (let v = 0; v < plan.margins.length; v++) {
        const margin = plan.margins[v]!;
        const of = categoryOf[v]!;
        free.fill(0);
        held.fill(0);
        for (let c = 0; c < cells; c++) {
          if (fixed[c]) held[of[c]!]! += counts[c]! * weights[c]!;
          else free[of[c]!]! += counts[c]! * weights[c]!;
        }
        const factors = new Float64Array(margin.categories.length);
        for (let k = 0; k < factors.length; k++) {
          const target = margin.targets[k]!;
          const need = target - held[k]!;
          if (free[k]! > 0 && need > 0) factors[k] = need / free[k]!;
          else if (free[k] === 0 && Math.abs(need) / (1 + Math.abs(target)) < epsilon) factors[k] = 1;
          else
            return {
              ok: false,
              reason: 'cap-not-met',
              message: `The cap cannot hold in ${plan.district}: with the weights held at ${round(limit)}, ${margin.variable} "${margin.categories[k]}" cannot reach its share. Raise the cap, merge categories or weight on fewer variables.`,
              detail: { district: plan.district, iterations, cells: [cellOf(plan, counts, v, k)] },
            };
        }
        for (let c = 0; c < cells; c++) if (!fixed[c]) weights[c]! *= factors[of[c]!]!;
      }
      worst = furthest(plan, counts, weights, categoryOf);
      converged = worst.misfit < epsilon;
    }
    if (!converged) {
      const margin = plan.margins[worst.margin]!;
      const capped = fixed.some((f) => f === 1);
      return {
        ok: false,
        reason: 'not-converged',
        message: `Raking did not converge in ${plan.district} within ${maxIterations} iterations${capped ? ' after capping' : ''}: ${margin.variable} "${margin.categories[worst.category]}" is still off its target by ${worst.misfit.toPrecision(3)} (relative), above ${epsilon}. Merge sparse categories or weight on fewer variables.`,
        detail: {
          district: plan.district,
          iterations,
          worstMisfit: worst.misfit,
          cells: [cellOf(plan, counts, worst.margin, worst.category)],
        },
      };
    }
    let newlyCapped = false;
    for (let c = 0; c < cells; c++)
      if (!fixed[c] && weights[c]! > limit) {
        fixed[c] = 1;
        weights[c] = limit;
        newlyCapped = true;
      }
    if (!newlyCapped) return { ok: true, weights, fixed, iterations };
  }
}

/** The margin furthest from its target by R's measure |target − total| / (1 + |target|). */
function furthest(
  plan: DistrictPlan,
  counts: Float64Array,
  weights: Float64Array,
  categoryOf: Int32Array[],
): { misfit: number; margin: number; category: number } {
  let worst = { misfit: 0, margin: 0, category: 0 };
  plan.margins.forEach((margin, v) => {
    const totals = new Float64Array(margin.categories.length);
    const of = categoryOf[v]!;
    for (let c = 0; c < counts.length; c++) totals[of[c]!]! += counts[c]! * weights[c]!;
    margin.targets.forEach((target, k) => {
      const misfit = Math.abs(target - totals[k]!) / (1 + Math.abs(target));
      if (!(misfit <= worst.misfit)) worst = { misfit, margin: v, category: k };
    });
  });
  return worst;
}

function summarise(
  plans: DistrictPlan[],
  outcomes: { weights: Float64Array; fixed: Uint8Array; iterations: number }[],
): WeightSummary {
  let n = 0;
  let sum = 0;
  let squares = 0;
  let largestWeight = 0;
  let capped = 0;
  let iterations = 0;
  plans.forEach((plan, p) => {
    const { weights, fixed } = outcomes[p]!;
    plan.cellCounts.forEach((count, c) => {
      const w = weights[c]!;
      n += count;
      sum += count * w;
      squares += count * w * w;
      largestWeight = Math.max(largestWeight, w);
      if (fixed[c]) capped += count;
    });
    iterations = Math.max(iterations, outcomes[p]!.iterations);
  });
  const designEffect = (n * squares) / (sum * sum);
  return {
    respondents: n,
    weightTotal: sum,
    largestWeight,
    designEffect,
    effectiveSampleSize: n / designEffect,
    efficiency: 1 / designEffect,
    capped,
    iterations,
    converged: true,
  };
}

const round = (x: number) => Number(x.toPrecision(4));

/** How the confidence intervals are worked out, in words for the reader of a table. */
export const INTERVAL_METHOD = 'Wilson score interval on the effective sample size';
/** The confidence level of the intervals. */
export const CONFIDENCE_LEVEL = 0.95;
/** The Wilson score interval of a proportion observed on a sample of (effective) size n. */
export function wilsonInterval(proportion: number, n: number): { lower: number; upper: number } {
  const [lower, upper] = wilson(proportion, n);
  return { lower, upper };
}

/** One code's weighted share of those who answered, with its 95% interval. */
export interface ProportionEstimate {
  /** The sum of the weights of those who gave the code. */
  weighted: number;
  /** Unweighted: how many gave it. */
  count: number;
  proportion: number;
  lower: number;
  upper: number;
}

export interface WeightedProportions {
  /** Weighted respondents who answered (unweighted count). */
  base: number;
  weightedBase: number;
  /** Kish's effective size of the base, (Σw)²/Σw²: the n of the intervals. */
  effectiveBase: number;
  /** Per code, in the order of `codes` when given, then of first appearance; empty when nobody answered. */
  proportions: Map<string, ProportionEstimate>;
}

/**
 * Weighted proportion of each code among the weighted respondents who answered (a tick question's
 * codes may add to more than 1), with Wilson intervals on the effective base. Null weights are left out.
 */
export function weightedProportions(
  items: readonly { weight: number | null; codes: readonly string[] | string | undefined }[],
  codes: readonly string[] = [],
): WeightedProportions {
  let base = 0;
  let weightedBase = 0;
  let squares = 0;
  const sums = new Map<string, { weighted: number; count: number }>(codes.map((c) => [c, { weighted: 0, count: 0 }]));
  for (const { weight, codes: given } of items) {
    if (weight === null || given === undefined || given.length === 0) continue;
    base++;
    weightedBase += weight;
    squares += weight * weight;
    const list = typeof given === 'string' ? [given] : new Set(given);
    for (const code of list) {
      const sum = sums.get(code) ?? { weighted: 0, count: 0 };
      sum.weighted += weight;
      sum.count++;
      sums.set(code, sum);
    }
  }
  const effectiveBase = base === 0 ? 0 : (weightedBase * weightedBase) / squares;
  const proportions = new Map<string, ProportionEstimate>();
  if (base > 0)
    for (const [code, { weighted, count }] of sums) {
      const proportion = weighted / weightedBase;
      proportions.set(code, { weighted, count, proportion, ...wilsonInterval(proportion, effectiveBase) });
    }
  return { base, weightedBase, effectiveBase, proportions };
}
