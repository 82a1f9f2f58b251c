import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Kysely } from 'kysely';
import type { Database, ResponseRow } from '../db/schema.ts';
import { draftAnswers } from '../responses/drafts.ts';
import type { Survey } from '../survey/definition.ts';
import { journey } from '../survey/journey.ts';

export type StatusFilter = 'complete' | 'partial' | 'all';

/** The columns of the response record (csp-2019.md, "Response record"), in order. */
export function recordColumns(survey: Survey): string[] {
  return ['response_id', 'status', 'channel', 'started_at', 'submitted_at', ...survey.questionIds];
}

/** One response as a record: codes, multi-choice joined with `;` in codebook order, blanks empty. */
export function toRecord(survey: Survey, row: ResponseRow): Record<string, string> {
  const { values } = journey(survey, draftAnswers(row));
  const record: Record<string, string> = {
    response_id: row.id,
    status: row.status,
    channel: row.channel,
    started_at: row.started_at,
    submitted_at: row.submitted_at ?? '',
  };
  for (const id of survey.questionIds) {
    const value = values[id];
    record[id] = value === undefined ? '' : Array.isArray(value) ? value.join(';') : value;
  }
  return record;
}

/** The survey's responses as CSV, streamed row by row from the database. */
export function responseRecordCsv(db: Kysely<Database>, survey: Survey, status: StatusFilter): Readable {
  let query = db.selectFrom('responses').selectAll().where('survey', '=', survey.slug);
  if (status !== 'all') query = query.where('status', '=', status);
  const rows = query.orderBy('started_at').orderBy('id').stream(500);
  const columns = recordColumns(survey);
  const records = Readable.from(
    (async function* () {
      for await (const row of rows) yield toRecord(survey, row);
    })(),
  );
  return records.pipe(stringify({ header: true, columns, eof: true }));
}
