import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import type { Connection } from '../db/open.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { EXPORT_CACHE_KIB, type ExportSource, responseRecordChunks } from './response-record.ts';

/** The downloads an analyst can ask for: the response record (CSV) or the workbook (XLSX). */
export type ExportKind = 'csv' | 'xlsx';

/** One export: what to make, of which survey, under which filters. */
export interface ExportJob {
  kind: ExportKind;
  filters: Filters;
}

/**
 * Sets up a connection opened only to make exports (see EXPORT_CACHE_KIB),
 * and says where a CSV made on it may read its rows: on SQLite, the file,
 * for a reader thread of its own (see responseRecordChunks).
 */
export function ownExportConnection(connection: Connection): ExportSource {
  if (connection.engine !== 'sqlite') return {};
  connection.sqlite.pragma(`cache_size = -${EXPORT_CACHE_KIB}`);
  return { sqlitePath: connection.path, cacheKib: EXPORT_CACHE_KIB };
}

/**
 * Writes an export to `out` and ends it: the same bytes whether it runs in a
 * worker thread (see export-worker.ts) or in this thread, and wherever it
 * reads from (`source`, see ownExportConnection).
 */
export async function writeExport(
  db: Kysely<Database>,
  survey: Survey,
  job: ExportJob,
  out: Writable,
  source: ExportSource = {},
): Promise<void> {
  if (job.kind === 'csv') {
    await pipeline(Readable.from(responseRecordChunks(db, survey, job.filters, source)), out);
    return;
  }
  // Loaded only for a workbook: exceljs is large, and a worker making a CSV starts sooner without it.
  const [{ buildReport }, { writeWorkbook }] = await Promise.all([
    import('../analysis/report.ts'),
    import('./workbook.ts'),
  ]);
  await writeWorkbook(db, survey, job.filters, await buildReport(db, survey, job.filters), out);
  if (!out.writableEnded) out.end();
}

/** What a worker needs to rebuild the survey: its definition without the lookups defineSurvey adds. */
export function surveyDefinition(survey: Survey): unknown {
  const { pageById, questionIds, questionsById, reachableFrom, ...definition } = survey;
  return definition;
}

export { receivedError, type SentError, sendableError } from './thread-errors.ts';
