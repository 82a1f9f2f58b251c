import { type Options, stringify } from 'csv-stringify/sync';
import { channelLabels } from '../analysis/crosstab.ts';
import type { Table } from '../analysis/tables.ts';
import type { Survey } from '../survey/definition.ts';
import { type RowBatch, rowsOf } from './read.ts';
import { type ExportRow, labelledCells, recordCells, recordColumns } from './record.ts';

/** The byte order mark that tells Excel a CSV file is UTF-8. */
export const BOM = '\uFEFF';

/** First characters that a spreadsheet would run as a formula: = + - @ tab CR. */
const RUNS_AS_FORMULA = /^[=+\-@\t\r]/;

/**
 * A cell as a spreadsheet may safely read it: text that Excel would run as a
 * formula gets a leading apostrophe (OWASP's advice for CSV injection).
 * Numbers are left as they are: -3 is a number, not a formula.
 */
export function neutralise(cell: string): string {
  return RUNS_AS_FORMULA.test(cell) ? `'${cell}` : cell;
}

const OPTIONS: Options = { cast: { string: neutralise } };

/** Rows as CSV lines, each ending in `\n`: quoted where needed, formulas neutralised, null as an empty cell. */
export function csvLines(rows: readonly (readonly (string | number | null)[])[]): string {
  return stringify(rows as unknown[], OPTIONS);
}

/**
 * A table as tidy CSV: one header row, then a row per line of the table;
 * counts and percentages (0–100) as plain numbers, an empty base's percentage
 * empty. With the byte order mark.
 */
export function tableCsv(table: Table): string {
  return BOM + csvLines([table.columns.map((c) => c.heading), ...table.rows.map((r) => r.cells)]);
}

/** Bytes of CSV in each chunk an export hands on: the worker sends a few ahead of the download, not a whole batch. */
export const CHUNK_BYTES = 64 * 1024;

/**
 * How the response record is written: the survey and its rows in batches in
 * (a batch is good until the next is asked for), CSV chunks out: the byte
 * order mark, the header, then one line per response (recordCells), in
 * chunks of at most CHUNK_BYTES. The first chunk comes with the first batch,
 * so a query that fails does so before anything has been sent.
 */
export type RecordWriter = (survey: Survey, batches: AsyncIterable<RowBatch>) => AsyncGenerator<Buffer>;

/** What a response record's CSV may hold beyond the codes: labels instead, and each response's weight. */
export interface RecordOptions {
  /** Labels instead of codes, for the answers and the channel (see labelledCells). */
  labels?: boolean;
  /** Weights by response id (see weightsById): a last column, `weight`, empty for a response without one. */
  weights?: ReadonlyMap<string, number>;
}

/** The record's header with the options' columns. */
export function recordHeader(survey: Survey, { weights }: RecordOptions = {}): string[] {
  return weights ? [...recordColumns(survey), 'weight'] : recordColumns(survey);
}

/** The response record written with csv-stringify, with labels or weights if asked (see RecordWriter). */
export function recordCsvWith(options: RecordOptions): RecordWriter {
  return async function* (survey, batches) {
    const channels = channelLabels(survey);
    const { labels, weights } = options;
    const cellsOf = (row: ExportRow) => {
      const cells = labels ? labelledCells(survey, row, channels) : recordCells(survey, row);
      if (weights) cells.push(weights.get(row.id)?.toString() ?? '');
      return cells;
    };
    let head = BOM + csvLines([recordHeader(survey, options)]);
    for await (const batch of batches) {
      yield* chunked(Buffer.from(head + csvLines(Array.from(rowsOf(batch), cellsOf))));
      head = '';
    }
    if (head) yield Buffer.from(head);
  };
}

/** The plain response record written with csv-stringify: codes, no weights (csv-bytes.ts writes the same bytes). */
export const recordCsv: RecordWriter = recordCsvWith({});

/** `bytes` in pieces of at most CHUNK_BYTES (views, not copies). */
function* chunked(bytes: Buffer): Generator<Buffer> {
  for (let at = 0; at < bytes.length; at += CHUNK_BYTES) yield bytes.subarray(at, at + CHUNK_BYTES);
}
