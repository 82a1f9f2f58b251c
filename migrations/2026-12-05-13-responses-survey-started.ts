import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * The responses list shows a survey's responses newest first, a page at a
 * time: read from the first index backwards it stops after a page of matches
 * instead of sorting every response of the survey. The second finds the few
 * excluded responses (Data quality, excluded=only) without reading them all.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema
    .createIndex('responses_survey_started')
    .on('responses')
    .columns(['survey', 'started_at', 'id'])
    .execute();
  await db.schema.createIndex('responses_survey_excluded').on('responses').columns(['survey', 'excluded']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('responses_survey_excluded').execute();
  await db.schema.dropIndex('responses_survey_started').execute();
}
