import type { Kysely, Transaction } from 'kysely';
import { reusable } from '../db/reusable.ts';
import type { Database, NewResponse, ResponseFlag, ResponseRow } from '../db/schema.ts';
import type { Answers, Values } from '../survey/journey.ts';

// The SQL of responses: a row per response, its route's values (one row per
// code) and the pages it submitted. The queries of every page a respondent
// fetches or saves are compiled once (see reusable).

type Db = Kysely<Database> | Transaction<Database>;

/** What a response's route holds: its answers by page, and its values by question. */
export interface Route {
  answers: Answers;
  values: Values;
}

export const NO_ROUTE: Route = Object.freeze({ answers: {}, values: {} });

/** The columns a save changes. */
export type ResponseChange = Pick<ResponseRow, 'answers' | 'flag' | 'updated_at'> & Partial<ResponseRow>;

const byToken = reusable((db: Kysely<Database>, survey: string, tokenHash: string) =>
  db.selectFrom('responses').selectAll().where('survey', '=', survey).where('draft_token_hash', '=', tokenHash),
);
const insert = reusable((db: Kysely<Database>, row: ResponseRow) => db.insertInto('responses').values(row));
const take = reusable((db: Kysely<Database>, id: string, at: string) =>
  db
    .updateTable('responses')
    .set({ updated_at: at })
    .where('id', '=', id)
    .where('status', '=', 'partial')
    .returningAll(),
);
const updateIfAsRead = reusable(
  (db: Kysely<Database>, id: string, answers: string, flag: ResponseFlag | null, set: ResponseChange) =>
    db
      .updateTable('responses')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', 'partial')
      .where('answers', '=', answers)
      .where('flag', 'is not distinct from', flag),
);
const update = reusable((db: Kysely<Database>, id: string, set: ResponseChange) =>
  db.updateTable('responses').set(set).where('id', '=', id),
);
const deleteValues = reusable((db: Kysely<Database>, id: string, questions: string[]) =>
  db.deleteFrom('response_values').where('response_id', '=', id).where('question_id', 'in', questions),
);
const insertValues = reusable(
  (db: Kysely<Database>, rows: { response_id: string; question_id: string; value: string }[]) =>
    db.insertInto('response_values').values(rows),
);
const deletePages = reusable((db: Kysely<Database>, id: string, pages: string[]) =>
  db.deleteFrom('response_pages').where('response_id', '=', id).where('page_id', 'in', pages),
);
const insertPages = reusable((db: Kysely<Database>, rows: { response_id: string; page_id: string }[]) =>
  db.insertInto('response_pages').values(rows),
);

/** The survey's response whose draft token hashes to `tokenHash`. */
export async function findByToken(db: Db, survey: string, tokenHash: string): Promise<ResponseRow | undefined> {
  return (await byToken(db, survey, tokenHash)).rows[0];
}

export async function insertResponse(trx: Db, row: ResponseRow): Promise<void> {
  await insert(trx, row);
}

/**
 * Marks a draft changed now and returns its row as it was, or undefined if it
 * is no longer a draft. The update comes first so that it locks the row: on
 * PostgreSQL a second request for the same draft waits here until this
 * transaction commits, then reads what it wrote.
 */
export async function takeDraft(trx: Db, id: string, at: string): Promise<ResponseRow | undefined> {
  return (await take(trx, id, at)).rows[0];
}

/**
 * Changes a draft only if it is still exactly as `read` (nobody saved it in
 * between): one statement instead of takeDraft's two. The condition is checked
 * by the UPDATE that takes the row's lock. Returns whether it changed.
 */
export async function updateDraftIfAsRead(trx: Db, read: ResponseRow, set: ResponseChange): Promise<boolean> {
  const result = await updateIfAsRead(trx, read.id, read.answers, read.flag, set);
  return result.numAffectedRows === 1n;
}

export async function updateResponse(trx: Db, id: string, set: ResponseChange): Promise<void> {
  await update(trx, id, set);
}

/** Rewrites a response's route rows from `was` to `now`: only the questions and pages that changed. */
export async function writeRoute(trx: Db, id: string, was: Route, now: Route): Promise<void> {
  const changed = [...new Set([...Object.keys(was.values), ...Object.keys(now.values)])].filter(
    (q) => !sameValue(was.values[q], now.values[q]),
  );
  const gone = changed.filter((q) => was.values[q] !== undefined);
  if (gone.length) await deleteValues(trx, id, gone);
  const values = changed.flatMap((question_id) =>
    codesOf(now.values[question_id]).map((value) => ({ response_id: id, question_id, value })),
  );
  if (values.length) await insertValues(trx, values);
  const gonePages = Object.keys(was.answers).filter((page) => !(page in now.answers));
  if (gonePages.length) await deletePages(trx, id, gonePages);
  const pages = Object.keys(now.answers)
    .filter((page) => !(page in was.answers))
    .map((page_id) => ({ response_id: id, page_id }));
  if (pages.length) await insertPages(trx, pages);
}

function codesOf(value: Values[string] | undefined): string[] {
  return value === undefined ? [] : Array.isArray(value) ? value : [value];
}

function sameValue(a: Values[string] | undefined, b: Values[string] | undefined): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/**
 * Inserts new responses in bulk (an import) with their route rows, in key
 * order and large batches, so a file of 100,000 responses is a few hundred
 * statements that each walk the indexes once from one end to the other.
 */
export async function insertResponses(trx: Db, items: { response: NewResponse; route: Route }[]): Promise<void> {
  const sorted = [...items].sort((a, b) =>
    a.response.id < b.response.id ? -1 : a.response.id > b.response.id ? 1 : 0,
  );
  for (let i = 0; i < sorted.length; i += 500) {
    const chunk = sorted.slice(i, i + 500);
    await trx
      .insertInto('responses')
      .values(chunk.map((c) => c.response))
      .execute();
    const values: { response_id: string; question_id: string; value: string }[] = [];
    const pages: { response_id: string; page_id: string }[] = [];
    for (const { response, route } of chunk) {
      const response_id = response.id;
      for (const question_id of Object.keys(route.values).sort())
        for (const value of [...codesOf(route.values[question_id])].sort())
          values.push({ response_id, question_id, value });
      for (const page_id of Object.keys(route.answers).sort()) pages.push({ response_id, page_id });
    }
    for (let j = 0; j < values.length; j += 5000)
      await trx
        .insertInto('response_values')
        .values(values.slice(j, j + 5000))
        .execute();
    for (let j = 0; j < pages.length; j += 5000)
      await trx
        .insertInto('response_pages')
        .values(pages.slice(j, j + 5000))
        .execute();
  }
}
