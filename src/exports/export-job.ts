import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Kysely } from 'kysely';
import type { Filters } from '../analysis/filters.ts';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { responseRecordChunks } from './response-record.ts';

/** The downloads an analyst can ask for: the response record (CSV) or the workbook (XLSX). */
export type ExportKind = 'csv' | 'xlsx';

/** One export: what to make, of which survey, under which filters. */
export interface ExportJob {
  kind: ExportKind;
  filters: Filters;
}

/**
 * Writes an export to `out` and ends it: the same bytes whether it runs in a
 * worker thread (see export-worker.ts) or in this thread.
 */
export async function writeExport(db: Kysely<Database>, survey: Survey, job: ExportJob, out: Writable): Promise<void> {
  if (job.kind === 'csv') {
    await pipeline(Readable.from(responseRecordChunks(db, survey, job.filters)), out);
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

/** An error as it crosses between threads: what the error page needs, and the stack for the log. */
export interface SentError {
  name: string;
  message: string;
  code?: string;
  stack?: string;
}

export function sendableError(error: unknown): SentError {
  const e = (error ?? {}) as { name?: unknown; message?: unknown; code?: unknown; stack?: unknown };
  return {
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(error),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.stack === 'string' ? { stack: e.stack } : {}),
  };
}

/** The error again on this side, with the same name, message and code, so the error pages treat it the same. */
export function receivedError(sent: SentError): Error {
  const error = Object.assign(new Error(sent.message), { name: sent.name }, sent.code ? { code: sent.code } : {});
  if (sent.stack) error.stack = sent.stack;
  return error;
}
