import { createHash } from 'node:crypto';
import type { Kysely } from 'kysely';
import { LRUCache } from 'lru-cache';
import type { Database } from '../db/schema.ts';
import { wilsonInterval } from '../stats/proportions.ts';
import { areaLabels, type Survey } from '../survey/definition.ts';
import { DEFAULT_VARIABLES, INTERVAL_METHOD, type RakeResult, rake } from '../weighting/rake.ts';
import { targetsOf } from '../weighting/store.ts';
import { mappingOf, mergeCategories, type PopulationTarget, type TargetMapping } from '../weighting/targets.ts';
import { type Filters, filtersQuery } from './filters.ts';
import { matrixFor } from './matrix-cache.ts';
import { codesAt, type MatrixColumn, type ResponseMatrix, selectRows } from './response-matrix.ts';

// Weighting the responses under the filters to the survey's population
// figures (raking, src/weighting/rake.ts), and the weighted shares every
// table and the report give beside their counts.

/** What an analyst chooses: the variables to rake on, a cap on the weights, and categories merged. */
export interface WeightSettings {
  variables: string[];
  /** Weights may not exceed cap × their district's mean weight; null: no cap. */
  cap: number | null;
  /** Neighbouring categories taken together (in the figures and the answers), per variable. */
  merges: { variable: string; categories: string[] }[];
}

export const CAP_CHOICES = [3, 5, 10];

/**
 * Weighting settings from a query string (or CLI options): `weight=age,sex,ethnic_group`
 * (or `weight=yes` for the default variables), `cap=none|K`, `merge=age:18_24+25_34`
 * (repeatable). Undefined when the query asks for no weighting.
 */
export function parseWeightSettings(
  survey: Survey,
  query: Record<string, unknown>,
): { ok: true; settings: WeightSettings | undefined } | { ok: false; problems: { field: string; message: string }[] } {
  const problems: { field: string; message: string }[] = [];
  // The form's checkboxes send weight=age&weight=sex; a link sends weight=age,sex.
  const weight =
    Array.isArray(query.weight) && query.weight.every((w) => typeof w === 'string')
      ? query.weight.join(',')
      : query.weight;
  if (weight === undefined || weight === '' || weight === 'no') return { ok: true, settings: undefined };
  if (typeof weight !== 'string')
    return { ok: false, problems: [{ field: 'weight', message: 'weight must name the variables to weight on' }] };
  const known = Object.keys(mappingOf(survey));
  const variables =
    weight === 'yes'
      ? DEFAULT_VARIABLES.filter((v) => known.includes(v))
      : [...new Set(weight.split(',').filter(Boolean))];
  for (const v of variables)
    if (!known.includes(v))
      problems.push({ field: 'weight', message: `weight must name variables from ${known.join(', ')}` });
  if (!variables.length) problems.push({ field: 'weight', message: 'Choose at least one variable to weight on' });
  let cap: number | null = null;
  const capText = query.cap;
  if (capText !== undefined && capText !== '' && capText !== 'none') {
    const n = Number(capText);
    if (typeof capText === 'string' && Number.isFinite(n) && n > 1 && n <= 100) cap = n;
    else
      problems.push({
        field: 'cap',
        message: 'cap must be none, or a number above 1 (5 means 5 times the mean weight)',
      });
  }
  const merges: WeightSettings['merges'] = [];
  const mergeList = query.merge === undefined ? [] : Array.isArray(query.merge) ? query.merge : [query.merge];
  for (const m of mergeList) {
    const match = typeof m === 'string' ? /^([a-z][a-z0-9_]*):([a-z0-9_+]+)$/.exec(m) : null;
    if (!match) problems.push({ field: 'merge', message: 'merge must be like age:18_24+25_34' });
    else joinMerge(merges, { variable: match[1] as string, categories: (match[2] as string).split('+') });
  }
  return problems.length ? { ok: false, problems } : { ok: true, settings: { variables, cap, merges } };
}

