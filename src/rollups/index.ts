// The write side of the analysis: running counts kept in the same transaction
// as every change to a response, so a report over a million responses sums a
// few thousand rows instead of grouping fifteen million. Every change to the
// counts goes through a CountSheet; the analysis (src/analysis) only reads.

export { CountSheet, chunks, surveyVersion } from './count-sheet.ts';
export {
  type Contribution,
  contributionOf,
  crossTabName,
  type Dims,
  dimsOf,
  metric,
  metricsOf,
  routeContribution,
  valuesFromRows,
} from './metrics.ts';
export { recountSurvey } from './recount.ts';
export { type CountsTable, type DimName, ROLLUPS } from './tables.ts';
