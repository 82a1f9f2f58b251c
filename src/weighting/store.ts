import type { Kysely } from 'kysely';
import type { Database } from '../db/schema.ts';
import { areaCodes, type Survey } from '../survey/definition.ts';
import { shippedTargetsCsv } from './population/index.ts';
import { mappingOf, type PopulationTarget, parseTargets } from './targets.ts';

/** A survey's population figures: those an admin uploaded, else those shipped with it, else none. */
export interface SurveyTargets {
  targets: PopulationTarget[];
  origin: 'uploaded' | 'shipped' | 'none';
  /** When they were uploaded (ISO), for the page. */
  updatedAt?: string;
}

export async function targetsOf(db: Kysely<Database>, survey: Survey): Promise<SurveyTargets> {
  const rows = await db
    .selectFrom('population_targets')
    .selectAll()
    .where('survey', '=', survey.slug)
    .orderBy('district')
    .orderBy('variable')
    .orderBy('category')
    .execute();
  if (rows.length)
    return {
      targets: rows.map(({ district, variable, category, count, basis, source }) => ({
        district,
        variable,
        category,
        count: Number(count),
        basis,
        source,
      })),
      origin: 'uploaded',
      updatedAt: rows[0]?.updated_at,
    };
  const shipped = shippedOf(survey);
  return shipped.length ? { targets: shipped, origin: 'shipped' } : { targets: [], origin: 'none' };
}

/** The figures shipped with a survey, read and checked once per definition: the file does not change. */
const shippedCache = new WeakMap<Survey, PopulationTarget[]>();
function shippedOf(survey: Survey): PopulationTarget[] {
  let found = shippedCache.get(survey);
  if (found) return found;
  const shipped = shippedTargetsCsv(survey.slug);
  found = [];
  if (shipped) {
    const parsed = parseTargets(shipped, { mapping: mappingOf(survey), districts: areaCodes(survey) });
    // The shipped file is checked by the tests against the definition it comes with.
    if (!parsed.ok)
      throw new Error(
        `the population figures shipped with ${survey.slug} do not fit it: ${parsed.problems.join('; ')}`,
      );
    found = parsed.targets;
  }
  shippedCache.set(survey, found);
  return found;
}

/** Replaces a survey's figures with those of a checked file (see parseTargets), in one transaction. */
export async function replaceTargets(
  db: Kysely<Database>,
  survey: Survey,
  targets: readonly PopulationTarget[],
  now: Date,
): Promise<void> {
  await db.transaction().execute(async (trx) => {
    await trx.deleteFrom('population_targets').where('survey', '=', survey.slug).execute();
    const rows = targets.map((t) => ({ survey: survey.slug, ...t, updated_at: now.toISOString() }));
    for (let i = 0; i < rows.length; i += 500)
      await trx
        .insertInto('population_targets')
        .values(rows.slice(i, i + 500))
        .execute();
  });
}
