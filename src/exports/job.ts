import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import type { WeightSettings } from '../analysis/weighting.ts';
import type { Connection } from '../db/open.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { documentOf } from '../survey/document.ts';
import { type RecordOptions, type RecordWriter, recordCsvWith } from './csv.ts';
import { byteRecordCsv } from './csv-bytes.ts';
import { type ReadOptions, responseBatches } from './read.ts';

/** The downloads an analyst can ask for: the response record (CSV) or the workbook (XLSX). */
export type ExportKind = 'csv' | 'xlsx';

/** One export: what to make, of which survey, under which filters. */
export interface ExportJob {
  kind: ExportKind;
  filters: Filters;
  /** The CSV with labels instead of codes. */
  labels?: boolean;
  /** A weighting: the responses get a weight column, the workbook a Weighting sheet; refused, no export. */
  weight?: WeightSettings;
}

/**
 * SQLite's page cache, in KiB, for a connection opened only to make exports:
 * an export reads the responses once, and SQLite sorts them in runs the size
 * of this cache; smaller runs sort faster and keep the process smaller
 * (bench/RESULTS.md).
 */
export const EXPORT_CACHE_KIB = 4000;

/**
 * Sets up a connection opened only to make exports (see EXPORT_CACHE_KIB)
 * and says where a CSV made on it reads its rows: on SQLite, the file, by a
 * thread of their own (see responseBatches).
 */
export function ownExportConnection(connection: Connection): ReadOptions['sqlite'] {
  if (connection.engine !== 'sqlite') return undefined;
  connection.sqlite.pragma(`cache_size = -${EXPORT_CACHE_KIB}`);
  return { file: connection.path, cacheKib: EXPORT_CACHE_KIB };
}

/** The response record's writer: the hand-tuned one, as the plain recordCsv misses the 1M target (bench/RESULTS.md). */
const writeRecord: RecordWriter = byteRecordCsv;

/**
 * The survey's responses under the filters as the response record's CSV,
 * streamed as it is read; `sqlite` as for responseBatches. With labels or
 * weights, csv-stringify writes it (recordCsvWith): only the plain record
 * has the hand-tuned writer.
 */
export function responseRecordCsv(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  sqlite?: ReadOptions['sqlite'],
  options: RecordOptions = {},
): Readable {
  const write = options.labels || options.weights ? recordCsvWith(options) : writeRecord;
  return Readable.from(write(survey, responseBatches(db, survey, filters, { sqlite })), { objectMode: false });
}

/**
 * Writes an export to `out` and ends it: the same bytes in a worker thread
 * (see worker.ts) or in this one, and wherever the rows are read (`sqlite`).
 */
export async function writeExport(
  db: Kysely<Database>,
  survey: Survey,
  job: ExportJob,
  out: Writable,
  sqlite?: ReadOptions['sqlite'],
): Promise<void> {
  // Loaded only when asked for: the weighting needs every response in memory (the response matrix).
  const weights = job.weight ? await import('./weights.ts') : undefined;
  const weighting = job.weight && (await weights?.exportWeighting(db, survey, job.filters, job.weight));
  if (job.kind === 'csv') {
    const options = {
      ...(job.labels ? { labels: true } : {}),
      ...(weighting && weights ? { weights: weights.weightsById(weighting) } : {}),
    };
    await pipeline(responseRecordCsv(db, survey, job.filters, sqlite, options), out);
    return;
  }
  // Loaded only for a workbook: exceljs is large, and a worker making a CSV starts sooner without it.
  const [{ buildReport }, { writeWorkbook }] = await Promise.all([
    import('../analysis/report.ts'),
    import('./workbook.ts'),
  ]);
  const report = await buildReport(db, survey, job.filters);
  await writeWorkbook(db, survey, job.filters, report, out, weighting ? { weighting } : {});
  if (!out.writableEnded) out.end();
}

/** What a worker needs to rebuild the survey: its document, without the lookups and stored version. */
export function surveyDefinition(survey: Survey): unknown {
  return documentOf(survey);
}
