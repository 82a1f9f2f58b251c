import { areaLabels, optionsOf, type Survey } from '../survey/definition.ts';
import type { PopulationTarget, TargetMapping } from '../weighting/targets.ts';
import type { ResponseMatrix } from './response-matrix.ts';
import { categoriesOf, categoryLabels } from './weighting.ts';

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
    const places: PlaceComparison[] = [];
    for (const district of [...districts, '']) {
      const inPlace = (i: number) =>
        district === ''
          ? districts.includes(area?.codes[(area.values[i] as number) - 1] ?? '')
          : area?.codes[(area.values[i] as number) - 1] === district;
      const counts = new Array<number>(categories.length).fill(0);
      const unplaced = new Map<string, number>();
      let placed = 0;
      for (const i of rows) {
        if (!inPlace(i)) continue;
        const k = of[i] as number;
        if (k >= 0) {
          counts[k] = (counts[k] as number) + 1;
          placed++;
          continue;
        }
        const value = column?.kind === 'single' ? (column.values[i] as number) : 0;
        const why = value
          ? `${codeLabels.get(column?.codes[value - 1] ?? '') ?? 'Another answer'} (no population row)`
          : 'Not answered';
        unplaced.set(why, (unplaced.get(why) ?? 0) + 1);
      }
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
          const sampleShare = placed ? (counts[k] as number) / placed : null;
          const populationShare = populationTotal ? (population[k] as number) / populationTotal : null;
          return {
            category,
            label: labels.get(category) ?? category,
            respondents: counts[k] as number,
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