/** Adds a merge, joining it with any it shares a category with: pairs a+b and b+c make one a+b+c. */
function joinMerge(merges: WeightSettings['merges'], merge: WeightSettings['merges'][number]) {
  let joined = merge;
  for (let k = merges.length - 1; k >= 0; k--) {
    const other = merges[k] as WeightSettings['merges'][number];
    if (other.variable !== joined.variable || !other.categories.some((c) => joined.categories.includes(c))) continue;
    joined = {
      variable: joined.variable,
      categories: [...other.categories, ...joined.categories.filter((c) => !other.categories.includes(c))],
    };
    merges.splice(k, 1);
  }
  merges.push(joined);
}

/** The settings as a query string (without `?`), for links that keep them. */
export function weightQuery(settings: WeightSettings | undefined): string {
  if (!settings) return '';
  const params = new URLSearchParams();
  params.set('weight', settings.variables.join(','));
  if (settings.cap !== null) params.set('cap', String(settings.cap));
  for (const m of settings.merges) params.append('merge', `${m.variable}:${m.categories.join('+')}`);
  return params.toString();
}

/** The figures and the mapping, with the merges applied; or what is wrong with a merge. */
export function mergedTargets(
  targets: readonly PopulationTarget[],
  mapping: TargetMapping,
  merges: WeightSettings['merges'],
): { ok: true; targets: PopulationTarget[]; mapping: TargetMapping } | { ok: false; problem: string } {
  let current = { targets: [...targets], mapping };
  for (const m of merges) {
    const merged = mergeCategories(current.targets, current.mapping, m.variable, m.categories);
    if (!merged.ok) return merged;
    current = { targets: merged.targets, mapping: merged.mapping };
  }
  return { ok: true, ...current };
}

/** Each response's category of a population variable (index into its categories), or -1: a column read once. */
export function categoriesOf(matrix: ResponseMatrix, mapping: TargetMapping, variable: string): Int16Array {
  const mapped = mapping[variable];
  const column = mapped ? matrix.columns.get(mapped.question) : undefined;
  const out = new Int16Array(matrix.size).fill(-1);
  if (!mapped || !column || column.kind !== 'single') return out;
  const byCode = new Int16Array(column.codes.length + 1).fill(-1);
  column.codes.forEach((code, i) => {
    byCode[i + 1] = mapped.categories.findIndex((c) => c.codes.includes(code));
  });
  for (let i = 0; i < matrix.size; i++) out[i] = byCode[column.values[i] as number] as number;
  return out;
}

/** The labels of a variable's categories (merged ones named from their parts). */
export function categoryLabels(survey: Survey, variable: string, mapping: TargetMapping): Map<string, string> {
  const defined = survey.population?.variables[variable]?.categories ?? [];
  const byCategory = new Map(defined.map((c) => [c.category, c.label]));
  return new Map(
    (mapping[variable]?.categories ?? []).map((c) => [
      c.category,
      byCategory.get(c.category) ??
        c.category
          .split('+')
          .map((part) => byCategory.get(part) ?? part)
          .join(' and '),
    ]),
  );
}

/** A refused weighting's faulty cells in words, with the neighbours each could be merged with. */
export function refusedCells(survey: Survey, weighting: Weighting) {
  const result = weighting.result;
  if (result.ok || !('cells' in result) || !result.cells) return [];
  const districts = areaLabels(survey);
  return result.cells.map((cell) => {
    const labels = categoryLabels(survey, cell.variable, weighting.mapping);
    const order = weighting.mapping[cell.variable]?.categories.map((c) => c.category) ?? [];
    const k = order.indexOf(cell.category);
    const variable = survey.population?.variables[cell.variable]?.label ?? cell.variable;
    const category = labels.get(cell.category) ?? cell.category;
    const place = districts.get(cell.district) ?? cell.district;
    const fault =
      result.reason === 'empty-category'
        ? cell.respondents === 0
          ? `no respondent in ${place} is in ${variable.toLowerCase()} “${category}”, where ${cell.population.toLocaleString('en-GB')} people live`
          : `${cell.respondents} respondents in ${place} are in ${variable.toLowerCase()} “${category}”, which the figures give no population`
        : `in ${place}, ${variable.toLowerCase()} “${category}” (${Math.round(cell.respondents)} respondents) could not reach its share of the population`;
    return {
      ...cell,
      text: fault,
      neighbours: [order[k - 1], order[k + 1]]
        .filter((c): c is string => c !== undefined)
        .map((c) => ({ category: c, label: labels.get(c) ?? c })),
    };
  });
}

