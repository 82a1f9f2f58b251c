import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import {
  applyContribution,
  type Contribution,
  CountSheet,
  contributionOf,
  dimsOf,
  metricsOf,
  routeContribution,
} from '../analysis/counts.ts';
import type { Database, NewResponse, ResponseFlag, ResponseRow } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
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

/**
 * What an imported response stores in place of a draft token hash: it has no
 * respondent cookie, and it is not a draft anyone is filling in, so the
 * automatic purge of stale drafts leaves it alone (a deliberate `cli purge`
 * still erases it).
 */
export const IMPORTED_TOKEN_PREFIX = 'imported:';
export function importedTokenHash(responseId: string): string {
  return `${IMPORTED_TOKEN_PREFIX}${createHash('sha256').update(responseId).digest('hex').slice(0, 55)}`;
}

/** Timestamps are kept to the minute: enough for analysis, too coarse to single anyone out. */
export function toMinute(now: Date): string {
  return `${now.toISOString().slice(0, 16)}:00Z`;
}

/** Starts a draft: a partial response with nothing answered yet, counted as such. */
export async function createDraft(
  db: Kysely<Database>,
  survey: Survey,
  draft: { channel: string; tokenHash: string; now: Date; flag?: ResponseFlag | null },
): Promise<string> {
  const id = randomUUID();
  const at = toMinute(draft.now);
  const row: ResponseRow = {
    id,
    survey: survey.slug,
    draft_token_hash: draft.tokenHash,
    status: 'partial',
    channel: draft.channel,
    started_at: at,
    updated_at: at,
    submitted_at: null,
    answers: '{}',
    flag: draft.flag ?? null,
  };
  await db.transaction().execute(async (trx) => {
    await trx.insertInto('responses').values(row).execute();
    await replaceRoute(trx, survey, row, { answers: {}, values: {} }, null);
  });
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
 * Takes a draft for this transaction: marks it changed now and returns its
 * row as it was, or undefined if it is no longer a draft (completed, or
 * erased). The update comes first so that it locks the row: on PostgreSQL, a
 * second request for the same draft (a double click, another app instance)
 * waits here until this transaction commits, then reads what it wrote, so
 * the counts are never moved twice from the same "before".
 */
async function takeDraft(trx: Transaction<Database>, id: string, at: string): Promise<ResponseRow | undefined> {
  return trx
    .updateTable('responses')
    .set({ updated_at: at })
    .where('id', '=', id)
    .where('status', '=', 'partial')
    .returningAll()
    .executeTakeFirst();
}

/**
 * Saves a draft's answers and the values on its route, in one transaction; a
 * completed response is never changed. Returns whether the draft was saved.
 */
export async function saveDraftAnswers(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
  state: DraftState,
  now: Date,
  /** A reason to flag the response, kept unless it is flagged already. */
  flag: ResponseFlag | null = null,
) {
  return db.transaction().execute(async (trx) => {
    const row = await takeDraft(trx, id, toMinute(now));
    if (!row) return false;
    const saved = { ...row, answers: JSON.stringify(state.kept), flag: row.flag ?? flag };
    await trx.updateTable('responses').set({ answers: saved.answers, flag: saved.flag }).where('id', '=', id).execute();
    await replaceRoute(trx, survey, saved, state, contributionOf(survey, row));
    return true;
  });
}

/**
 * Rewrites what the analysis counts for a response: the route's values, the
 * pages submitted on it, and the running counts (moved from what the response
 * counted for before to what it counts for now). Call it inside the
 * transaction that changes the response, after the response row is written.
 */
export async function replaceRoute(
  trx: Transaction<Database>,
  survey: Survey,
  /** The response as it now is. */
  row: ResponseRow,
  route: { answers: Answers; values: Values },
  /** What the response counted for before this change (null for a new one): see contributionOf. */
  before: Contribution | null,
) {
  const id = row.id;
  await trx.deleteFrom('response_values').where('response_id', '=', id).execute();
  await trx.deleteFrom('response_pages').where('response_id', '=', id).execute();
  const values = Object.entries(route.values).flatMap(([question_id, value]) =>
    (Array.isArray(value) ? value : [value]).map((v) => ({ response_id: id, question_id, value: v })),
  );
  if (values.length) await trx.insertInto('response_values').values(values).execute();
  const pages = Object.keys(route.answers).map((page_id) => ({ response_id: id, page_id }));
  if (pages.length) await trx.insertInto('response_pages').values(pages).execute();
  await applyContribution(trx, before, routeContribution(survey, row, route));
}

/**
 * Turns a draft into a complete response, exactly once: a double click or a
 * replayed submit finds it complete already and changes nothing.
 * Returns whether this call completed it.
 */
export async function completeDraft(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
  route: { answers: Answers; values: Values },
  now: Date,
  /** A reason to flag the response, kept unless it is flagged already. */
  flag: ResponseFlag | null = null,
): Promise<boolean> {
  const at = toMinute(now);
  return db.transaction().execute(async (trx) => {
    const row = await takeDraft(trx, id, at);
    if (!row) return false;
    const complete: ResponseRow = {
      ...row,
      status: 'complete',
      submitted_at: at,
      answers: JSON.stringify(route.answers),
      flag: row.flag ?? flag,
    };
    await trx
      .updateTable('responses')
      .set({ status: complete.status, submitted_at: at, answers: complete.answers, flag: complete.flag })
      .where('id', '=', id)
      .execute();
    await replaceRoute(trx, survey, complete, route, contributionOf(survey, row));
    return true;
  });
}

/**
 * Stores new responses in bulk (an import): the rows, their route values and
 * pages, and their running counts, in large batches inside the caller's
 * transaction, so a file of 100,000 responses is a few hundred statements.
 */
export async function insertResponses(
  trx: Transaction<Database>,
  survey: Survey,
  items: { response: NewResponse; route: { answers: Answers; values: Values } }[],
): Promise<void> {
  const sheet = new CountSheet();
  for (let i = 0; i < items.length; i += 500) {
    const chunk = items.slice(i, i + 500);
    await trx
      .insertInto('responses')
      .values(chunk.map((c) => c.response))
      .execute();
    const values = chunk.flatMap(({ response, route }) =>
      Object.entries(route.values).flatMap(([question_id, value]) =>
        (Array.isArray(value) ? value : [value]).map((v) => ({ response_id: response.id, question_id, value: v })),
      ),
    );
    const pages = chunk.flatMap(({ response, route }) =>
      Object.keys(route.answers).map((page_id) => ({ response_id: response.id, page_id })),
    );
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
    for (const { response, route } of chunk) {
      const row = { ...response, flag: response.flag ?? null };
      sheet.add(
        dimsOf(survey, row, route.values),
        metricsOf(survey, row.channel, route.values, Object.keys(route.answers)),
        1,
      );
    }
  }
  await sheet.write(trx);
}
