import { Readable, Transform } from 'node:stream';
import { stringify } from 'csv-stringify';
import type { Kysely } from 'kysely';
import { type Filters, filteredResponseIds } from '../analysis/filters.ts';
import type { Database, ResponseRow } from '../db/schema.ts';
import { draftAnswers } from '../responses/drafts.ts';
import type { Survey } from '../survey/definition.ts';
import { journey, type Values } from '../survey/journey.ts';

/** The columns of the response record (csp-2019.md, "Response record"), in order. */
export function recordColumns(survey: Survey): string[] {
  return ['response_id', 'status', 'channel', 'started_at', 'submitted_at', ...survey.questionIds];
}

/**
 * The values on a response's route. A complete response stores only its
 * route's answers, already tidied, so they are merged as they are; a draft
 * may also keep answers for later pages, so the journey picks its route.
 */
export function routeValues(survey: Survey, row: Pick<ResponseRow, 'status' | 'answers'>): Values {
  const answers = draftAnswers(row);
  if (row.status !== 'complete') return journey(survey, answers).values;
  const values: Values = {};
  for (const page of Object.values(answers)) Object.assign(values, page);
  return values;
}

/** The record's first columns: what the response is, before its answers. */
export function recordHead(row: ResponseRow): Record<string, string> {
  return {
    response_id: row.id,
    status: row.status,
    channel: row.channel,
    started_at: row.started_at,
    submitted_at: row.submitted_at ?? '',
  };
}

/** The survey's responses under the filters, oldest first, streamed from the database in batches. */
export function streamResponses(db: Kysely<Database>, survey: Survey, filters: Filters) {
  return db
    .selectFrom('responses')
    .selectAll()
    .where('id', 'in', filteredResponseIds(db, survey, filters))
    .orderBy('started_at')
    .orderBy('id')
    .stream(500);
}

/** One response as a record: codes, multi-choice joined with `;` in codebook order, blanks empty. */
export function toRecord(survey: Survey, row: ResponseRow): Record<string, string> {
  const values = routeValues(survey, row);
  const record = recordHead(row);
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
  const rows = streamResponses(db, survey, filters);
  const columns = recordColumns(survey);
  const records = Readable.from(
    (async function* () {
      for await (const row of rows) yield toRecord(survey, row);
    })(),
  );
  return records.pipe(stringify({ header: true, columns, bom: true, cast: { string: neutralise } })).pipe(inChunks());
}

/** Gathers small writes (a CSV line each) into chunks of about 64 KB: one write, not thousands. */
export function inChunks(size = 64 * 1024): Transform {
  let parts: Buffer[] = [];
  let length = 0;
  return new Transform({
    transform(chunk: Buffer | string, _encoding, done) {
      const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
      parts.push(buffer);
      length += buffer.length;
      if (length >= size) {
        this.push(Buffer.concat(parts, length));
        parts = [];
        length = 0;
      }
      done();
    },
    flush(done) {
      if (length) this.push(Buffer.concat(parts, length));
      done();
    },
  });
}
