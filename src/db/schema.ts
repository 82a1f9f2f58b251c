import type { Insertable, Selectable, Updateable } from 'kysely';

/** A response: a draft while the respondent answers (status `partial`), then `complete`. */
export interface ResponsesTable {
  /** The response_id of the response record (a random UUID). */
  id: string;
  survey: string;
  /** SHA-256 of the random token in the respondent's cookie; the token itself is never stored. */
  draft_token_hash: string;
  status: 'partial' | 'complete';
  channel: string;
  /** ISO 8601 UTC instants, minute precision, so timings cannot single anyone out. */
  started_at: string;
  updated_at: string;
  submitted_at: string | null;
  /** JSON of the answers on the route, by page id then question id (see survey/journey.ts). */
  answers: string;
}

/**
 * The answers on a response's route, one row per code (a multi-choice answer
 * has a row per ticked box): what the analysis counts with plain GROUP BYs.
 */
export interface ResponseValuesTable {
  response_id: string;
  question_id: string;
  value: string;
}

export interface Database {
  responses: ResponsesTable;
  response_values: ResponseValuesTable;
}

export type ResponseRow = Selectable<ResponsesTable>;
export type NewResponse = Insertable<ResponsesTable>;
export type ResponseUpdate = Updateable<ResponsesTable>;
