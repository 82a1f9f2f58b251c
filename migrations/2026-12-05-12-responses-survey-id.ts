import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

/**
 * Readers that walk a survey's responses in id order, a batch at a time (the
 * response matrix, recounts, maintenance), seek straight to each batch: without
 * it SQLite filtered by survey and sorted every remaining response per batch.
 */
export async function up(db: Kysely<unknown>): Promise<void> {
  await db.schema.createIndex('responses_survey_id').on('responses').columns(['survey', 'id']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('responses_survey_id').execute();
}
