import type { Filters } from '../../analysis/filters.ts';
import type { PlaceComparison } from '../../analysis/representativeness.ts';
import { SECTIONS, type SectionId } from '../../analysis/sections.ts';
import {
  CAP_CHOICES,
  categoryLabels,
  refusalText,
  refusedCells,
  type Weighting,
  type WeightSettings,
} from '../../analysis/weighting.ts';
import { chartFigure } from '../../charts/index.ts';
import { areaLabels, type Survey } from '../../survey/definition.ts';
import { DEFAULT_VARIABLES } from '../../weighting/rake.ts';
import { mappingOf } from '../../weighting/targets.ts';
import { resultsHref } from './results-view.ts';
import { surveyBase } from './survey-filters.ts';

// The weighting and representativeness parts of the results pages as views:
// the weighting form, what a weighting did (or why it was refused), and each
// place's comparison of respondents with the population.

/** Where the population figures came from, in words. */
export const ORIGINS: Record<Weighting['origin'], string> = {
  shipped: 'those that came with the survey',
  uploaded: 'uploaded by an admin',
  file: 'from a file',
  none: 'none yet',
};

/** One place's comparison: its table's cells as text, and its chart of the two shares side by side. */
export function comparisonView(variable: string, label: string, place: PlaceComparison) {
  const id = `${variable}-${place.district || 'all'}`;
  return {
    ...place,
    id,
    categories: place.categories.map((c) => ({
      ...c,
      sample: formatShare(c.sampleShare),
      population: formatShare(c.populationShare),
      ratioText: c.ratio === null ? '–' : c.ratio.toFixed(2),
      difference:
        c.differencePoints === null ? '–' : `${c.differencePoints > 0 ? '+' : ''}${c.differencePoints.toFixed(1)}`,
    })),
    chart: chartFigure(
      {
        kind: 'grouped-bar',
        title: `${label}: ${place.label}`,
        unit: '%',
        max: 100,
        series: ['Respondents', 'Population'],
        categories: place.categories.map((c) => ({
          label: c.label,
          values: [
            { value: c.sampleShare === null ? null : c.sampleShare * 100, display: formatShare(c.sampleShare) },
            {
              value: c.populationShare === null ? null : c.populationShare * 100,
              display: formatShare(c.populationShare),
            },
          ],
        })),
      },
      { id: `chart-${id}`, tableId: id },
    ),
  };
}

/** A share (0–1) as a percentage to one decimal place. */
const formatShare = (share: number | null) => (share === null ? '–' : `${(share * 100).toFixed(1)}%`);

export type WithWeights = Weighting & { weights: Float64Array };

/** The weighting form's choices: the variables, the cap, and each pair of neighbouring categories to merge. */
export function weightForm(survey: Survey, chosen: WeightSettings) {
  const together = (variable: string, a = '', b = '') =>
    chosen.merges.some((m) => m.variable === variable && m.categories.includes(a) && m.categories.includes(b));
  return {
    variables: Object.keys(mappingOf(survey)).map((variable) => ({
      variable,
      label: survey.population?.variables[variable]?.label ?? variable,
      checked: chosen.variables.includes(variable),
    })),
    caps: [{ value: 'none', label: 'No cap', checked: chosen.cap === null }].concat(
      CAP_CHOICES.map((k) => ({ value: String(k), label: `${k} times the mean weight`, checked: chosen.cap === k })),
    ),
    // Each pair of neighbouring categories, grouped by variable; ticked pairs that touch merge as one.
    merges: Object.entries(survey.population?.variables ?? {}).map(([variable, v]) => ({
      variable,
      label: v.label,
      pairs: v.categories.slice(1).map((c, k) => {
        const previous = v.categories[k];
        return {
          value: `${variable}:${previous?.category}+${c.category}`,
          label: `${previous?.label} with ${c.label}`,
          checked: together(variable, previous?.category, c.category),
        };
      }),
    })),
  };
}

