import type { ResponseRow } from '../db/schema.ts';
import { storedAnswers } from '../responses/stored-journey.ts';
import { optionsOf, type Question, type Survey } from '../survey/definition.ts';
import { type Answers, routeAnswers, type Values } from '../survey/journey.ts';

/** The columns of the response record (csp-2019.md, "Response record"), in order. */
export function recordColumns(survey: Survey): string[] {
  return ['response_id', 'status', 'channel', 'started_at', 'submitted_at', ...survey.questionIds];
}

/** What an export reads of a response: the record's first columns and the stored answers. */
export type ExportRow = Pick<ResponseRow, 'id' | 'status' | 'channel' | 'started_at' | 'submitted_at' | 'answers'>;

/**
 * The answers on a response's route, by page. A complete response stores
 * only its route's answers, already tidied; a draft may also keep answers
 * for later pages, so the journey picks its route.
 */
function routeStored(survey: Survey, row: Pick<ResponseRow, 'status' | 'answers'>): Answers {
  const stored = storedAnswers(row.answers);
  return row.status === 'complete' ? stored : routeAnswers(survey, stored).answers;
}

/** The values on a response's route, a later page winning where two give the same question. */
function routeValues(survey: Survey, row: Pick<ResponseRow, 'status' | 'answers'>): Values {
  const answers = storedAnswers(row.answers);
  if (row.status !== 'complete') return routeAnswers(survey, answers).values;
  const values: Values = {};
  for (const page of Object.values(answers)) Object.assign(values, page);
  return values;
}

/** Columns before the answers: response_id, status, channel, started_at, submitted_at. */
const HEAD = 5;

/** Each question's column in the record, worked out once per survey. */
const layouts = new WeakMap<Survey, ReadonlyMap<string, number>>();
function columnsOf(survey: Survey): ReadonlyMap<string, number> {
  let columns = layouts.get(survey);
  if (!columns) {
    columns = new Map(recordColumns(survey).map((id, i) => [id, i]));
    layouts.set(survey, columns);
  }
  return columns;
}

/**
 * One response as the record's cells, in recordColumns order: codes,
 * multi-choice joined with `;` in the order stored (codebook order), blanks
 * empty.
 */
export function recordCells(survey: Survey, row: ExportRow): string[] {
  const columns = columnsOf(survey);
  const cells = new Array<string>(columns.size).fill('');
  cells[0] = row.id;
  cells[1] = row.status;
  cells[2] = row.channel;
  cells[3] = row.started_at;
  cells[4] = row.submitted_at ?? '';
  for (const [id, value] of Object.entries(routeValues(survey, row))) {
    const at = columns.get(id);
    // Only the survey's questions are columns: a stored name that matches a head column is not one.
    if (at !== undefined && at >= HEAD) cells[at] = Array.isArray(value) ? value.join(';') : value;
  }
  return cells;
}

/** Each question's labels by code, worked out once (a code's label can differ between categories). */
const labelMaps = new WeakMap<Question, Map<string, string>>();
function labelsOf(question: Question): Map<string, string> {
  let labels = labelMaps.get(question);
  if (!labels) {
    labels = new Map(optionsOf(question).map((o) => [o.code, o.label]));
    labelMaps.set(question, labels);
  }
  return labels;
}

/** An answer on a response's route, with the question it answers on the page it was given on. */
export interface GivenAnswer {
  question: Question;
  value: string | string[];
}

/** Each answer on a response's route, page by page (a later page's answer to the same question after). */
export function* givenAnswers(survey: Survey, row: Pick<ResponseRow, 'status' | 'answers'>): Generator<GivenAnswer> {
  for (const [pageId, given] of Object.entries(routeStored(survey, row))) {
    for (const question of survey.pageById.get(pageId)?.questions ?? []) {
      const value = given[question.id];
      if (value !== undefined) yield { question, value };
    }
  }
}

/** An answer as its labels (a multi-choice one joined with `; `), from the page it was given on. */
export function answerLabels({ question, value }: GivenAnswer): string {
  const labels = labelsOf(question);
  return Array.isArray(value) ? value.map((v) => labels.get(v) ?? v).join('; ') : (labels.get(value) ?? value);
}

/**
 * One response as the record's cells with labels instead of codes (the
 * channel too), in recordColumns order: what `responses.csv?labels=yes` writes.
 */
export function labelledCells(survey: Survey, row: ExportRow, channels: ReadonlyMap<string, string>): string[] {
  const columns = columnsOf(survey);
  const cells = new Array<string>(columns.size).fill('');
  cells[0] = row.id;
  cells[1] = row.status;
  cells[2] = channels.get(row.channel) ?? row.channel;
  cells[3] = row.started_at;
  cells[4] = row.submitted_at ?? '';
  for (const answer of givenAnswers(survey, row)) {
    const at = columns.get(answer.question.id);
    if (at !== undefined && at >= HEAD) cells[at] = answerLabels(answer);
  }
  return cells;
}
