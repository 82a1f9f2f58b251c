import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { recordCsv } from './csv.ts';
import { responseBatches } from './read.ts';

/** The downloads an analyst can ask for: the response record (CSV) or the workbook (XLSX). */
export type ExportKind = 'csv' | 'xlsx';

/** One export: what to make, of which survey, under which filters. */
export interface ExportJob {
  kind: ExportKind;
  filters: Filters;
}

/** The survey's responses under the filters as the response record's CSV, read and written in this thread. */
export function responseRecordCsv(db: Kysely<Database>, survey: Survey, filters: Filters): Readable {
  return Readable.from(recordCsv(survey, responseBatches(db, survey, filters)), { objectMode: false });
}

/** Writes an export to `out` and ends it: the same bytes in a worker thread (see worker.ts) or in this one. */
export async function writeExport(db: Kysely<Database>, survey: Survey, job: ExportJob, out: Writable): Promise<void> {
  if (job.kind === 'csv') {
    await pipeline(responseRecordCsv(db, survey, job.filters), out);
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
