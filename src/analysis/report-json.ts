import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import type { PopulationTarget } from '../weighting/targets.ts';
import { crosstab, crosstabJson, crosstabVariables } from './crosstab.ts';
import type { Filters } from './filters.ts';
import { matrixFor } from './matrix-cache.ts';
import { buildReport } from './report.ts';
import { selectRows } from './response-matrix.ts';
import { comparisonJson, countWave, previousFilters } from './waves.ts';
import { weightedReport } from './weighted-tables.ts';
import { type WeightSettings, weightingFor } from './weighting.ts';

/** What the report JSON may add to the report: a cross-tab, and weighted estimates. */
export interface ReportExtras {
  /** [row, column]: variables of the cross-tabs (see crosstabVariables). */
  crosstab?: [string, string];
  weight?: WeightSettings;
  /** Figures to weight to instead of the survey's own. */
  targets?: PopulationTarget[];
  /** An earlier wave of the survey's series to compare with (see waves.ts). */
  compare?: Survey;
}

/** A request the report cannot answer (an unknown cross-tab variable): the caller says so. */
export class ReportRequestError extends Error {}

/**
 * The report JSON of the CLI and of report.json: the report, and on request a
 * cross-tab (`crosstab`), the weighting with every question's weighted
 * proportions (`weighting`, `questions.<id>.weighted`), and the change since an
 * earlier wave (`comparison`).
 */
export async function reportJson(db: Kysely<Database>, survey: Survey, filters: Filters, extras: ReportExtras = {}) {
  const report = await buildReport(db, survey, filters);
  const out: Record<string, unknown> = { ...report };
  if (extras.crosstab) {
    const [row, column] = extras.crosstab;
    const matrix = await matrixFor(db, survey);
    const known = new Set(crosstabVariables(survey, matrix).map((v) => v.id));
    if (!known.has(row) || !known.has(column) || row === column)
      throw new ReportRequestError(`a cross-tab needs two different variables from: ${[...known].join(', ')}`);
    out.crosstab = crosstabJson(crosstab(survey, matrix, row, column, selectRows(matrix, survey, filters)));
  }
  const weighting = extras.weight ? await weightingFor(db, survey, filters, extras.weight, extras.targets) : undefined;
  if (weighting) Object.assign(out, weightedReport(survey, report, weighting));
  if (extras.compare) {
    const applied = previousFilters(extras.compare, filters);
    const previous = await countWave(db, extras.compare, applied.filters, extras.weight);
    out.comparison = {
      ...comparisonJson(previous, { survey, filters, report, ...(weighting ? { weighting } : {}) }),
      notes: applied.notes,
    };
  }
  return out;
}
