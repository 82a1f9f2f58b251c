import { Readable } from 'node:stream';
import type { Kysely } from 'kysely';
import { type Filters, filteredResponseIds } from '../analysis/filters.ts';
import type { Database, ResponseRow } from '../db/schema.ts';
import { draftAnswers } from '../responses/drafts.ts';
import type { Survey } from '../survey/definition.ts';
import { routeAnswers, type Values } from '../survey/journey.ts';

/** The columns of the response record (csp-2019.md, "Response record"), in order. */
export function recordColumns(survey: Survey): string[] {
  return ['response_id', 'status', 'channel', 'started_at', 'submitted_at', ...survey.questionIds];
}

/** What an export reads of a response: the record's first columns and the stored answers. */
export type ExportRow = Pick<ResponseRow, 'id' | 'status' | 'channel' | 'started_at' | 'submitted_at' | 'answers'>;

/**
 * The values on a response's route. A complete response stores only its
 * route's answers, already tidied, so they are merged as they are; a draft
 * may also keep answers for later pages, so the journey picks its route.
 */
export function routeValues(survey: Survey, row: Pick<ResponseRow, 'status' | 'answers'>): Values {
  const answers = draftAnswers(row);
  if (row.status !== 'complete') return routeAnswers(survey, answers).values;
  const values: Values = {};
  for (const page of Object.values(answers)) Object.assign(values, page);
  return values;
}

/** The record's first columns: what the response is, before its answers. */
export function recordHead(row: ExportRow): Record<string, string> {
  return {
    response_id: row.id,
    status: row.status,
    channel: row.channel,
    started_at: row.started_at,
    submitted_at: row.submitted_at ?? '',
  };
}

/** Rows fetched at a time from PostgreSQL's cursor (SQLite steps through its rows one by one anyway). */
const STREAM_BATCH = 2000;

/**
 * The survey's responses under the filters, oldest first, streamed from the
 * database: only the columns an export needs, filtered in the one query.
 */
export function streamResponses(db: Kysely<Database>, survey: Survey, filters: Filters): AsyncIterable<ExportRow> {
  return filteredResponseIds(db, survey, filters)
    .clearSelect()
    .select([
      'responses.id',
      'responses.status',
      'responses.channel',
      'responses.started_at',
      'responses.submitted_at',
      'responses.answers',
    ])
    .orderBy('responses.started_at')
    .orderBy('responses.id')
    .stream(STREAM_BATCH);
}

/** Each question's column in a record (see recordColumns), and a blank record, worked out once per survey. */
const layouts = new WeakMap<Survey, { columns: Map<string, number>; blank: string[] }>();
function layoutOf(survey: Survey) {
  let layout = layouts.get(survey);
  if (!layout) {
    const ids = recordColumns(survey);
    layout = { columns: new Map(ids.map((id, i) => [id, i])), blank: ids.map(() => '') };
    layouts.set(survey, layout);
  }
  return layout;
}

/**
 * One response as a record's cells, in recordColumns order: codes,
 * multi-choice joined with `;` in the order stored (codebook order), blanks
 * empty. A complete response's answers are read straight from their JSON
 * text; a draft (and any text that is not plain) goes through routeValues.
 */
export function recordCells(survey: Survey, row: ExportRow): string[] {
  const { columns, blank } = layoutOf(survey);
  const cells = blank.slice();
  cells[0] = row.id;
  cells[1] = row.status;
  cells[2] = row.channel;
  cells[3] = row.started_at;
  cells[4] = row.submitted_at ?? '';
  if (row.status === 'complete' && readStoredAnswers(row.answers, columns, cells)) return cells;
  for (let i = 5; i < cells.length; i++) cells[i] = '';
  const values = routeValues(survey, row);
  for (const [id, value] of Object.entries(values)) {
    const at = columns.get(id);
    if (at !== undefined && at >= 5) cells[at] = Array.isArray(value) ? value.join(';') : value;
  }
  return cells;
}

const QUOTE = 34;
const COLON = 58;
const COMMA = 44;
const OPEN_BRACE = 123;
const CLOSE_BRACE = 125;
const OPEN_BRACKET = 91;
const CLOSE_BRACKET = 93;

/**
 * Reads a complete response's stored answers (JSON of page → question →
 * code or codes, as JSON.stringify wrote it) into the cells, the later page
 * winning as Object.assign would: the same values as routeValues, without
 * building the objects. Gives up (false, cells half-written) on anything but
 * that plain shape: whitespace, an escape, a number; the caller then parses.
 */
