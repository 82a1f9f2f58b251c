import { parse } from 'csv-parse/sync';
import type { Kysely } from 'kysely';
import { channelCodes } from '../analysis/filters.ts';
import { retryRaces } from '../db/races.ts';
import type { Database } from '../db/schema.ts';
import { importedTokenHash, insertResponses } from '../responses/drafts.ts';
import { parsePage, preferNotField } from '../survey/answers.ts';
import { CHECK_ANSWERS, type Survey } from '../survey/definition.ts';
import { type Answers, journey, nextPageId, type Values } from '../survey/journey.ts';
import { recordColumns } from './response-record.ts';

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
  if (!channelCodes(survey).includes(channel)) fail('channel', `must be one of ${channelCodes(survey).join(', ')}`);
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
  const walked = journey(survey, answers);
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
 * Imports a CSV of response records. Every row is checked first; any problem
 * refuses the whole file and stores nothing. A response_id already in the
 * database is left as it is, so importing the same file twice adds nothing.
 */
export async function importResponses(
  db: Kysely<Database>,
  survey: Survey,
  csv: string | Buffer,
): Promise<ImportResult> {
  const problems: ImportProblem[] = [];
  let problemCount = 0;
  const report = (row: number, column: string, message: string) => {
    problemCount++;
    if (problems.length < MAX_PROBLEMS_LISTED) problems.push({ row, column, message });
  };

  let records: string[][];
  try {
    records = parse(csv, { bom: true, skip_empty_lines: true, relax_column_count: true }) as string[][];
  } catch (err) {
    const line = (err as { lines?: number }).lines;
    report(line ?? 1, '', `the file is not valid CSV: ${(err as Error).message}`);
    return { ok: false, problems, problemCount };
  }
  const [header, ...rows] = records;
  const expected = recordColumns(survey);
  if (!header) {
    report(1, '', 'the file is empty');
    return { ok: false, problems, problemCount };
  }
  const missing = expected.filter((c) => !header.includes(c));
  const unknown = header.filter((c) => !expected.includes(c));
  const repeated = header.filter((c, i) => header.indexOf(c) !== i);
  for (const c of missing) report(1, c, 'column is missing from the header');
  for (const c of unknown) report(1, c, 'is not a column of the response record');
  for (const c of repeated) report(1, c, 'column appears twice');
  if (problemCount) return { ok: false, problems, problemCount };

  const valid: ValidRow[] = [];
  const seen = new Map<string, number>();
  rows.forEach((cells, i) => {
    const rowNumber = i + 2;
    if (cells.length !== header.length) {
      report(rowNumber, '', `has ${cells.length} cells but the header has ${header.length} columns`);
      return;
    }
    const record = Object.fromEntries(header.map((c, k) => [c, cells[k] ?? '']));
    const row = validateRecord(survey, record, (column, message) => report(rowNumber, column, message));
    const id = record.response_id ?? '';
    const first = seen.get(id);
    if (first !== undefined) report(rowNumber, 'response_id', `repeats the response_id of row ${first}`);
    else seen.set(id, rowNumber);
    if (row) valid.push(row);
  });
  if (problemCount) return { ok: false, problems, problemCount };

  // Two imports of the same file at once on PostgreSQL: the loser runs again and finds the rows present.
  return retryRaces(
    () =>
      db.transaction().execute(async (trx) => {
        const existing = new Map<string, string>();
        for (let i = 0; i < valid.length; i += 500) {
          const chunk = valid.slice(i, i + 500).map((r) => r.id);
          const found = await trx.selectFrom('responses').select(['id', 'survey']).where('id', 'in', chunk).execute();
          for (const r of found) existing.set(r.id, r.survey);
        }
        for (const [id, other] of existing) {
          if (other !== survey.slug) report(seen.get(id) ?? 0, 'response_id', `is already used by survey "${other}"`);
        }
        if (problemCount) return { ok: false as const, problems, problemCount };
        const fresh = valid.filter((row) => !existing.has(row.id));
        await insertResponses(
          trx,
          survey,
          fresh.map((row) => ({
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
            },
            route: row,
          })),
        );
        const imported = fresh.length;
        return { ok: true as const, imported, alreadyPresent: existing.size };
      }),
    { duplicates: true },
  );
}
