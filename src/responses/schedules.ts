import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';

/** When a survey accepts answers: the definition's dates unless an admin has set others. */
export interface Schedule {
  opensAt?: string;
  closesAt?: string;
}

export async function scheduleOf(db: Kysely<Database>, survey: Survey): Promise<Schedule> {
  const row = await db.selectFrom('survey_schedules').selectAll().where('survey', '=', survey.slug).executeTakeFirst();
  if (!row)
    return {
      ...(survey.opensAt ? { opensAt: survey.opensAt } : {}),
      ...(survey.closesAt ? { closesAt: survey.closesAt } : {}),
    };
  return { ...(row.opens_at ? { opensAt: row.opens_at } : {}), ...(row.closes_at ? { closesAt: row.closes_at } : {}) };
}

/** Sets a survey's dates (null: no limit), replacing the definition's. */
export async function setSchedule(
  db: Kysely<Database>,
  survey: Survey,
  schedule: { opensAt: string | null; closesAt: string | null },
  now: Date,
): Promise<void> {
  const values = { opens_at: schedule.opensAt, closes_at: schedule.closesAt, updated_at: now.toISOString() };
  await db
    .insertInto('survey_schedules')
    .values({ survey: survey.slug, ...values })
    .onConflict((oc) => oc.column('survey').doUpdateSet(values))
    .execute();
}
