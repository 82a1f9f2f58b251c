import { randomBytes } from 'node:crypto';
import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { CountSheet } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import { hashDraftToken } from './anonymity.ts';
import { type Actor, audit, transaction } from './corrections.ts';
import { startDraft } from './save-draft.ts';

// Staff trying a survey (test mode): their drafts are marked `test` from the
// start, so they count for nothing anywhere, and an admin erases them all at once.

/**
 * What begins a test draft's token. The ':' is outside base64url, so no
 * resident's random token can begin with it; the token lives only in the
 * signed draft cookie, which only the admin route sets with this prefix.
 */
const TEST_TOKEN_PREFIX = 'test:';

/** Whether a draft token (from the signed cookie) was issued for a staff test. */
export function isTestToken(token: string | undefined): boolean {
  return token?.startsWith(TEST_TOKEN_PREFIX) ?? false;
}

/** A new test draft's token, carrying its start time as a resident's does (see guards.ts newTimedDraftToken). */
function newTestToken(now: Date): string {
  return `${TEST_TOKEN_PREFIX}${randomBytes(32).toString('base64url')}.${now.getTime().toString(36)}`;
}

/** Starts a staff test draft, excluded as `test` from its first save; returns the token for the draft cookie. */
export async function startTestDraft(db: Kysely<Database>, survey: Survey, now: Date): Promise<string> {
  const token = newTestToken(now);
  await startDraft(db, survey, { channel: 'web', tokenHash: hashDraftToken(token), now, excluded: 'test' });
  return token;
}

/** How many test responses (sent or not) a survey holds. */
export async function countTestResponses(db: Kysely<Database>, survey: Survey): Promise<number> {
  const row = await db
    .selectFrom('responses')
    .select((eb) => eb.fn.countAll<number>().as('n'))
    .where('survey', '=', survey.slug)
    .where('excluded', '=', 'test')
    .executeTakeFirst();
  return Number(row?.n ?? 0);
}

/**
 * Erases every test response of a survey for good, in one transaction with
 * one audit entry saying how many. Their answers and pages go with them
 * (foreign keys cascade). Returns how many were erased.
 */
export function eraseTestResponses(db: Kysely<Database>, survey: Survey, actor: Actor, now: Date): Promise<number> {
  return transaction(db, async (trx) => {
    const erased = await trx
      .deleteFrom('responses')
      .where('survey', '=', survey.slug)
      .where('excluded', '=', 'test')
      .returning('id')
      .execute();
    if (!erased.length) return 0;
    // An excluded response counts for nothing in the running counts, so none move;
    // the survey's version does, so nothing read from the counts before is reused.
    const counts = new CountSheet();
    counts.touch(survey.slug);
    await counts.write(trx);
    await audit(
      trx,
      { action: 'erase-tests', survey: survey.slug, response_id: null, reason: null, details: String(erased.length) },
      actor,
      now,
    );
    return erased.length;
  });
}
