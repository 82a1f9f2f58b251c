import { Readable } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Kysely } from 'kysely';
import { type Filters, filteredResponseIds } from '../analysis/filters.ts';
import type { Database, ResponseRow } from '../db/schema.ts';
import { draftAnswers } from '../responses/drafts.ts';
import type { Survey } from '../survey/definition.ts';
import { journey } from '../survey/journey.ts';

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

/**
 * A cell as a spreadsheet may safely read it: text starting with = + - @, tab
 * or carriage return would be run as a formula by Excel, so it gets a leading
 * apostrophe (OWASP's advice for CSV injection).
 */
export function neutralise(cell: string): string {
  return /^[=+\-@\t\r]/.test(cell) ? `'${cell}` : cell;
}

/**
 * The survey's responses under the filters as CSV, UTF-8 with a byte order
 * mark (so Excel reads it as UTF-8), streamed row by row from the database so
 * memory does not grow with the number of responses.
 */
export function responseRecordCsv(db: Kysely<Database>, survey: Survey, filters: Filters): Readable {
  const rows = db
    .selectFrom('responses')
    .selectAll()
    .where('id', 'in', filteredResponseIds(db, survey, filters))
    .orderBy('started_at')
    .orderBy('id')
    .stream(500);
  const columns = recordColumns(survey);
  const records = Readable.from(
    (async function* () {
      for await (const row of rows) yield toRecord(survey, row);
    })(),
  );
  return records.pipe(stringify({ header: true, columns, bom: true, cast: { string: neutralise } }));
}
