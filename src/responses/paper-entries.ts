import type { Kysely } from 'kysely';
import { retryRaces } from '../db/races.ts';
import type { Database, ResponseRow } from '../db/schema.ts';
import { CountSheet, routeContribution } from '../rollups/index.ts';
import type { Survey } from '../survey/definition.ts';
import type { Answers, Values } from '../survey/journey.ts';
import { newDraftToken, toMinute } from './anonymity.ts';
import { insertResponse, NO_ROUTE, writeRoute } from './repository.ts';

/** The channel of a paper questionnaire keyed in by staff. */
export const PAPER_CHANNEL = 'paper';

/** How a paper entry's number is written on the form and looked up: P-000042. */
export function paperReference(reference: number): string {
  return `P-${String(reference).padStart(6, '0')}`;
}

/** The number in a written reference (`P-000042`, `p42`, `42`), or undefined. */
export function parsePaperReference(text: string): number | undefined {
  const match = /^\s*p?-?0*(\d{1,9})\s*$/i.exec(text);
  return match ? Number(match[1]) : undefined;
}

export type PaperSaveResult = 'saved' | 'already-saved' | 'id-taken';

/**
 * Stores a paper questionnaire as a complete response on the `paper` channel,
 * through the same path as every other response (replaceRoute), and notes
 * which staff account keyed it in, in its own table, apart from the answers.
 * The id comes from the entry form, so sending the same form twice (a double
 * click, a replayed request) stores it once; if both arrive at once on
 * PostgreSQL, the one that loses the race runs again and finds it saved.
 */
export async function savePaperResponse(
  db: Kysely<Database>,
  survey: Survey,
  entry: { id: string; answers: Answers; values: Values; accountId: string; now: Date },
): Promise<PaperSaveResult> {
  const at = toMinute(entry.now);
  return retryRaces(
    () =>
      db.transaction().execute(async (trx) => {
        const existing = await trx
          .selectFrom('responses')
          .leftJoin('paper_entries', 'paper_entries.response_id', 'responses.id')
          .select(['responses.id', 'responses.survey', 'paper_entries.account_id'])
          .where('responses.id', '=', entry.id)
          .executeTakeFirst();
        if (existing) return existing.account_id && existing.survey === survey.slug ? 'already-saved' : 'id-taken';
        const row: ResponseRow = {
          id: entry.id,
          survey: survey.slug,
          // A paper response has no respondent cookie: an unguessable hash no token matches.
          draft_token_hash: newDraftToken().hash,
          status: 'complete',
          channel: PAPER_CHANNEL,
          started_at: at,
          updated_at: at,
          submitted_at: at,
          answers: JSON.stringify(entry.answers),
          flag: null,
          excluded: null,
          survey_version: survey.version ?? null,
        };
        await insertResponse(trx, row);
        await writeRoute(trx, row.id, NO_ROUTE, entry);
        const counts = new CountSheet();
        counts.record(null, routeContribution(survey, row, entry));
        await counts.write(trx);
        // The next number; two entries at once on PostgreSQL meet on the unique index, and one runs again.
        const last = await trx
          .selectFrom('paper_entries')
          .select((eb) => eb.fn.max('reference').as('reference'))
          .executeTakeFirst();
        const reference = Number(last?.reference ?? 0) + 1;
        await trx
          .insertInto('paper_entries')
          .values({ response_id: entry.id, account_id: entry.accountId, entered_at: at, reference })
          .execute();
        return 'saved';
      }),
    { duplicates: true },
  );
}

/** How many paper questionnaires have been keyed in for a survey, and how many of them by one account. */
export async function countPaperEntries(
  db: Kysely<Database>,
  survey: Survey,
  accountId: string,
): Promise<{ all: number; byAccount: number }> {
  const rows = await db
    .selectFrom('paper_entries')
    .innerJoin('responses', 'responses.id', 'paper_entries.response_id')
    .select(['paper_entries.account_id', (eb) => eb.fn.countAll().as('n')])
    .where('responses.survey', '=', survey.slug)
    .groupBy('paper_entries.account_id')
    .execute();
  let all = 0;
  let byAccount = 0;
  for (const row of rows) {
    all += Number(row.n);
    if (row.account_id === accountId) byAccount += Number(row.n);
  }
  return { all, byAccount };
}
