import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { whenDurable } from '../db/open.ts';
import type { Database, ExclusionReason, ResponseFlag, ResponseRow } from '../db/schema.ts';
import { SharedTransactions } from '../db/shared-transactions.ts';
import { CountSheet, routeContribution } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import type { Answers, Values } from '../survey/journey.ts';
import { toMinute } from './anonymity.ts';
import {
  findByToken,
  insertResponse,
  NO_ROUTE,
  type ResponseChange,
  type Route,
  takeDraft,
  updateDraftIfAsRead,
  updateResponse,
  writeRoute,
} from './repository.ts';
import { storedJourney } from './stored-journey.ts';

// A respondent's draft, from Start to Send: every change is one save, which
// writes the response row, its route rows and its move in the running counts
// together, and is acknowledged only once it is on disk.

const transactions = new WeakMap<Kysely<Database>, SharedTransactions<CountSheet>>();

/** Runs a save in the transaction the saves of the moment share (see SharedTransactions), with their count sheet. */
export function runSave<T>(db: Kysely<Database>, work: (trx: Transaction<Database>, counts: CountSheet) => Promise<T>) {
  let shared = transactions.get(db);
  if (!shared) {
    shared = new SharedTransactions(db, () => new CountSheet());
    transactions.set(db, shared);
  }
  return shared.run(work);
}

/** Transactions committed by the saves of a database (in this process), and the saves they held: for the tests. */
export function savesDone(db: Kysely<Database>): { transactions: number; saves: number } {
  const done = transactions.get(db)?.done ?? { transactions: 0, units: 0 };
  return { transactions: done.transactions, saves: done.units };
}

/** Starts a draft: a partial response with nothing answered yet, counted as such. Returns its id. */
export async function startDraft(
  db: Kysely<Database>,
  survey: Survey,
  draft: {
    channel: string;
    tokenHash: string;
    now: Date;
    flag?: ResponseFlag | null;
    excluded?: ExclusionReason | null;
  },
): Promise<string> {
  const at = toMinute(draft.now);
  const row: ResponseRow = {
    id: randomUUID(),
    survey: survey.slug,
    draft_token_hash: draft.tokenHash,
    status: 'partial',
    channel: draft.channel,
    started_at: at,
    updated_at: at,
    submitted_at: null,
    answers: '{}',
    flag: draft.flag ?? null,
    excluded: draft.excluded ?? null,
    survey_version: survey.version ?? null,
  };
  await runSave(db, async (trx, counts) => {
    await insertResponse(trx, row);
    counts.touch(survey.slug);
    counts.record(null, routeContribution(survey, row, NO_ROUTE));
  });
  return row.id;
}

/** The respondent's draft (or sent response) by the hash of their cookie's token. */
export function findDraft(db: Kysely<Database>, survey: Survey, tokenHash: string) {
  return findByToken(db, survey.slug, tokenHash);
}

/**
 * The respondent's response for the thank-you page: once sent, read only when
 * its sending is on disk (another tab's Send may have just committed it).
 */
export async function findSent(db: Kysely<Database>, survey: Survey, tokenHash: string) {
  const row = await findByToken(db, survey.slug, tokenHash);
  if (row?.status === 'complete') await whenDurable(db);
  return row;
}

/** What a draft keeps (see Journey.kept), and the answers and values on its route. */
export interface DraftState extends Route {
  kept: Answers;
}

/**
 * Saves a draft's answers: `kept` stored, the route's values and pages and
 * its counts moved. A completed response is never changed. Returns whether
 * the draft was saved.
 */
export function saveDraft(
  db: Kysely<Database>,
  survey: Survey,
  /** The draft's row as the request read it. */
  draft: ResponseRow,
  state: DraftState,
  now: Date,
  /** A reason to flag the response, kept unless it is flagged already. */
  flag: ResponseFlag | null = null,
): Promise<boolean> {
  const at = toMinute(now);
  const answers = JSON.stringify(state.kept);
  return runSave(db, (trx, counts) =>
    changeDraft(trx, counts, survey, draft, at, (row) => ({ updated_at: at, answers, flag: row.flag ?? flag }), state),
  );
}

/**
 * Sends a draft: it becomes a complete response, exactly once (a double click
 * or a replayed Send finds it complete and changes nothing). Returns whether
 * this call sent it.
 */
export function sendDraft(
  db: Kysely<Database>,
  survey: Survey,
  draft: ResponseRow,
  route: { answers: Answers; values: Values },
  now: Date,
  flag: ResponseFlag | null = null,
): Promise<boolean> {
  const at = toMinute(now);
  const answers = JSON.stringify(route.answers);
  return runSave(db, (trx, counts) =>
    changeDraft(
      trx,
      counts,
      survey,
      draft,
      at,
      (row) => ({
        status: 'complete',
        submitted_at: at,
        updated_at: at,
        answers,
        flag: row.flag ?? flag,
        // The version the respondent saw last: the wording may have changed since they started.
        survey_version: survey.version ?? row.survey_version,
      }),
      route,
    ),
  );
}

/**
 * Changes a draft to `change(row)` with `route` as its route, moving its
 * counts from what it was. Usually the draft is still as the request read it
 * and one guarded UPDATE does; if someone saved it in between, it is taken
 * afresh under its row lock. Returns whether it was still a draft.
 */
async function changeDraft(
  trx: Transaction<Database>,
  counts: CountSheet,
  survey: Survey,
  read: ResponseRow,
  at: string,
  change: (row: ResponseRow) => ResponseChange,
  route: Route,
): Promise<boolean> {
  let was = read;
  let set = change(read);
  if (read.status !== 'partial' || !(await updateDraftIfAsRead(trx, read, set))) {
    const taken = await takeDraft(trx, read.id, at);
    if (!taken) return false;
    was = taken;
    set = change(was);
    await updateResponse(trx, was.id, set);
  }
  const stored = storedJourney(survey, was.answers);
  await writeRoute(trx, was.id, stored, route);
  counts.touch(survey.slug);
  counts.record(routeContribution(survey, was, stored), routeContribution(survey, { ...was, ...set }, route));
  return true;
}
