import type { Kysely } from 'kysely';
import type { Database, ResponseRow } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';
import { type Filters, passesFilters } from './filters.ts';
import { buildReport } from './report.ts';

/** One line of the responses list: the response, and its paper entry's reference and who keyed it in, if any. */
export type ListedResponse = ResponseRow & { paper_reference: number | null; paper_account: string | null };

/**
 * The survey's responses under the filters, newest first, a page at a time,
 * with how many there are in all; or the one keyed in from paper under a
 * reference (whatever the filters).
 */
export async function listResponses(
  db: Kysely<Database>,
  survey: Survey,
  filters: Filters,
  page: { offset: number; limit: number; reference?: number },
): Promise<{ total: number; rows: ListedResponse[] }> {
  const base = () =>
    db
      .selectFrom('responses')
      .leftJoin('paper_entries', 'paper_entries.response_id', 'responses.id')
      .$if(page.reference === undefined, (q) => q.where(passesFilters(survey, filters)))
      .$if(page.reference !== undefined, (q) =>
        q.where('responses.survey', '=', survey.slug).where('paper_entries.reference', '=', page.reference as number),
      );
  // The total under the filters comes from the running counts: counting the rows took seconds at 1M.
  const [total, rows] = await Promise.all([
    page.reference === undefined
      ? buildReport(db, survey, filters).then((report) => report.responses)
      : base()
          .select((eb) => eb.fn.countAll<number>().as('n'))
          .executeTakeFirst()
          .then((count) => Number(count?.n ?? 0)),
    base()
      .selectAll('responses')
      .select(['paper_entries.reference as paper_reference', 'paper_entries.account_id as paper_account'])
      .orderBy('responses.started_at', 'desc')
      .orderBy('responses.id', 'desc')
      .offset(page.offset)
      .limit(page.limit)
      .execute(),
  ]);
  return { total, rows: rows as ListedResponse[] };
}

/** One response of the survey with its paper entry, if any. */
export async function findResponse(
  db: Kysely<Database>,
  survey: Survey,
  id: string,
): Promise<ListedResponse | undefined> {
  const row = await db
    .selectFrom('responses')
    .leftJoin('paper_entries', 'paper_entries.response_id', 'responses.id')
    .selectAll('responses')
    .select(['paper_entries.reference as paper_reference', 'paper_entries.account_id as paper_account'])
    .where('responses.survey', '=', survey.slug)
    .where('responses.id', '=', id)
    .executeTakeFirst();
  return row as ListedResponse | undefined;
}
