import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import type { Survey } from '../survey/definition.ts';

/** When a survey accepts answers: the definition's dates unless an admin has set others. */
export interface Schedule {
  opensAt?: string;
  closesAt?: string;
  /** Drafts started before closing may still be finished until then (a grace period chosen when closing). */
  draftsUntil?: string;
}

export async function scheduleOf(db: Kysely<Database>, survey: Survey): Promise<Schedule> {
  const row = await db.selectFrom('survey_schedules').selectAll().where('survey', '=', survey.slug).executeTakeFirst();
  if (!row)
    return {
      ...(survey.opensAt ? { opensAt: survey.opensAt } : {}),
      ...(survey.closesAt ? { closesAt: survey.closesAt } : {}),
    };
  return {
    ...(row.opens_at ? { opensAt: row.opens_at } : {}),
    ...(row.closes_at ? { closesAt: row.closes_at } : {}),
    ...(row.drafts_until ? { draftsUntil: row.drafts_until } : {}),
  };
}

/**
 * How long a respondent's page trusts the dates it last read (ms). Every page
 * checks that the survey is open; reading the dates each time was a query per
 * request. A change made on this instance applies at once (setSchedule
 * forgets what was kept); on other instances sharing the database, within this.
 */
export const SCHEDULE_TTL_MS = 1000;
const kept = new WeakMap<object, Map<string, { until: number; schedule: Promise<Schedule> }>>();

/** scheduleOf, kept for SCHEDULE_TTL_MS: for respondents' pages, which check it on every request. */
export function recentScheduleOf(db: Kysely<Database>, survey: Survey): Promise<Schedule> {
  let bySurvey = kept.get(db);
  if (!bySurvey) {
    bySurvey = new Map();
    kept.set(db, bySurvey);
  }
  const now = performance.now();
  const found = bySurvey.get(survey.slug);
  if (found && found.until > now) return found.schedule;
  const schedule = scheduleOf(db, survey);
  const entry = { until: now + SCHEDULE_TTL_MS, schedule };
  bySurvey.set(survey.slug, entry);
  // A failed read (the database unavailable) is not kept: the next page asks again.
  schedule.catch(() => {
    if (bySurvey.get(survey.slug) === entry) bySurvey.delete(survey.slug);
  });
  return schedule;
}

/** Sets a survey's dates (null: no limit), replacing the definition's. */
export async function setSchedule(
  db: Kysely<Database>,
  survey: Survey,
  schedule: { opensAt: string | null; closesAt: string | null; draftsUntil?: string | null },
  now: Date,
): Promise<void> {
  const values = {
    opens_at: schedule.opensAt,
    closes_at: schedule.closesAt,
    drafts_until: schedule.draftsUntil ?? null,
    updated_at: now.toISOString(),
  };
  await db
    .insertInto('survey_schedules')
    .values({ survey: survey.slug, ...values })
    .onConflict((oc) => oc.column('survey').doUpdateSet(values))
    .execute();
  kept.get(db)?.delete(survey.slug);
}