function readStoredAnswers(text: string, columns: Map<string, number>, cells: string[]): boolean {
  const end = text.length;
  if (text.charCodeAt(0) !== OPEN_BRACE || text.indexOf('\\') !== -1) return false;
  let i = 1;
  if (text.charCodeAt(i) === CLOSE_BRACE) return end === 2;
  for (;;) {
    // "page":{
    if (text.charCodeAt(i) !== QUOTE) return false;
    let close = text.indexOf('"', i + 1);
    if (close < 0 || text.charCodeAt(close + 1) !== COLON || text.charCodeAt(close + 2) !== OPEN_BRACE) return false;
    i = close + 3;
    if (text.charCodeAt(i) === CLOSE_BRACE) i++;
    else {
      for (;;) {
        // "question":"code" or "question":["code",…]
        if (text.charCodeAt(i) !== QUOTE) return false;
        close = text.indexOf('"', i + 1);
        if (close < 0 || text.charCodeAt(close + 1) !== COLON) return false;
        const column = columns.get(text.slice(i + 1, close));
        i = close + 2;
        let value: string;
        if (text.charCodeAt(i) === QUOTE) {
          close = text.indexOf('"', i + 1);
          if (close < 0) return false;
          value = text.slice(i + 1, close);
          i = close + 1;
        } else if (text.charCodeAt(i) === OPEN_BRACKET) {
          value = '';
          i++;
          if (text.charCodeAt(i) === CLOSE_BRACKET) i++;
          else {
            for (let first = true; ; first = false) {
              if (text.charCodeAt(i) !== QUOTE) return false;
              close = text.indexOf('"', i + 1);
              if (close < 0) return false;
              value = first ? text.slice(i + 1, close) : `${value};${text.slice(i + 1, close)}`;
              i = close + 1;
              const next = text.charCodeAt(i++);
              if (next === CLOSE_BRACKET) break;
              if (next !== COMMA) return false;
            }
          }
        } else return false;
        // Only the survey's questions are columns; the head's names are not questions.
        if (column !== undefined && column >= 5) cells[column] = value;
        const next = text.charCodeAt(i++);
        if (next === CLOSE_BRACE) break;
        if (next !== COMMA) return false;
      }
    }
    const next = text.charCodeAt(i++);
    if (next === CLOSE_BRACE) return i === end;
    if (next !== COMMA) return false;
  }
}

/**
 * A cell as a spreadsheet may safely read it: text starting with = + - @, tab
 * or carriage return would be run as a formula by Excel, so it gets a leading
 * apostrophe (OWASP's advice for CSV injection).
 */
export function neutralise(cell: string): string {
  switch (cell.charCodeAt(0)) {
    case 61: // =
    case 43: // +
    case 45: // -
    case 64: // @
    case 9: // tab
    case 13: // carriage return
      return `'${cell}`;
    default:
      return cell;
  }
}

const NEEDS_QUOTES = /[",\n\r]/;

/** One CSV field, neutralised, quoted when it holds a comma, quote or line break (as csv-stringify does). */
export function csvCell(cell: string): string {
  if (cell === '') return cell;
  const safe = neutralise(cell);
  return NEEDS_QUOTES.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

/** One CSV line, `\n`-terminated. */
export function csvLine(cells: readonly string[]): string {
  let line = csvCell(cells[0] ?? '');
  for (let i = 1; i < cells.length; i++) line += `,${csvCell(cells[i] as string)}`;
  return `${line}\n`;
}

/** The byte order mark that tells Excel a CSV file is UTF-8. */
export const BOM = '\uFEFF';

/** How much CSV text is gathered into each chunk written: one write, not thousands. */
export const CHUNK_CHARS = 64 * 1024;

/**
 * The survey's responses under the filters as CSV, UTF-8 with a byte order
 * mark, in chunks of about 64 KB, read from the database as they are written
 * so memory does not grow with the number of responses. The first chunk
 * comes once the first responses have been read.
 */
export async function* responseRecordChunks(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  chunkChars = CHUNK_CHARS,
): AsyncGenerator<Buffer> {
  let text = BOM + csvLine(recordColumns(survey));
  for await (const row of streamResponses(db, survey, filters)) {
    text += csvLine(recordCells(survey, row));
    if (text.length >= chunkChars) {
      yield Buffer.from(text);
      text = '';
    }
  }
  if (text) yield Buffer.from(text);
}

/** responseRecordChunks as a stream (the command line's export, and tests). */
export function responseRecordCsv(db: Kysely<Database>, survey: Survey, filters: Filters): Readable {
  return Readable.from(responseRecordChunks(db, survey, filters), { objectMode: false });
}
