import { randomUUID } from 'node:crypto';
import type { Kysely, Transaction } from 'kysely';
import { retryRaces } from '../db/races.ts';
import type { AuditLogTable, Database, ExclusionReason, ResponseRow } from '../db/schema.ts';
import { CountSheet, contributionOf, routeContribution } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import type { Answers, Values } from '../survey/journey.ts';
import { toMinute } from './anonymity.ts';
import { writeRoute } from './repository.ts';
import { storedRoute } from './stored-journey.ts';

// What staff do to single responses: leave one out of the figures (and put it
// back), erase one for good, correct a keyed-in paper form. Each is one
// transaction that moves the running counts and writes the audit log: who,
// when, what and why.

export const EXCLUSION_REASONS: { value: ExclusionReason; label: string }[] = [
  { value: 'test', label: 'A test by staff' },
  { value: 'duplicate', label: 'A duplicate of another response' },
  { value: 'junk', label: 'Junk (nonsense or abusive answers)' },
  { value: 'other', label: 'Another reason (say which)' },
];

/** Who is acting: the signed-in account, as the audit log keeps it. */
export interface Actor {
  id: string;
  email: string;
}

export type CorrectionResult = 'done' | 'unchanged' | 'not-found';

/** The response as it is now, its row locked for the rest of the transaction (PostgreSQL; SQLite holds the write lock). */
async function takeResponse(trx: Transaction<Database>, survey: Survey, id: string): Promise<ResponseRow | undefined> {
  // An update that changes nothing takes the row's lock first, so a concurrent save waits rather than interleaves.
  await trx.updateTable('responses').set({ id }).where('id', '=', id).where('survey', '=', survey.slug).execute();
  return trx
    .selectFrom('responses')
    .selectAll()
    .where('id', '=', id)
    .where('survey', '=', survey.slug)
    .executeTakeFirst();
}

/** Writes one entry of the audit log, in the transaction that does what it records. */
export async function audit(
  trx: Transaction<Database>,
  entry: Omit<AuditLogTable, 'id' | 'at' | 'account_id' | 'account_email'>,
  actor: Actor,
  now: Date,
) {
  await trx
    .insertInto('audit_log')
    .values({ id: randomUUID(), at: now.toISOString(), account_id: actor.id, account_email: actor.email, ...entry })
    .execute();
}

/** A transaction of staff's changes, run again if it lost a race (PostgreSQL) or met a busy database (SQLite). */
export function transaction<T>(db: Kysely<Database>, work: (trx: Transaction<Database>) => Promise<T>): Promise<T> {
  return retryRaces(() => db.transaction().execute(work), { busy: true });
}

/** Leaves a response out of every figure (it stays stored), with the reason; nothing happens if it already is. */
export function excludeResponse(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
  exclusion: { reason: ExclusionReason; note: string },
  actor: Actor,
  now: Date,
): Promise<CorrectionResult> {
  return transaction(db, async (trx) => {
    const row = await takeResponse(trx, survey, id);
    if (!row) return 'not-found';
    if (row.excluded) return 'unchanged';
    await trx.updateTable('responses').set({ excluded: exclusion.reason }).where('id', '=', id).execute();
    const counts = new CountSheet();
    counts.record(contributionOf(survey, row), null);
    counts.touch(survey.slug);
    await counts.write(trx);
    await audit(
      trx,
      {
        action: 'exclude',
        survey: survey.slug,
        response_id: id,
        reason: exclusion.reason,
        details: exclusion.note || null,
      },
      actor,
      now,
    );
    return 'done';
  });
}

/** Puts an excluded response back into the figures. */
export function restoreResponse(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
  note: string,
  actor: Actor,
  now: Date,
): Promise<CorrectionResult> {
  return transaction(db, async (trx) => {
    const row = await takeResponse(trx, survey, id);
    if (!row) return 'not-found';
    if (!row.excluded) return 'unchanged';
    await trx.updateTable('responses').set({ excluded: null }).where('id', '=', id).execute();
    const counts = new CountSheet();
    counts.record(null, contributionOf(survey, { ...row, excluded: null }));
    counts.touch(survey.slug);
    await counts.write(trx);
    await audit(
      trx,
      { action: 'restore', survey: survey.slug, response_id: id, reason: row.excluded, details: note || null },
      actor,
      now,
    );
    return 'done';
  });
}

/** Erases a response for good: its answers, its counts, its paper entry; the audit log keeps that it was. */
export function deleteResponse(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
  note: string,
  actor: Actor,
  now: Date,
): Promise<CorrectionResult> {
  return transaction(db, async (trx) => {
    const row = await takeResponse(trx, survey, id);
    if (!row) return 'not-found';
    await trx.deleteFrom('responses').where('id', '=', id).execute();
    const counts = new CountSheet();
    counts.record(contributionOf(survey, row), null);
    counts.touch(survey.slug);
    await counts.write(trx);
    await audit(
      trx,
      { action: 'delete', survey: survey.slug, response_id: id, reason: null, details: note || null },
      actor,
      now,
    );
    return 'done';
  });
}

/**
 * Replaces a keyed-in paper form's answers with corrected ones (checked as a
 * new entry is), keeping its id, reference and who first keyed it in; the
 * audit log holds the answers before and after.
 */
export function correctPaperResponse(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
  route: { answers: Answers; values: Values },
  actor: Actor,
  now: Date,
): Promise<CorrectionResult> {
  return transaction(db, async (trx) => {
    const row = await takeResponse(trx, survey, id);
    if (row?.channel !== 'paper') return 'not-found';
    const answers = JSON.stringify(route.answers);
    if (answers === row.answers) return 'unchanged';
    const updated: ResponseRow = { ...row, answers, updated_at: toMinute(now) };
    await trx.updateTable('responses').set({ answers, updated_at: updated.updated_at }).where('id', '=', id).execute();
    const was = storedRoute(survey, row);
    await writeRoute(trx, id, { answers: JSON.parse(row.answers) as Answers, values: was.values }, route);
    const counts = new CountSheet();
    counts.record(contributionOf(survey, row), routeContribution(survey, updated, route));
    counts.touch(survey.slug);
    await counts.write(trx);
    await audit(
      trx,
      {
        action: 'correct',
        survey: survey.slug,
        response_id: id,
        reason: null,
        details: JSON.stringify({ before: JSON.parse(row.answers), after: route.answers }),
      },
      actor,
      now,
    );
    return 'done';
  });
}

/** The audit log of a survey, newest first, a page at a time. */
export async function auditLog(db: Kysely<Database>, survey: Survey, page: { offset: number; limit: number }) {
  return db
    .selectFrom('audit_log')
    .selectAll()
    .where('survey', '=', survey.slug)
    .orderBy('at', 'desc')
    .orderBy('id')
    .offset(page.offset)
    .limit(page.limit)
    .execute();
}
