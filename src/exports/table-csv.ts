import { stringify } from 'csv-stringify/sync';
import type { Table } from '../analysis/tables.ts';
import { neutralise } from './response-record.ts';

/**
 * A table as tidy CSV: one header row, then a row per line of the table;
 * counts and percentages (0–100) as plain numbers, an empty base's percentage
 * empty. UTF-8 with a byte order mark, formula-like text neutralised.
 */
export function tableCsv(table: Table): string {
  const cell = (value: string | number | null) =>
    value === null ? '' : typeof value === 'number' ? String(value) : neutralise(value);
  return stringify([table.columns.map((c) => neutralise(c.heading)), ...table.rows.map((r) => r.cells.map(cell))], {
    bom: true,
  });
}
