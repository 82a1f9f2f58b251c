import type { Expression, ExpressionBuilder, Kysely, SqlBool } from 'kysely';
import { retryRaces } from '../db/races.ts';
import type { Database } from '../db/schema.ts';
import { CountSheet, contributionOf } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { IMPORTED_TOKEN_PREFIX, toMinute } from './anonymity.ts';

// Erasing responses, so the council keeps its retention promise. Each batch
// is one transaction that deletes the responses, with the rows the analysis
// counts (values, pages and paper_entries go by their foreign keys' cascade),
// and takes them off the running counts: a report never counts a response that is
// gone, and a crash part-way leaves whole batches erased, never half of one.

/** Responses erased, by status. */
export interface Erased {
  complete: number;
  partial: number;
}

/** Responses per transaction: short enough that the server's writes wait well under a second. */
const BATCH = 200;

/** Which responses to erase, as a condition on their rows. */
type Selection = (eb: ExpressionBuilder<Database, 'responses'>) => Expression<SqlBool>;

/** What `purge --survey S --before DATE` erases: every response of the survey started before the day (UTC). */
const startedBefore =
  (before: string): Selection =>
  (eb) =>
    eb('started_at', '<', before);

/** Drafts nobody has touched since the cutoff (imported partial responses are records, not drafts). */
const staleDrafts =
  (cutoff: Date): Selection =>
  (eb) =>
    eb.and([
      eb('status', '=', 'partial'),
      eb('updated_at', '<', toMinute(cutoff)),
      eb('draft_token_hash', 'not like', `${IMPORTED_TOKEN_PREFIX}%`),
    ]);

/** How many responses of the survey were started before the day (YYYY-MM-DD, UTC): what a purge would erase. */
export async function countStartedBefore(db: Kysely<Database>, survey: Survey, before: string): Promise<Erased> {
  const rows = await db
    .selectFrom('responses')
    .select(['status', (eb) => eb.fn.countAll<number>().as('n')])
    .where('survey', '=', survey.slug)
    .where('started_at', '<', before)
    .groupBy('status')
    .execute();
  const out: Erased = { complete: 0, partial: 0 };
  for (const row of rows) out[row.status] += Number(row.n);
  return out;
}

/** Erases every response of the survey (complete or not) started before the day (YYYY-MM-DD, UTC). */
export function eraseStartedBefore(db: Kysely<Database>, survey: Survey, before: string): Promise<Erased> {
  return erase(db, survey, startedBefore(before));
}

/** Erases the survey's drafts (partial responses) last changed before the cutoff. Returns how many. */
export async function eraseStaleDrafts(db: Kysely<Database>, survey: Survey, cutoff: Date): Promise<number> {
  return (await erase(db, survey, staleDrafts(cutoff))).partial;
}

/** The cutoff for drafts kept `days` days. */
export function draftCutoff(now: Date, days: number): Date {
  return new Date(now.getTime() - days * 24 * 60 * 60 * 1000);
}

async function erase(db: Kysely<Database>, survey: Survey, select: Selection): Promise<Erased> {
  const erased: Erased = { complete: 0, partial: 0 };
  for (;;) {
    // A transaction that read before it wrote fails at once (SQLITE_BUSY_SNAPSHOT) if the server wrote in
    // between; on PostgreSQL, deleting many rows, it may lose a deadlock to the server's transaction of saves
    // (holding one draft it deletes and wanting another: see db/shared-transactions.ts). Either changed nothing: again.
    const batch = await retryRaces(
      () =>
        db.transaction().execute(async (trx) => {
          const rows = await trx
            .selectFrom('responses')
            .select('id')
            .where('survey', '=', survey.slug)
            .where(select)
            .orderBy('id')
            .limit(BATCH)
            .execute();
          const ids = rows.map((r) => r.id);
          if (!ids.length) return { found: 0, counted: { complete: 0, partial: 0 } };
          // The rows as they are when deleted (the condition checked again): on PostgreSQL a
          // respondent may have saved a page since the select, and the counts must move from that.
          // Their values, pages and paper entry go by their foreign keys' cascade.
          const deleted = await trx
            .deleteFrom('responses')
            .where('id', 'in', ids)
            .where(select)
            .returningAll()
            .execute();
          const sheet = new CountSheet();
          const counted: Erased = { complete: 0, partial: 0 };
          for (const row of deleted) {
            sheet.record(contributionOf(survey, row), null);
            counted[row.status] += 1;
          }
          sheet.touch(survey.slug);
          await sheet.write(trx);
          return { found: ids.length, counted };
        }),
      { busy: true, attempts: 20, pauseMs: (attempt) => 20 * attempt },
    );
    erased.complete += batch.counted.complete;
    erased.partial += batch.counted.partial;
    if (batch.found === 0) return erased;
  }
}
