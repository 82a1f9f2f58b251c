import type { Dims } from './metrics.ts';

export type DimName = keyof Dims;
export type CountsTable = 'report_summary' | 'report_totals' | 'report_days' | 'report_counts';

/**
 * The tables the counts are kept in, smallest first, with the dimensions each
 * keeps: by status and flag alone, for reports filtered by nothing else; over
 * all days, for reports without a date filter; per day without channel or
 * area, for date filters; and with every dimension, for any combination.
 * Each is keyed by its dimensions first, then the metric, so that the rows one
 * save moves lie side by side (migrations 06 and 08).
 */
export const ROLLUPS: readonly { table: CountsTable; dims: readonly DimName[] }[] = [
  { table: 'report_summary', dims: ['survey', 'status', 'flagged'] },
  { table: 'report_totals', dims: ['survey', 'status', 'channel', 'area', 'flagged'] },
  { table: 'report_days', dims: ['survey', 'status', 'day', 'flagged'] },
  { table: 'report_counts', dims: ['survey', 'status', 'channel', 'area', 'day', 'flagged'] },
];