/** What the page says first when weighting is refused; the cells at fault follow as a list. */
export function refusalText(result: Exclude<Weighting['result'], { ok: true }>): string {
  if (!('cells' in result) || !result.cells?.length) return result.message;
  switch (result.reason) {
    case 'empty-category':
      return 'Some categories have no respondents to weight (or respondents but no population):';
    case 'not-converged':
      return 'The weights could not be made to match every target at once within 100 rounds:';
    case 'cap-not-met':
      return 'The weights cannot stay under the cap and still match the targets:';
    default:
      return result.message;
  }
}

/** The outcome of weighting the responses under some filters. */
export interface Weighting {
  settings: WeightSettings;
  matrix: ResponseMatrix;
  /** The responses under the filters (see selectRows). */
  rows: Uint32Array;
  /** Per response in `rows`, its weight, NaN when left out; undefined unless raking met its targets. */
  weights?: Float64Array;
  result: RakeResult | { ok: false; reason: 'targets'; message: string };
  targets: PopulationTarget[];
  mapping: TargetMapping;
  origin: 'uploaded' | 'shipped' | 'none' | 'file';
  caveats: string[];
  method: string;
  /** The weighted tallies asked for so far (see weightedTally). */
  tallies: Map<string, WeightedTally>;
}

const cache = new LRUCache<string, Promise<Weighting>>({ max: 32 });

/**
 * Weights the responses under the filters: raked within each district to
 * its margins. Kept until the responses, the figures or the settings change
 * (the key holds the survey's changes counter, through the matrix's version).
 */
export async function weightingFor(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  settings: WeightSettings,
  /** Figures to weight to instead of the survey's own (the CLI's --targets). */
  targets?: PopulationTarget[],
): Promise<Weighting> {
  const [matrix, stored] = await Promise.all([
    matrixFor(db, survey),
    targets
      ? {
          targets,
          origin: 'file' as const,
          updatedAt: createHash('sha256').update(JSON.stringify(targets)).digest('hex'),
        }
      : targetsOf(db, survey),
  ]);
  const key = [
    survey.slug,
    matrix.version,
    matrix.builtAt,
    filtersQuery(filters),
    weightQuery(settings),
    stored.origin,
    stored.updatedAt ?? '',
  ].join('|');
  let found = cache.get(key);
  if (!found) {
    found = Promise.resolve(weigh(survey, matrix, filters, settings, stored));
    cache.set(key, found);
  }
  return found;
}

