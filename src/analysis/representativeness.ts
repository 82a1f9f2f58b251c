import { areaLabels, optionsOf, type Survey } from '../survey/definition.ts';
import type { PopulationTarget, TargetMapping } from '../weighting/targets.ts';
import type { ResponseMatrix } from './response-matrix.ts';
import { categoriesOf, categoryLabels, type Weighting } from './weighting.ts';

// Who answered against who lives there: per population variable, in each
// district and overall, the respondents' share of each category beside the
// population's, and those who could not be placed (no population row).

export interface CategoryComparison {
  category: string;
  label: string;
  respondents: number;
  /** 0–1 of the respondents placed in this variable (in the district). */
  sampleShare: number | null;
  /** 0–1 of the population in the figures (in the district). */
  populationShare: number | null;
  /** Sample share minus population share, in percentage points. */
  differencePoints: number | null;
  /** Sample share over population share: above 1, over-represented. */
  ratio: number | null;
}

export interface PlaceComparison {
  /** A district code, or '' for every district together. */
  district: string;
  label: string;
  categories: CategoryComparison[];
  placed: number;
  /** Respondents who could not be placed, by why: an answer with no population row, or none. */
  notPlaced: { label: string; respondents: number }[];
}

export interface VariableComparison {
  variable: string;
  label: string;
  places: PlaceComparison[];
}

/** Compares the responses `rows` of the matrix with the figures, for every variable of the mapping. */
export function representativeness(
  survey: Survey,
  matrix: ResponseMatrix,
  rows: Uint32Array,
  targets: readonly PopulationTarget[],
  mapping: TargetMapping,
): VariableComparison[] {
  const area = survey.analysis?.area ? matrix.columns.get(survey.analysis.area) : undefined;
  const districtLabels = areaLabels(survey);
  const out: VariableComparison[] = [];
  for (const [variable, mapped] of Object.entries(mapping)) {
    const categories = mapped.categories.map((c) => c.category);
    const labels = categoryLabels(survey, variable, mapping);
    const of = categoriesOf(matrix, mapping, variable);
    const column = matrix.columns.get(mapped.question);
    const question = survey.questionsById.get(mapped.question)?.[0];
    const codeLabels = new Map(question ? optionsOf(question).map((o) => [o.code, o.label]) : []);
    const districts = [...new Set(targets.filter((t) => t.variable === variable).map((t) => t.district))];
    // One pass over the rows per variable: each row counted in its district's place and in "all districts".
    const placeOfArea = area ? area.codes.map((code) => districts.indexOf(code)) : [];
    const all = districts.length;
    const counts = Array.from({ length: all + 1 }, () => new Array<number>(categories.length).fill(0));
    const unplacedByValue = Array.from({ length: all + 1 }, () => new Map<number, number>());
    const count = (p: number, i: number, k: number) => {
      const placeCounts = counts[p] as number[];
      if (k >= 0) placeCounts[k] = (placeCounts[k] as number) + 1;
      else {
        const value = column?.kind === 'single' ? (column.values[i] as number) : 0;
        const unplaced = unplacedByValue[p] as Map<number, number>;
        unplaced.set(value, (unplaced.get(value) ?? 0) + 1);
      }
    };
    for (const i of rows) {
      const place = area ? (placeOfArea[(area.values[i] as number) - 1] ?? -1) : -1;
      if (place < 0) continue;
      const k = of[i] as number;
      count(place, i, k);
      count(all, i, k);
    }
    const why = (value: number) =>
      value
        ? `${codeLabels.get(column?.codes[value - 1] ?? '') ?? 'Another answer'} (no population row)`
        : 'Not answered';
    const places: PlaceComparison[] = [];
    for (const [p, district] of [...districts, ''].entries()) {
      const placeCounts = counts[p] as number[];
      const placed = placeCounts.reduce((a, b) => a + b, 0);
      const unplaced = new Map<string, number>();
      for (const [value, n] of unplacedByValue[p] as Map<number, number>)
        unplaced.set(why(value), (unplaced.get(why(value)) ?? 0) + n);
      const figures = targets.filter((t) => t.variable === variable && (district === '' || t.district === district));
      const population = categories.map((c) =>
        figures.filter((t) => t.category === c).reduce((a, t) => a + t.count, 0),
      );
      const populationTotal = population.reduce((a, b) => a + b, 0);
      places.push({
        district,
        label: district === '' ? 'All districts' : (districtLabels.get(district) ?? district),
        placed,
        notPlaced: [...unplaced].map(([label, respondents]) => ({ label, respondents })),
        categories: categories.map((category, k) => {
          const sampleShare = placed ? (placeCounts[k] as number) / placed : null;
          const populationShare = populationTotal ? (population[k] as number) / populationTotal : null;
          return {
            category,
            label: labels.get(category) ?? category,
            respondents: placeCounts[k] as number,
            sampleShare,
            populationShare,
            differencePoints:
              sampleShare !== null && populationShare !== null ? (sampleShare - populationShare) * 100 : null,
            ratio: sampleShare !== null && populationShare ? sampleShare / populationShare : null,
          };
        }),
      });
    }
    out.push({ variable, label: survey.population?.variables[variable]?.label ?? variable, places });
  }
  return out;
}

const compared = new WeakMap<Weighting, { survey: Survey; comparisons: VariableComparison[] }>();

/**
 * The comparison for a weighting's responses and figures, worked out once per
 * weighting (which is kept until the responses, the figures or the settings
 * change) and survey version (its labels), rather than a pass over every
 * response per variable each time the page is asked for.
 */
export function representativenessOf(survey: Survey, weighting: Weighting): VariableComparison[] {
  const kept = compared.get(weighting);
  if (kept?.survey === survey) return kept.comparisons;
  const comparisons = representativeness(
    survey,
    weighting.matrix,
    weighting.rows,
    weighting.targets,
    weighting.mapping,
  );
  compared.set(weighting, { survey, comparisons });
  return comparisons;
}
