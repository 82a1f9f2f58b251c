import { Readable } from 'node:stream';
import { CsvError, parse } from 'csv-parse';
import type { ControlledTransaction, Kysely } from 'kysely';
import { channelCodes } from '../analysis/filters.ts';
import { retryRaces } from '../db/races.ts';
import type { Database } from '../db/schema.ts';
import { importedTokenHash } from '../responses/anonymity.ts';
import { insertResponses } from '../responses/repository.ts';
import { CountSheet, routeContribution } from '../rollups/index.ts';
import { parsePage, preferNotField } from '../survey/answers.ts';
import { CHECK_ANSWERS, type Survey } from '../survey/definition.ts';
import { type Answers, nextPageId, routeAnswers, type Values } from '../survey/journey.ts';
import { recordColumns } from './record.ts';

/** One reason a row cannot be imported: row 2 is the first row under the header, as a spreadsheet numbers it. */
export interface ImportProblem {
  row: number;
  column: string;
  message: string;
}

export type ImportResult =
  | { ok: true; imported: number; alreadyPresent: number }
  | { ok: false; problems: ImportProblem[]; problemCount: number };

interface ValidRow {
  id: string;
  status: 'complete' | 'partial';
  channel: string;
  startedAt: string;
  submittedAt: string | null;
  answers: Answers;
  values: Values;
}

/** The most problems listed back; the count says how many there were in all. */
const MAX_PROBLEMS_LISTED = 500;
const RESPONSE_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const INSTANT = /^\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?Z$/;

const channelLists = new WeakMap<Survey, { codes: ReadonlySet<string>; message: string }>();

/** The survey's channel codes as a set, and the message for any other: worked out once per survey. */
function channelsOf(survey: Survey): { codes: ReadonlySet<string>; message: string } {
  let channels = channelLists.get(survey);
  if (!channels) {
    const codes = channelCodes(survey);
    channels = { codes: new Set(codes), message: `must be one of ${codes.join(', ')}` };
    channelLists.set(survey, channels);
  }
  return channels;
}

/**
 * Checks one response record against the survey: codes, ticks, formats, and
 * that every answer lies on the route its own answers take. Rebuilds the
 * page-by-page answers the journey works on.
 */
export function validateRecord(
  survey: Survey,
  record: Record<string, string>,
  problem: (column: string, message: string) => void,
): ValidRow | null {
  let ok = true;
  const fail = (column: string, message: string) => {
    ok = false;
    problem(column, message);
  };
  const id = record.response_id ?? '';
  if (!RESPONSE_ID.test(id))
    fail('response_id', 'must be 1 to 64 letters, digits, - or _, starting with a letter or digit');
  const status = record.status;
  if (status !== 'complete' && status !== 'partial') fail('status', 'must be complete or partial');
  const channel = record.channel ?? '';
  const channels = channelsOf(survey);
  if (!channels.codes.has(channel)) fail('channel', channels.message);
  const startedAt = record.started_at ?? '';
  if (!INSTANT.test(startedAt) || Number.isNaN(Date.parse(startedAt)))
    fail('started_at', 'must be a UTC time like 2019-02-18T08:28:00Z');
  const submittedAt = record.submitted_at ?? '';
  if (status === 'complete' && (!INSTANT.test(submittedAt) || Number.isNaN(Date.parse(submittedAt))))
    fail('submitted_at', 'a complete response needs a UTC time like 2019-02-18T08:34:00Z');
  if (status === 'partial' && submittedAt) fail('submitted_at', 'must be empty for a partial response');

  // Walk the route the record's own answers take, parsing each page as if it had been posted.
  const answers: Answers = {};
  const values: Values = {};
  const used = new Set<string>();
  const route: string[] = [];
  let lastAnswered = -1;
  let pageId = survey.start;
  while (pageId !== CHECK_ANSWERS) {
    const page = survey.pageById.get(pageId);
    if (!page) break;
    const body: Record<string, string | string[]> = {};
    for (const q of page.questions) {
      const cell = record[q.id] ?? '';
      used.add(q.id);
      if (!cell) continue;
      if (q.type === 'multiple') body[q.id] = cell.split(';');
      else if (q.type === 'text' && cell === q.preferNotToSay?.code) body[preferNotField(q)] = cell;
      else body[q.id] = cell;
    }
    const parsed = parsePage(page, body, values);
    if (parsed.kind !== 'ok') {
      if (parsed.kind === 'invalid')
        for (const e of parsed.errors) fail(e.field, `${e.message} ("${record[e.field]}")`);
      else fail(page.questions[0]?.id ?? '', parsed.reason);
      return null;
    }
    answers[pageId] = parsed.answers;
    Object.assign(values, parsed.answers);
    route.push(pageId);
    if (Object.keys(parsed.answers).length) lastAnswered = route.length - 1;
    pageId = nextPageId(page, values);
  }
  // A partial response reached the last page it has an answer on, and no further.
  if (status === 'partial') for (const later of route.slice(lastAnswered + 1)) delete answers[later];
  for (const column of survey.questionIds) {
    if (record[column] && !used.has(column))
      fail(column, 'is answered but not on the route this response takes (its earlier answers lead elsewhere)');
  }
  if (!ok || (status !== 'complete' && status !== 'partial')) return null;
  // The journey must agree: it is what pages, storage and export use.
  const walked = routeAnswers(survey, answers);
  return {
    id,
    status,
    channel,
    startedAt,
    submittedAt: status === 'complete' ? submittedAt : null,
    answers: walked.answers,
    values: walked.values,
  };
}