function weigh(
  survey: Survey,
  matrix: ResponseMatrix,
  filters: Filters,
  settings: WeightSettings,
  stored: { targets: PopulationTarget[]; origin: Weighting['origin'] },
): Weighting {
  const rows = selectRows(matrix, survey, filters);
  const base = {
    settings,
    matrix,
    rows,
    origin: stored.origin,
    caveats: survey.population?.caveats ?? [],
    method: INTERVAL_METHOD,
    tallies: new Map<string, WeightedTally>(),
  };
  // Filtered to one area, its respondents are weighted to that district's figures alone.
  const inArea = filters.area ? stored.targets.filter((t) => t.district === filters.area) : stored.targets;
  const merged = mergedTargets(inArea, mappingOf(survey), settings.merges);
  if (!merged.ok)
    return {
      ...base,
      targets: stored.targets,
      mapping: mappingOf(survey),
      result: { ok: false, reason: 'targets', message: merged.problem },
    };
  const { targets, mapping } = merged;
  if (!targets.length)
    return {
      ...base,
      targets,
      mapping,
      result: {
        ok: false,
        reason: 'targets',
        message: stored.targets.length
          ? `There are no population figures for the area ${areaLabels(survey).get(filters.area ?? '') ?? filters.area}: its responses cannot be weighted.`
          : 'This survey has no population figures yet: an admin can upload them in its settings.',
      },
    };
  const area = survey.analysis?.area ? matrix.columns.get(survey.analysis.area) : undefined;
  const categories = settings.variables.map((v) => ({
    variable: v,
    of: categoriesOf(matrix, mapping, v),
    names: mapping[v]?.categories.map((c) => c.category) ?? [],
  }));
  const respondents = Array.from(rows, (i) => {
    const district = area?.values[i] ? area.codes[(area.values[i] as number) - 1] : undefined;
    const values: Record<string, string | undefined> = {};
    for (const c of categories) {
      const k = c.of[i] as number;
      values[c.variable] = k >= 0 ? c.names[k] : undefined;
    }
    return { district, values };
  });
  const result = rake(respondents, targets, settings.variables, { cap: settings.cap });
  const weights = result.ok ? Float64Array.from(result.weights, (w) => (w === null ? Number.NaN : w)) : undefined;
  return { ...base, targets, mapping, result, ...(weights ? { weights } : {}) };
}

/** A code's weighted share of the weighted respondents who answered, with its interval. */
export interface WeightedShare {
  proportion: number;
  low: number;
  high: number;
}

/** Weighted shares of a column's codes, with the unweighted base and its effective size. */
export interface WeightedTally {
  base: number;
  effectiveBase: number;
  shares: Map<string, WeightedShare>;
}

/** Which responses a tally counts: those in a group (one code of a single-choice column), or all. */
export interface TallyGroup {
  column: string;
  code: string;
}

/**
 * The weighted share of each code of a column among the weighted respondents
 * who answered it (or, with a group, only those in it), with Wilson intervals
 * on the effective size of that base. Kept with the weighting: every page and
 * download under the same settings asks for the same tallies, and at 1M
 * responses each is a pass over them all. Undefined for a column or group the
 * matrix does not have.
 */
export function weightedTally(
  weighting: Weighting & { weights: Float64Array },
  columnId: string,
  group?: TallyGroup,
): WeightedTally | undefined {
  const key = group ? `${columnId} ${group.column} ${group.code}` : columnId;
  let found = weighting.tallies.get(key);
  if (!found) {
    const column = weighting.matrix.columns.get(columnId);
    const by = group ? weighting.matrix.columns.get(group.column) : undefined;
    const code = by && group ? by.codes.indexOf(group.code) + 1 : 0;
    if (!column || (group && (by?.kind !== 'single' || code === 0))) return undefined;
    found = tally(weighting, column, by ? (i) => by.values[i] === code : undefined);
    weighting.tallies.set(key, found);
  }
  return found;
}

function tally(
  weighting: Weighting & { weights: Float64Array },
  column: MatrixColumn,
  where?: (i: number) => boolean,
): WeightedTally {
  const { rows, weights } = weighting;
  const sums = new Float64Array(column.codes.length);
  const codes = new Uint16Array(Math.max(1, column.codes.length));
  let base = 0;
  let total = 0;
  let squares = 0;
  for (let k = 0; k < rows.length; k++) {
    const w = weights[k] as number;
    if (Number.isNaN(w)) continue;
    const i = rows[k] as number;
    if (where && !where(i)) continue;
    const n = codesAt(column, i, codes);
    if (n === 0) continue;
    base++;
    total += w;
    squares += w * w;
    for (let a = 0; a < n; a++) sums[codes[a] as number] = (sums[codes[a] as number] as number) + w;
  }
  const effectiveBase = base ? (total * total) / squares : 0;
  const shares = new Map<string, WeightedShare>();
  column.codes.forEach((code, c) => {
    const proportion = total ? (sums[c] as number) / total : 0;
    const [low, high] = wilsonInterval(proportion, effectiveBase);
    shares.set(code, { proportion, low, high });
  });
  return { base, effectiveBase, shares };
}
