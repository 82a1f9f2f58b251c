import type { Kysely } from 'kysely';

// Frozen: never edit a migration that has shipped; add a new one.

export async function up(db: Kysely<any>): Promise<void> {
  // When an admin opens or closes a survey, the dates they set replace the definition's.
  await db.schema
    .createTable('survey_schedules')
    .addColumn('survey', 'varchar(64)', (col) => col.primaryKey())
    .addColumn('opens_at', 'varchar(32)')
    .addColumn('closes_at', 'varchar(32)')
    .addColumn('updated_at', 'varchar(32)', (col) => col.notNull())
    .execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('survey_schedules').execute();
}