/**
 * What to import: the file's bytes or text, or a way to open it as a stream
 * (opened again if the import has to run again, see retryRaces), so that a
 * file of any size is read a piece at a time.
 */
export type ImportSource = string | Buffer | (() => Readable);

/** Far more columns than a response record has: a wider header is refused before any row is read. */
export const MAX_COLUMNS = 1000;

/** The expected columns a header lacks, and the names in it that are unknown or repeated, each named once. */
function headerProblems(
  expected: readonly string[],
  header: readonly string[],
): { missing: string[]; unknown: Set<string>; repeated: Set<string> } {
  const wanted = new Set(expected);
  const seen = new Set<string>();
  const unknown = new Set<string>();
  const repeated = new Set<string>();
  for (const c of header) {
    if (!wanted.has(c)) unknown.add(c);
    if (seen.has(c)) repeated.add(c);
    seen.add(c);
  }
  return { missing: expected.filter((c) => !seen.has(c)), unknown, repeated };
}

/** Rows are checked, looked up and stored this many at a time. */
const CHUNK_ROWS = 10000;
/** Response ids looked up in one query. */
const LOOKUP_IDS = 1000;
/** A string or buffer is fed to the parser in pieces of this size, so its records do not pile up all at once. */
const PIECE_BYTES = 64 * 1024;

/**
 * Imports a CSV of response records. Every row is checked; any problem
 * refuses the whole file and stores nothing. A response_id already in the
 * database is left as it is, so importing the same file twice adds nothing.
 *
 * The file is read as a stream and stored as it is checked, a chunk of rows
 * at a time, inside one transaction that is rolled back if any row turns out
 * bad: memory stays flat however long the file. The transaction starts with
 * the first full chunk of good rows, so a small file, or one whose first rows
 * are bad, is checked before anything is locked.
 */
export async function importResponses(
  db: Kysely<Database>,
  survey: Survey,
  source: ImportSource,
  /** Rows stored at a time (tests make it small, to store a file in several chunks). */
  chunkRows = CHUNK_ROWS,
): Promise<ImportResult> {
  // Two imports of the same file at once on PostgreSQL: the loser runs again and finds the rows present.
  return retryRaces(() => importOnce(db, survey, source, chunkRows), { duplicates: true });
}

function openSource(source: ImportSource): Readable {
  if (typeof source === 'function') return source();
  const bytes = typeof source === 'string' ? Buffer.from(source) : source;
  return Readable.from(
    (function* () {
      for (let i = 0; i < bytes.length; i += PIECE_BYTES) yield bytes.subarray(i, i + PIECE_BYTES);
    })(),
  );
}