/** What a results page says of its weighting: none, its outcome, or why it failed; and the way to switch. */
export function weightingView(survey: Survey, filters: Filters, weighting: Weighting | undefined, section: SectionId) {
  const path = `${surveyBase(survey)}${SECTIONS.find((s) => s.id === section)?.path ?? ''}`;
  const representativeness = `${surveyBase(survey)}/results/representativeness`;
  const toWeighting = (settings?: WeightSettings) => `${resultsHref(representativeness, filters, settings)}#weighting`;
  if (!weighting)
    return {
      on: false,
      defaultVariables: DEFAULT_VARIABLES.filter((v) => v in mappingOf(survey))
        .map((v) => survey.population?.variables[v]?.label.toLowerCase() ?? v)
        .join(', '),
      switchHref: resultsHref(path, filters, {
        variables: DEFAULT_VARIABLES.filter((v) => v in mappingOf(survey)),
        cap: null,
        merges: [],
      }),
      settingsHref: resultsHref(representativeness, filters),
    };
  const result = weighting.result;
  const labels = weighting.settings.variables.map((v) => survey.population?.variables[v]?.label.toLowerCase() ?? v);
  return {
    on: true,
    ok: result.ok,
    variables: labels.join(', '),
    cap: weighting.settings.cap,
    merges: weighting.settings.merges.map((m) => {
      const labels = categoryLabels(survey, m.variable, mappingOf(survey));
      return m.categories.map((c) => labels.get(c) ?? c).join(' with ');
    }),
    message: result.ok ? undefined : refusalText(result),
    cells: refusedCells(survey, weighting).map((cell) => ({
      text: cell.text,
      merges: cell.neighbours.map((n) => ({
        label: `merge with “${n.label}”`,
        href: toWeighting({
          ...weighting.settings,
          merges: [...weighting.settings.merges, { variable: cell.variable, categories: [cell.category, n.category] }],
        }),
      })),
      without:
        weighting.settings.variables.length > 1
          ? {
              label: `weight without ${survey.population?.variables[cell.variable]?.label.toLowerCase() ?? cell.variable}`,
              href: toWeighting({
                ...weighting.settings,
                variables: weighting.settings.variables.filter((v) => v !== cell.variable),
              }),
            }
          : undefined,
    })),
    summary: result.ok
      ? {
          respondents: result.overall.respondents,
          designEffect: result.overall.designEffect.toFixed(2),
          effective: result.overall.effectiveSampleSize.toFixed(1),
          efficiency: `${(result.overall.efficiency * 100).toFixed(0)}%`,
          largest: result.overall.largestWeight.toFixed(2),
          capped: result.overall.capped,
          iterations: result.overall.iterations,
          // The responses as they stood when the matrix was built (a large survey's is rebuilt behind it).
          asOf: new Date(weighting.matrix.builtAt).toISOString(),
          districts: result.districts.map((d) => ({
            label: areaLabels(survey).get(d.district) ?? d.district,
            respondents: d.respondents,
            designEffect: d.designEffect.toFixed(2),
            effective: d.effectiveSampleSize.toFixed(1),
          })),
        }
      : undefined,
    leftOut:
      'excluded' in result
        ? {
            total: result.excluded.total,
            reasons: [
              ...(result.excluded.noDistrict
                ? [`${result.excluded.noDistrict} with no district the figures cover`]
                : []),
              ...Object.entries(result.excluded.missing)
                .filter(([, n]) => n)
                .map(
                  ([v, n]) =>
                    `${n} without a usable answer on ${survey.population?.variables[v]?.label.toLowerCase() ?? v}`,
                ),
            ],
          }
        : undefined,
    method: weighting.method,
    caveats: weighting.caveats,
    switchHref: resultsHref(path, filters),
    settingsHref: toWeighting(weighting.settings),
    resultsHref: resultsHref(surveyBase(survey), filters, weighting.settings),
  };
}
