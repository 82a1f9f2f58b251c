import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import { responseIdAt } from '../analysis/response-matrix.ts';
import { refusalText, refusedCells, type Weighting, type WeightSettings, weightingFor } from '../analysis/weighting.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';

// The weights an export writes beside each response (issue 16): the same
// weighting the results pages use, under the export's filters.

/** A weighting that met its targets: it carries a weight (or NaN) per response under the filters. */
export type MetWeighting = Weighting & { weights: Float64Array };

/** The weighting an export was asked for was refused: the export is refused rather than written without weights. */
export class WeightingRefused extends Error {
  readonly code = 'WEIGHTING_REFUSED';
  constructor(message: string) {
    super(message);
    this.name = 'WeightingRefused';
  }
}

/** A problem's words as a sentence: capital first, full stop last. */
export const asSentence = (text: string) =>
  `${text.charAt(0).toUpperCase()}${text.slice(1)}${text.endsWith('.') ? '' : '.'}`;

/** Why a weighting was refused, in the representativeness page's words: its lead, then each cell at fault. */
export function refusalMessage(survey: Survey, weighting: Weighting): string {
  const { result } = weighting;
  if (result.ok) return '';
  const cells = refusedCells(survey, weighting).map((cell) => asSentence(cell.text));
  return [refusalText(result), ...cells].join(' ');
}

/** The weighting for an export, or WeightingRefused when it did not meet its targets. */
export async function exportWeighting(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  settings: WeightSettings,
): Promise<MetWeighting> {
  const weighting = await weightingFor(db, survey, filters, settings);
  if (!weighting.result.ok || !weighting.weights) throw new WeightingRefused(refusalMessage(survey, weighting));
  return weighting as MetWeighting;
}

/**
 * Each weighted response's weight by its id; a response left out of the
 * weighting (no district the figures cover, no usable answer to a variable
 * weighted on) has none.
 */
export function weightsById(weighting: MetWeighting): Map<string, number> {
  const { rows, weights, matrix } = weighting;
  const byId = new Map<string, number>();
  for (let k = 0; k < rows.length; k++) {
    const w = weights[k] as number;
    if (!Number.isNaN(w)) byId.set(responseIdAt(matrix, rows[k] as number), w);
  }
  return byId;
}
