import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<any>): Promise<void> {
  // Why a response looks automated or repeated (honeypot, too_fast, burst), or
  // null. Suspicious responses are flagged, never dropped: analysts choose
  // whether the tables include them.
  await db.schema.alterTable('responses').addColumn('flag', 'varchar(32)').execute();
  await db.schema.createIndex('responses_survey_flag').on('responses').columns(['survey', 'flag']).execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropIndex('responses_survey_flag').execute();
  await db.schema.alterTable('responses').dropColumn('flag').execute();
}