async function importOnce(
  db: Kysely<Database>,
  survey: Survey,
  source: ImportSource,
  chunkRows: number,
): Promise<ImportResult> {
  const problems: ImportProblem[] = [];
  let problemCount = 0;
  const report = (row: number, column: string, message: string) => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS_LISTED) problems.push({ row, column, message });
  };
  const refused = () => ({ ok: false as const, problems, problemCount });

  const input = openSource(source);
  const parser = parse({ bom: true, skip_empty_lines: true, relax_column_count: true });
  input.on('error', (err) => parser.destroy(err));
  input.pipe(parser);

  let trx: ControlledTransaction<Database> | undefined;
  // The counts of every response stored, written once before the commit.
  const counts = new CountSheet();
  /** Good rows not stored yet; none are kept once any row is bad. */
  let pending: (ValidRow & { row: number })[] = [];
  /** Rows whose response_id another survey already uses: a refusal, reported only if every row is good. */
  const taken: { row: number; other: string }[] = [];
  let imported = 0;
  let alreadyPresent = 0;

  /** Stores the pending rows (those not already present) in the import's transaction. */
  const store = async () => {
    const rows = pending;
    pending = [];
    if (!rows.length) return;
    trx ??= await db.startTransaction().execute();
    const existing = new Map<string, string>();
    for (let i = 0; i < rows.length; i += LOOKUP_IDS) {
      const ids = rows.slice(i, i + LOOKUP_IDS).map((r) => r.id);
      const found = await trx.selectFrom('responses').select(['id', 'survey']).where('id', 'in', ids).execute();
      for (const r of found) existing.set(r.id, r.survey);
    }
    for (const row of rows) {
      const other = existing.get(row.id);
      if (other !== undefined && other !== survey.slug) taken.push({ row: row.row, other });
    }
    alreadyPresent += existing.size;
    // Once the file is refused, what is stored is rolled back: only the lookups still matter.
    if (taken.length) return;
    const fresh = rows.filter((row) => !existing.has(row.id));
    imported += fresh.length;
    const items = fresh.map((row) => ({
      response: {
        id: row.id,
        survey: survey.slug,
        // No respondent cookie: a marker no token's hash can match (and the draft purge skips).
        draft_token_hash: importedTokenHash(row.id),
        status: row.status,
        channel: row.channel,
        started_at: row.startedAt,
        updated_at: row.submittedAt ?? row.startedAt,
        submitted_at: row.submittedAt,
        answers: JSON.stringify(row.answers),
        flag: null,
        survey_version: survey.version ?? null,
      },
      route: row,
    }));
    await insertResponses(trx, items);
    for (const { response, route } of items) {
      counts.record(null, routeContribution(survey, { ...response, flag: null }, route));
    }
  };

  try {
    const expected = recordColumns(survey);
    let header: string[] | undefined;
    const seen = new Map<string, number>();
    let rowNumber = 1;
    try {
      for await (const cells of parser as AsyncIterable<string[]>) {
        if (!header) {
          header = cells;
          if (header.length > MAX_COLUMNS) {
            report(
              1,
              '',
              `the header has ${header.length.toLocaleString('en-GB')} columns: a response record has ${expected.length}, and at most ${MAX_COLUMNS.toLocaleString('en-GB')} are read`,
            );
            return refused();
          }
          const { missing, unknown, repeated } = headerProblems(expected, header);
          for (const c of missing) report(1, c, 'column is missing from the header');
          for (const c of unknown) report(1, c, 'is not a column of the response record');
          for (const c of repeated) report(1, c, 'column appears twice');
          if (problemCount) return refused();
          continue;
        }
        rowNumber++;
        const at = rowNumber;
        if (cells.length !== header.length) {
          report(at, '', `has ${cells.length} cells but the header has ${header.length} columns`);
          continue;
        }
        const record: Record<string, string> = {};
        for (let k = 0; k < header.length; k++) record[header[k] as string] = cells[k] ?? '';
        const row = validateRecord(survey, record, (column, message) => report(at, column, message));
        const id = record.response_id ?? '';
        const first = seen.get(id);
        if (first !== undefined) report(at, 'response_id', `repeats the response_id of row ${first}`);
        else seen.set(id, at);
        if (problemCount) pending = [];
        else if (row) {
          pending.push({ ...row, row: at });
          if (pending.length >= chunkRows) await store();
        }
      }
    } catch (err) {
      if (!(err instanceof CsvError)) throw err;
      // Not CSV: that is the only problem reported, whatever was found before it.
      problems.length = 0;
      problemCount = 0;
      report((err as { lines?: number }).lines ?? 1, '', `the file is not valid CSV: ${err.message}`);
      return refused();
    }
    if (!header) {
      report(1, '', 'the file is empty');
      return refused();
    }
    if (problemCount) return refused();
    await store();
    for (const { row, other } of taken) report(row, 'response_id', `is already used by survey "${other}"`);
    if (problemCount) return refused();
    if (trx) {
      await counts.write(trx);
      await trx.commit().execute();
      trx = undefined;
    }
    return { ok: true, imported, alreadyPresent };
  } finally {
    input.destroy();
    parser.destroy();
    if (trx) await trx.rollback().execute();
  }
}
