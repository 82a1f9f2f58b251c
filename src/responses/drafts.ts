import { createHash, randomBytes, randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { LRUCache } from 'lru-cache';
import { applyContribution, type Contribution, CountSheet, routeContribution } from '../analysis/counts.ts';
import { reusable } from '../db/reusable.ts';
import type { Database, NewResponse, ResponseFlag, ResponseRow } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { type Answers, type Journey, journey, type Values } from '../survey/journey.ts';
import { runSave, type SaveScope } from './save-batches.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A new draft token for the respondent's cookie, and the hash we store. */
export function newDraftToken(): { token: string; hash: string } {
  const token = randomBytes(32).toString('base64url');
  return { token, hash: hashDraftToken(token) };
}

/** Draft tokens hashed lately: a respondent sends the same one with every page. */
const tokenHashes = new LRUCache<string, string>({ max: 10_000 });

export function hashDraftToken(token: string): string {
  let hash = tokenHashes.get(token);
  if (hash === undefined) {
    hash = createHash('sha256').update(token).digest('hex');
    tokenHashes.set(token, hash);
  }
  return hash;
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
  await runSave(db, async ({ trx, counts }) => {
    await insertDraft(trx, row);
    await replaceRoute(trx, survey, row, { answers: {}, values: {} }, null, undefined, counts);
  });
  return id;
}

// The queries of every page a respondent fetches or saves, compiled once (see reusable).
const draftByToken = reusable((db: Kysely<Database>, survey: string, tokenHash: string) =>
  db.selectFrom('responses').selectAll().where('survey', '=', survey).where('draft_token_hash', '=', tokenHash),
);
const insertDraft = reusable((db: Kysely<Database>, row: ResponseRow) => db.insertInto('responses').values(row));
const takeDraftQuery = reusable((db: Kysely<Database>, id: string, at: string) =>
  db
    .updateTable('responses')
    .set({ updated_at: at })
    .where('id', '=', id)
    .where('status', '=', 'partial')
    .returningAll(),
);
/** Writes a draft as it was read, in one statement: changes nothing if it is not still exactly that (see takeDraftAsRead). */
const writeIfAsRead = reusable(
  (
    db: Kysely<Database>,
    id: string,
    answers: string,
    flag: ResponseFlag | null,
    set: Pick<ResponseRow, 'answers' | 'flag' | 'updated_at'> & Partial<ResponseRow>,
  ) =>
    db
      .updateTable('responses')
      .set(set)
      .where('id', '=', id)
      .where('status', '=', 'partial')
      .where('answers', '=', answers)
      .where('flag', 'is not distinct from', flag),
);
const setAnswers = reusable(
  (db: Kysely<Database>, id: string, set: Pick<ResponseRow, 'answers' | 'flag'> & Partial<ResponseRow>) =>
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

export async function findDraft(db: Db, survey: string, tokenHash: string): Promise<ResponseRow | undefined> {
  return (await draftByToken(db, survey, tokenHash)).rows[0];
}

export function draftAnswers(row: Pick<ResponseRow, 'answers'>): Answers {
  const parsed: unknown = JSON.parse(row.answers);
  return typeof parsed === 'object' && parsed !== null ? (parsed as Answers) : {};
}

/** Journeys of stored answers kept per survey, by their JSON, at most this many. */
const STORED_JOURNEYS = 1000;
const storedJourneys = new WeakMap<Survey, LRUCache<string, Journey>>();

/**
 * The journey of a response's stored answers (its `answers` column). A page
 * is fetched and then saved, and each of those, and the save's recount, works
 * out the journey of the same stored answers: it is worked out once and kept
 * (frozen, so no caller can change what the next one gets).
 */
export function storedJourney(survey: Survey, answers: string): Journey {
  let kept = storedJourneys.get(survey);
  if (!kept) {
    kept = new LRUCache({ max: STORED_JOURNEYS });
    storedJourneys.set(survey, kept);
  }
  let found = kept.get(answers);
  if (!found) {
    found = frozen(journey(survey, draftAnswers({ answers })));
    kept.set(answers, found);
  }
  return found;
}

function frozen(j: Journey): Journey {
  for (const byPage of [j.answers, j.kept]) {
    for (const page of Object.values(byPage)) {
      for (const value of Object.values(page)) if (Array.isArray(value)) Object.freeze(value);
      Object.freeze(page);
    }
    Object.freeze(byPage);
  }
  for (const value of Object.values(j.values)) if (Array.isArray(value)) Object.freeze(value);
  Object.freeze(j.values);
  Object.freeze(j.route);
  return Object.freeze(j);
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
  return (await takeDraftQuery(trx, id, at)).rows[0];
}

/**
 * Saves a draft's answers and the values on its route, in one transaction; a
 * completed response is never changed. Returns whether the draft was saved.
 */
export async function saveDraftAnswers(
  db: Kysely<Database>,
  survey: Survey,
  /** The draft's id, or its row as the request read it (see takeDraftAsRead). */
  draft: string | ResponseRow,
  state: DraftState,
  now: Date,
  /** A reason to flag the response, kept unless it is flagged already. */
  flag: ResponseFlag | null = null,
) {
  const at = toMinute(now);
  const answers = JSON.stringify(state.kept);
  return runSave(db, (scope) =>
    writeDraft(scope, survey, draft, at, (row) => ({ updated_at: at, answers, flag: row.flag ?? flag }), state),
  );
}

type DraftChange = Pick<ResponseRow, 'answers' | 'flag' | 'updated_at'> & Partial<ResponseRow>;

/**
 * Takes a draft (as read, else afresh: see takeDraftAsRead and takeDraft),
 * changes it to `change(row)` and moves what it counts for to `route`.
 * Returns whether it was still a draft to change.
 */
async function writeDraft(
  { trx, counts }: SaveScope,
  survey: Survey,
  draft: string | ResponseRow,
  at: string,
  change: (row: ResponseRow) => DraftChange,
  route: Route,
): Promise<boolean> {
  const read = await takeDraftAsRead(trx, draft, change);
  if (read) {
    await replaceStoredRoute(trx, survey, read.was, read.now, route, counts);
    return true;
  }
  const id = typeof draft === 'string' ? draft : draft.id;
  const row = await takeDraft(trx, id, at);
  if (!row) return false;
  const set = change(row);
  await setAnswers(trx, id, set);
  await replaceStoredRoute(trx, survey, row, { ...row, ...set }, route, counts);
  return true;
}

/**
 * The common case of a save, in one statement instead of two: the draft is
 * still exactly as the request read it (nobody saved it in between), so it
 * is changed to `change(row)` on condition that it is, and the row as read
 * is what it counted for before. The condition is checked by the UPDATE that
 * takes the row's lock (PostgreSQL re-checks it after waiting for another
 * transaction's lock), so a draft changed meanwhile is left alone: undefined,
 * and the caller takes it afresh (takeDraft). Given only an id, undefined.
 */
async function takeDraftAsRead(
  trx: Transaction<Database>,
  draft: string | ResponseRow,
  change: (row: ResponseRow) => DraftChange,
): Promise<{ was: ResponseRow; now: ResponseRow } | undefined> {
  if (typeof draft === 'string' || draft.status !== 'partial') return undefined;
  const set = change(draft);
  const result = await writeIfAsRead(trx, draft.id, draft.answers, draft.flag, set);
  return result.numAffectedRows === 1n ? { was: draft, now: { ...draft, ...set } } : undefined;
}

/** What a response's route holds: its answers by page, and its values by question. */
type Route = { answers: Answers; values: Values };

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
  route: Route,
  /** What the response counted for before this change: null for a new one, with nothing stored yet. */
  before: Contribution | null,
  /** The route stored before (see replaceStoredRoute): only what changed is written. Without it, all is rewritten. */
  stored?: Route,
  /** Where to move the counts, for the caller to write later in the transaction (see runSave); without it, they are written here. */
  counts?: CountSheet,
) {
  const id = row.id;
  if (before && !stored) {
    await trx.deleteFrom('response_values').where('response_id', '=', id).execute();
    await trx.deleteFrom('response_pages').where('response_id', '=', id).execute();
  }
  const was: Route = stored ?? { answers: {}, values: {} };
  // Values are rewritten by question: those of a question whose answer changed (or went) are deleted, then inserted.
  const changed = [...new Set([...Object.keys(was.values), ...Object.keys(route.values)])].filter(
    (q) => !sameValue(was.values[q], route.values[q]),
  );
  const goneQuestions = changed.filter((q) => was.values[q] !== undefined);
  if (goneQuestions.length) await deleteValues(trx, id, goneQuestions);
  const values = changed.flatMap((question_id) => {
    const value = route.values[question_id];
    return (value === undefined ? [] : Array.isArray(value) ? value : [value]).map((v) => ({
      response_id: id,
      question_id,
      value: v,
    }));
  });
  if (values.length) await insertValues(trx, values);
  const gonePages = Object.keys(was.answers).filter((page) => !(page in route.answers));
  if (gonePages.length) await deletePages(trx, id, gonePages);
  const pages = Object.keys(route.answers)
    .filter((page) => !(page in was.answers))
    .map((page_id) => ({ response_id: id, page_id }));
  if (pages.length) await insertPages(trx, pages);
  const after = routeContribution(survey, row, route);
  if (counts) counts.record(before, after);
  else await applyContribution(trx, before, after);
}

function sameValue(a: Values[string] | undefined, b: Values[string] | undefined): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/**
 * replaceRoute for a stored response, from its row as it was (`was`, read
 * under the row's lock) to `row` and `route` now. Its route values and pages
 * are those of its stored answers (every write goes through here, from the
 * answers it stores), so only the difference is written.
 */
async function replaceStoredRoute(
  trx: Transaction<Database>,
  survey: Survey,
  was: ResponseRow,
  row: ResponseRow,
  route: Route,
  counts: CountSheet,
) {
  const stored = storedJourney(survey, was.answers);
  await replaceRoute(trx, survey, row, route, routeContribution(survey, was, stored), stored, counts);
}

/**
 * Turns a draft into a complete response, exactly once: a double click or a
 * replayed submit finds it complete already and changes nothing.
 * Returns whether this call completed it.
 */
export async function completeDraft(
  db: Kysely<Database>,
  survey: Survey,
  /** The draft's id, or its row as the request read it (see takeDraftAsRead). */
  draft: string | ResponseRow,
  route: { answers: Answers; values: Values },
  now: Date,
  /** A reason to flag the response, kept unless it is flagged already. */
  flag: ResponseFlag | null = null,
): Promise<boolean> {
  const at = toMinute(now);
  const answers = JSON.stringify(route.answers);
  return runSave(db, (scope) =>
    writeDraft(
      scope,
      survey,
      draft,
      at,
      (row) => ({ status: 'complete', submitted_at: at, updated_at: at, answers, flag: row.flag ?? flag }),
      route,
    ),
  );
}

/**
 * Stores new responses in bulk (an import): the rows, their route values and
 * pages, and their running counts, in large batches inside the caller's
 * transaction, so a file of 100,000 responses is a few hundred statements.
 * Rows go in in key order (by response id, then question and value), so each
 * batch walks the indexes once from one end to the other instead of jumping
 * about them. Given `count`, each response's contribution is handed to it
 * for the caller to tally and write once after many calls (an import stored
 * a chunk at a time); otherwise the counts are written here.
 */
export async function insertResponses(
  trx: Transaction<Database>,
  survey: Survey,
  items: { response: NewResponse; route: { answers: Answers; values: Values } }[],
  count?: (contribution: Contribution) => void,
): Promise<void> {
  const sheet = count ? null : new CountSheet();
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
      for (const question_id of Object.keys(route.values).sort()) {
        const value = route.values[question_id] as Values[string];
        if (!Array.isArray(value)) values.push({ response_id, question_id, value });
        else for (const v of [...value].sort()) values.push({ response_id, question_id, value: v });
      }
      const answered = Object.keys(route.answers);
      for (const page_id of [...answered].sort()) pages.push({ response_id, page_id });
      const contribution = routeContribution(survey, { ...response, flag: response.flag ?? null }, route);
      if (count) count(contribution);
      else sheet?.add(contribution.dims, contribution.metrics, 1);
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
  await sheet?.write(trx);
}
