import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import type { Database, ResponseRow } from '../db/schema.ts';
import type { Answers, Values } from '../survey/journey.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A new draft token for the respondent's cookie, and the hash we store. */
export function newDraftToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashDraftToken(token) };
}

export function hashDraftToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

/** Timestamps are kept to the minute: enough for analysis, too coarse to single anyone out. */
export function toMinute(now: Date): string {
  return `${now.toISOString().slice(0, 16)}:00Z`;
}

export async function createDraft(
  db: Db,
  draft: { survey: string; channel: string; tokenHash: string; now: Date },
): Promise<string> {
  const id = randomUUID();
  const at = toMinute(draft.now);
  await db
    .insertInto('responses')
    .values({
      id,
      survey: draft.survey,
      draft_token_hash: draft.tokenHash,
      status: 'partial',
      channel: draft.channel,
      started_at: at,
      updated_at: at,
      submitted_at: null,
      answers: '{}',
    })
    .execute();
  return id;
}

export async function findDraft(db: Db, survey: string, tokenHash: string): Promise<ResponseRow | undefined> {
  return db
    .selectFrom('responses')
    .selectAll()
    .where('survey', '=', survey)
    .where('draft_token_hash', '=', tokenHash)
    .executeTakeFirst();
}

export function draftAnswers(row: Pick<ResponseRow, 'answers'>): Answers {
  const parsed: unknown = JSON.parse(row.answers);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Answers) : {};
}

/** What a draft keeps (see Journey.kept), and the answers and values on its route. */
export interface DraftState {
  kept: Answers;
  answers: Answers;
  values: Values;
}

/**
 * Saves a draft's answers and the values on its route, in one transaction; a
 * completed response is never changed. Returns whether the draft was saved.
 */
export async function saveDraftAnswers(db: Kysely<Database>, id: string, state: DraftState, now: Date) {
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('responses')
      .set({ answers: JSON.stringify(state.kept), updated_at: toMinute(now) })
      .where('id', '=', id)
      .where('status', '=', 'partial')
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await replaceRoute(trx, id, state);
    return true;
  });
}

/** Rewrites the rows the analysis counts: the route's values and the pages submitted on it. */
export async function replaceRoute(
  trx: Transaction<Database>,
  id: string,
  route: { answers: Answers; values: Values },
) {
  await trx.deleteFrom('response_values').where('response_id', '=', id).execute();
  await trx.deleteFrom('response_pages').where('response_id', '=', id).execute();
  const values = Object.entries(route.values).flatMap(([question_id, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => ({ response_id: id, question_id, value: v })),
  );
  if (values.length) await trx.insertInto('response_values').values(values).execute();
  const pages = Object.keys(route.answers).map((page_id) => ({ response_id: id, page_id }));
  if (pages.length) await trx.insertInto('response_pages').values(pages).execute();
}

/**
 * Turns a draft into a complete response, exactly once: a double click or a
 * replayed submit finds it complete already and changes nothing.
 * Returns whether this call completed it.
 */
export async function completeDraft(
  db: Kysely<Database>,
  id: string,
  route: { answers: Answers; values: Values },
  now: Date,
): Promise<boolean> {
  const at = toMinute(now);
  return db.transaction().execute(async (trx) => {
    const result = await trx
      .updateTable('responses')
      .set({ status: 'complete', submitted_at: at, updated_at: at, answers: JSON.stringify(route.answers) })
      .where('id', '=', id)
      .where('status', '=', 'partial')
      .executeTakeFirst();
    if (result.numUpdatedRows === 0n) return false;
    await replaceRoute(trx, id, route);
    return true;
  });
}
